import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { jobEnv, type RunningCli, runCli, startCli, stopCli, tempDir, waitFor } from './cli-runner.ts';
import { ROOT, runActionStep } from './github-runner.ts';
import { type NodeRun, runNodeScript } from './node-process.ts';
import { azureDevOpsOutputProblems, githubOutputProblems, hostilePayload } from './runner-commands.ts';

// Issue 19 (red-team round 3): hostile token values, server text on the token command's stderr
// and the service's 502 body, and redaction gaps. Every test runs a built bundle as a process.

const GITLAB_AUD = 'https://databricks.example/gitlab';
const TOKEN_COMMAND = join(ROOT, 'dist', 'bin', 'databricks-oidc-token.cjs');
const MARKER = 'FORGED-r3';
const PAYLOAD = hostilePayload(MARKER);
/** What a terminal would act on: ESC (CSI, OSC 52, OSC 8), BEL and the C1 controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal controls are what we look for
const TERMINAL_CONTROL = /[\u001b\u0007\u0080-\u009f]/;

let gitlab: CiIssuer;
let emu: Emulators;
let dir: ReturnType<typeof tempDir>;
let cli: RunningCli | undefined;
let squatter: Server | undefined;

beforeAll(async () => {
  gitlab = await CiIssuer.create('gitlab');
});
beforeEach(async () => {
  emu = await startEmulators();
  emu.databricks.trust(gitlab.jwt);
  emu.servicePrincipal.policies.push({
    issuer: gitlab.jwt.issuer,
    audiences: [GITLAB_AUD],
    subject: String(gitlab.claims.sub),
  });
  dir = tempDir('hardening-r3-');
});
afterEach(async () => {
  await stopCli(cli);
  cli = undefined;
  await new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve()));
  squatter = undefined;
  await emu.stop();
  dir.remove();
});

async function gitlabJob(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return jobEnv({
    HOME: dir.path,
    DATABRICKS_HOST: emu.databricks.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    GITLAB_CI: 'true',
    DATABRICKS_OIDC_TOKEN: await gitlab.mint(GITLAB_AUD),
    ...extra,
  });
}

/** What a GitHub or Azure DevOps runner would read as a command in this text. */
function forgedCommands(text: string): string[] {
  return [
    ...githubOutputProblems(text, MARKER, [], { strictMasks: false }),
    ...azureDevOpsOutputProblems(text, MARKER, []),
  ];
}

/** The token endpoint answers 200 with this access_token. */
function answerWithToken(token: string): void {
  emu.databricks.inject({
    path: '/oidc/v1/token',
    status: 200,
    body: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }),
  });
}

function expectRefusedAsMalformed(run: NodeRun): void {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toContain('[RESPONSE_MALFORMED]');
  expect(run.stderr).toContain('that is not a token');
  expect(run.stderr).not.toContain('unexpected error');
  expect(forgedCommands(run.stderr)).toEqual([]);
  expect(run.stderr).not.toMatch(TERMINAL_CONTROL);
}

