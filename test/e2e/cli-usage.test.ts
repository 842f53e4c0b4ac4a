import { describe, expect, it } from 'vitest';
import { jobEnv, runCli } from './cli-runner.ts';

// Bad usage of the built command-line tool: exit 2, one line on stderr that names the option or
// command and says what to change, nothing on stdout, and no request made (no host is reachable
// here: https://dbc-1234.cloud.databricks.com would fail differently, with exit 1).

const HOST = 'https://dbc-1234.cloud.databricks.com';

async function usage(args: string[]): Promise<string> {
  const run = await runCli(args, jobEnv({ DATABRICKS_HOST: HOST, GITLAB_CI: 'true' }));
  expect(run.code, args.join(' ')).toBe(2);
  expect(run.stdout, args.join(' ')).toBe('');
  const lines = run.stderr.trim().split('\n');
  expect(lines, args.join(' ')).toHaveLength(1);
  expect(run.stderr).toMatch(/^databricks-oidc-login: .+ See 'databricks-oidc-login .*--help'\.\n$/);
  return lines[0] ?? '';
}

describe('malformed option values', () => {
  it.each([
    [['token', '--timeout-seconds', '-5'], '--timeout-seconds "-5" is not a number of seconds'],
    [['token', '--timeout-seconds=abc'], '--timeout-seconds "abc" is not a number of seconds'],
    [['serve', '--port', '-1'], '--port "-1" is not a port number'],
    [['token', '--timeout-seconds'], '--timeout-seconds needs a value'],
    [['token', '--token-file', '--quiet'], '--token-file needs a value'],
    [['exec', '--token-env', '--', 'true'], '--token-env needs a value'],
    [['token', '--quiet=yes'], '--quiet takes no value'],
    [['token', '--host', 'ftp://dbc-1234.cloud.databricks.com'], '--host: scheme ftp: is not supported'],
    [['token', '--host', 'http://dbc-1234.cloud.databricks.com'], 'plain http would send tokens unencrypted'],
    [['token', '--host', 'https://user:pw@dbc-1234.cloud.databricks.com'], '--host: it contains a user name'],
    [['token', '--host', 'https://a b'], '--host: "https://a b" is not a URL'],
    [['token', '--authority-host', 'http://login.example'], '--authority-host http://login.example'],
    [['token', '--client-id', '1234567890'], '--client-id: "1234567890" is not a UUID'],
    [['token', '--account-id', 'acme'], '--account-id: "acme" is not a UUID'],
    [['token', '--tenant-id', '../x'], '--tenant-id "../x" is not a tenant ID'],
    [['token', '--workspace-id', '12/34'], '--workspace-id: "12/34" is not a workspace ID'],
    [['env', '--profile', 'my profile'], '--profile: "my profile" is not a profile name'],
    [['exec', '--profile', '[x]', '--', 'true'], '--profile: "[x]" is not a profile name'],
  ])('%j: exit 2, one line naming the option', async (args, expected) => {
    const line = await usage(args);
    expect(line).toContain(expected);
    expect(line).not.toMatch(/ambiguous|\[[A-Z_]+\]/);
  });

  it('a malformed --host says what to use instead', async () => {
    expect(await usage(['token', '--host', 'http://dbc-1234.cloud.databricks.com'])).toContain(
      'Use https://dbc-1234.cloud.databricks.com.',
    );
  });

  it('leaves values that start with "-" to the options that take them', async () => {
    // --audience accepts any text: "-x" is its value, not an unknown option, so the login goes on
    // (and fails for want of an ID token: exit 1, not 2).
    const run = await runCli(['token', '--audience', '-x'], jobEnv({ DATABRICKS_HOST: HOST }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[CREDENTIALS_MISSING]');
  });
});

describe('did you mean', () => {
  it.each([
    [['tokn'], 'unknown command "tokn" (did you mean token?)'],
    [['expalin'], 'unknown command "expalin" (did you mean explain?)'],
    [['help', 'srve'], 'unknown command "srve" (did you mean serve?)'],
    [['token', '--hots', 'x'], 'unknown option --hots (did you mean --host?)'],
    [['token', '--no-verfy'], 'unknown option --no-verfy (did you mean --no-verify?)'],
    [['serve', '--url-fil', 'x'], 'unknown option --url-fil (did you mean --url-file?)'],
    [
      ['env', '--format', 'jsn'],
      '--format "jsn" is not one of sh, powershell, dotenv, json (did you mean json?)',
    ],
    [['token', '--token-source', 'gitlb'], '(did you mean gitlab?)'],
    [['token', '--port', '8080'], '--port is an option of serve, not of token'],
  ])('%j', async (args, expected) => {
    expect(await usage(args)).toContain(expected);
  });

  it('suggests nothing more than two edits away', async () => {
    const line = await usage(['deploy']);
    expect(line).toContain('unknown command "deploy"; the commands are env, exec, serve, token, explain');
    expect(line).not.toContain('did you mean');
    expect(await usage(['token', '--frobnicate'])).not.toContain('did you mean');
  });
});

describe('CREDENTIALS_MISSING', () => {
  it('lists, source by source, the variables and files it looked for', async () => {
    const run = await runCli(
      ['token'],
      jobEnv({ DATABRICKS_HOST: HOST, GITLAB_CI: 'true', CIRCLE_OIDC_TOKEN: 'not-used-without-CIRCLECI' }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('[CREDENTIALS_MISSING]');
    const lines = run.stderr.split('\n').map((l) => l.trim());
    for (const expected of [
      'Looked for, source by source:',
      'file: --token-file or DATABRICKS_OIDC_TOKEN_FILEPATH (not given)',
      'env: --token-env or DATABRICKS_OIDC_TOKEN_ENV (not given)',
      'github: ACTIONS_ID_TOKEN_REQUEST_URL (unset), ACTIONS_ID_TOKEN_REQUEST_TOKEN (unset)',
      'azure-devops: SYSTEM_OIDCREQUESTURI (unset), SYSTEM_ACCESSTOKEN (unset)',
      'gitlab: GITLAB_CI (set), DATABRICKS_OIDC_TOKEN (unset)',
      'circleci: CIRCLECI (unset), CIRCLE_OIDC_TOKEN_V2 (unset) or CIRCLE_OIDC_TOKEN (set)',
      'bitbucket: BITBUCKET_STEP_OIDC_TOKEN (unset)',
      'buildkite: BUILDKITE (unset)',
      'terraform-cloud: TFC_WORKLOAD_IDENTITY_TOKEN (unset)',
      'env: DATABRICKS_OIDC_TOKEN (unset)',
      'azure-workload-identity: AZURE_FEDERATED_TOKEN_FILE (unset)',
      'kubernetes: KUBERNETES_SERVICE_HOST (unset) and the file /var/run/secrets/kubernetes.io/serviceaccount/token (missing)',
      'OAuth M2M: DATABRICKS_CLIENT_SECRET is empty',
      'PAT: DATABRICKS_TOKEN is empty',
    ])
      expect(lines).toContain(expected);
    // Whether a variable is set, never its value.
    expect(run.stderr).not.toContain('not-used-without-CIRCLECI');
  });
});