describe('a token that is not token-shaped is refused at the reader (findings 1, 3, 4)', () => {
  const HOSTILE_TOKENS: Array<[string, string]> = [
    ['PowerShell typographic quotes', 'abc\u2019;ni(\u2018/tmp/pwned-ps\u2019);\u2019'],
    ['shell command substitution', 'eyJx.$(touch$\x7bIFS}/tmp/pwned-dotenv).sig'],
    ['backticks and a single quote', "eyJx.`id`.'sig"],
    ['a GitHub stop-commands line', `::stop-commands::${MARKER}`],
    ['an Azure DevOps logging command', `##vso[task.prependpath]/tmp/${MARKER}`],
    ['OSC 52 clipboard write', '\u001b]52;c;ZXZpbA==\u0007tok'],
    ['CSI 2J and a C1 CSI', '\u001b[2J\u009b31mtok'],
  ];

  it.each(
    HOSTILE_TOKENS,
  )('%s: token, token --json and every env format print nothing and fail once', async (_name, token) => {
    const env = await gitlabJob();
    for (const command of [
      ['token', '--no-verify'],
      ['token', '--json', '--no-verify'],
      ['env', '--format', 'powershell', '--no-verify'],
      ['env', '--format', 'dotenv', '--no-verify'],
      ['env', '--format', 'sh', '--no-verify'],
    ]) {
      answerWithToken(token);
      expectRefusedAsMalformed(await runCli(command, env));
    }
  });

  it('with verify on, a non-Latin-1 token is RESPONSE_MALFORMED, not "Invalid character in header content"', async () => {
    answerWithToken('abc\u2019def');
    const run = await runCli(['token'], await gitlabJob());
    expectRefusedAsMalformed(run);
    expect(run.stderr).not.toContain('Invalid character');
    expect(emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me')).toHaveLength(0);
  });

  it('a PAT input that is not token-shaped is one input error, never echoed, and never sent', async () => {
    const pat = "dapi0123'$(id)`x`";
    const run = await runCli(
      ['token', '--auth-type', 'pat'],
      jobEnv({ HOME: dir.path, DATABRICKS_HOST: emu.databricks.url, DATABRICKS_TOKEN: pat }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('[INPUT_INVALID]');
    expect(run.stderr).toContain('DATABRICKS_TOKEN');
    expect(run.stderr).not.toContain(pat);
    expect(emu.databricks.requests).toHaveLength(0);
  });

  it('a CI request token Node cannot put in a header is one clear error, not an unexpected one', async () => {
    const run = await runCli(
      ['token'],
      jobEnv({
        HOME: dir.path,
        DATABRICKS_HOST: emu.databricks.url,
        DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
        ...emu.github.env,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'job\u2019token-value',
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('unexpected error');
    expect(run.stderr).toContain('[INPUT_INVALID]');
    expect(run.stderr).toContain('ERR_INVALID_CHAR');
    expect(run.stderr).not.toContain('job\u2019token-value');
  });
});

describe('databricks-oidc-token and the service 502 forge no runner command (finding 2)', () => {
  it('vector B: a squatter on the port answers 502 with runner commands; stderr forges none', async () => {
    squatter = createServer((_req, res) => {
      const body = JSON.stringify({ error: 'upstream_failed', error_description: PAYLOAD });
      res.writeHead(502, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => squatter?.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as AddressInfo).port;
    const run = await runNodeScript(TOKEN_COMMAND, {
      PATH: process.env.PATH ?? '',
      DATABRICKS_METADATA_SERVICE_URL: `http://127.0.0.1:${port}/abc`,
      DATABRICKS_HOST: emu.databricks.url,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`x ${MARKER}`); // the reason is shown, as plain text
    expect(run.stderr).toContain('[METADATA_SERVICE_FAILED]');
    expect(forgedCommands(run.stderr)).toEqual([]);
  });

  it('vector B: a squatter answering 200 with a runner command as the token gets nothing printed', async () => {
    squatter = createServer((_req, res) => {
      const body = JSON.stringify({ access_token: `::stop-commands::${MARKER}`, expires_on: 2e9 });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => squatter?.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as AddressInfo).port;
    const run = await runNodeScript(TOKEN_COMMAND, {
      PATH: process.env.PATH ?? '',
      DATABRICKS_METADATA_SERVICE_URL: `http://127.0.0.1:${port}/abc`,
      DATABRICKS_HOST: emu.databricks.url,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('without a usable access_token');
  });

  it('vector A: the host refuses a refresh with runner commands; the 502 body and the token command forge none', async () => {
    // A short-lived first token, so the service must refresh, and the refresh is refused.
    const tokenFile = join(dir.path, 'token');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(tokenFile, await gitlab.mint(GITLAB_AUD, 3));
    const env = jobEnv({
      HOME: dir.path,
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
      DATABRICKS_OIDC_TOKEN_FILEPATH: tokenFile,
    });
    cli = startCli(['serve'], env);
    const running = cli;
    await waitFor(() => /^http:\/\/127\.0\.0\.1:\d+\/\S+\n/.test(running.stdout()), 'the service URL');
    const url = running.stdout().trim();
    // The refresh reads a valid ID token again; only Databricks refuses.
    writeFileSync(tokenFile, await gitlab.mint(GITLAB_AUD, 300));
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // the first token is gone
    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 400,
      body: JSON.stringify({ error: 'invalid_request', error_description: PAYLOAD }),
    });
    const answer = await fetch(url, {
      headers: { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url },
    });
    expect(answer.status).toBe(502);
    const reason = String(((await answer.json()) as { error_description?: unknown }).error_description);
    expect(reason).toContain(MARKER);
    expect(forgedCommands(reason)).toEqual([]);
    expect(reason).not.toMatch(TERMINAL_CONTROL);

    const run = await runNodeScript(TOKEN_COMMAND, {
      PATH: process.env.PATH ?? '',
      DATABRICKS_METADATA_SERVICE_URL: url,
      DATABRICKS_HOST: emu.databricks.url,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[METADATA_SERVICE_FAILED]');
    expect(forgedCommands(run.stderr)).toEqual([]);
    // The service's own log (the CLI's stderr) forges none either.
    expect(forgedCommands(running.stderr())).toEqual([]);
  }, 30_000);
});

describe('the client secret in every form, and the job summary, go through the registry (finding 10)', () => {
  const SECRET = 'dose+Sec/ret=0123456789abcdef';
  const FORM_ENCODED = 'dose%2BSec%2Fret%3D0123456789abcdef';

  it('CLI with debug on: a host echoing the decoded Basic credential shows neither the secret nor its form-encoded form', async () => {
    emu.servicePrincipal.oauthSecrets = [SECRET];
    const id = emu.servicePrincipal.applicationId;
    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 401,
      body: JSON.stringify({
        error: 'invalid_client',
        error_description: `bad client ${id}:${FORM_ENCODED}`,
      }),
    });
    const run = await runCli(
      ['token', '--auth-type', 'm2m'],
      jobEnv({
        HOME: dir.path,
        DATABRICKS_HOST: emu.databricks.url,
        DATABRICKS_CLIENT_ID: id,
        DATABRICKS_CLIENT_SECRET: SECRET,
        DATABRICKS_OIDC_LOGIN_DEBUG: '1',
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bad client');
    for (const form of [SECRET, FORM_ENCODED]) expect(run.stderr).not.toContain(form);
  });

  it('the Action: a userName that is the secret, raw or form-encoded, reaches neither the log nor GITHUB_STEP_SUMMARY', async () => {
    emu.servicePrincipal.oauthSecrets = [SECRET];
    for (const userName of [SECRET, FORM_ENCODED]) {
      emu.databricks.inject({
        path: '/api/2.0/preview/scim/v2/Me',
        status: 200,
        body: JSON.stringify({ userName }),
      });
      const run = await runActionStep('main', {
        inputs: {
          host: emu.databricks.url,
          'client-id': emu.servicePrincipal.applicationId,
          'auth-type': 'm2m',
          'client-secret': SECRET,
          mode: 'token',
        },
        env: { RUNNER_DEBUG: '1' },
        runnerTemp: dir.path,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.summary).toContain('Principal');
      for (const form of [SECRET, FORM_ENCODED]) {
        expect(run.summary).not.toContain(form);
        expect(run.visibleOutput).not.toContain(form);
      }
    }
  });
});
