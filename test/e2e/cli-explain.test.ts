import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { JWT_SHAPE, jobEnv, runCli } from './cli-runner.ts';

let emu: Emulators;
let gitlab: CiIssuer;
let circleci: CiIssuer;

beforeAll(async () => {
  emu = await startEmulators();
  gitlab = await CiIssuer.create('gitlab');
  circleci = await CiIssuer.create('circleci');
});
afterAll(async () => {
  await emu?.stop();
});

/** The JSON policy block explain prints, parsed. */
function printedPolicy(stdout: string): { oidc_policy: Record<string, unknown> } {
  const start = stdout.indexOf('{\n  "oidc_policy"');
  const end = stdout.indexOf('\n}\n', start);
  return JSON.parse(stdout.slice(start, end + 2));
}

describe('databricks-oidc-login explain', () => {
  it('GitLab: prints the claims, where they came from and the policy that accepts them; exchanges nothing', async () => {
    const idToken = await gitlab.mint('https://databricks.example/gitlab');
    const run = await runCli(['explain'], jobEnv({ GITLAB_CI: 'true', DATABRICKS_OIDC_TOKEN: idToken }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'Token source: GitLab CI (the id_tokens variable DATABRICKS_OIDC_TOKEN) (auto-detected',
    );
    expect(run.stdout).toContain('issuer   (iss): https://gitlab.com');
    expect(run.stdout).toContain(
      'subject  (sub): project_path:octo-group/octo-project:ref_type:branch:ref:main',
    );
    expect(run.stdout).toContain("its audience is set in the job's id_tokens: DATABRICKS_OIDC_TOKEN: aud:");
    expect(run.stdout).toContain('not a group or project URL');
    expect(printedPolicy(run.stdout)).toEqual({
      oidc_policy: {
        issuer: 'https://gitlab.com',
        audiences: ['https://databricks.example/gitlab'],
        subject: 'project_path:octo-group/octo-project:ref_type:branch:ref:main',
      },
    });
    expect(run.stdout).toContain(
      'databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json',
    );
    expect(run.stdout).not.toContain(idToken);
    expect(run.stdout + run.stderr).not.toMatch(JWT_SHAPE);
    expect(emu.databricks.requests).toEqual([]);
  });

  it('CircleCI: the policy matches the project with subject_claim, because sub changes per run', async () => {
    const run = await runCli(
      ['explain'],
      jobEnv({ CIRCLECI: 'true', CIRCLE_OIDC_TOKEN_V2: await circleci.mint() }),
    );
    expect(run.code).toBe(0);
    expect(printedPolicy(run.stdout).oidc_policy).toEqual({
      issuer: circleci.jwt.issuer,
      audiences: [circleci.defaultAudience],
      subject_claim: 'oidc.circleci.com/project-id',
      subject: circleci.claims['oidc.circleci.com/project-id'],
    });
  });

  it('GitHub: requests the ID token for the audience a login would use (host metadata first)', async () => {
    emu.databricks.defaultAudiences = [emu.databricks.accountId];
    try {
      const run = await runCli(
        ['explain', '--host', emu.databricks.url, '--client-id', emu.servicePrincipal.applicationId],
        jobEnv(emu.github.env),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(emu.github.requests.at(-1)?.query.get('audience')).toBe(emu.databricks.accountId);
      expect(run.stdout).toContain(
        `Requested audience: ${emu.databricks.accountId} (from ${emu.databricks.url}/.well-known/databricks-config)`,
      );
      expect(printedPolicy(run.stdout).oidc_policy.audiences).toEqual([emu.databricks.accountId]);
      expect(emu.databricks.requestsTo('/oidc/v1/token')).toEqual([]);
    } finally {
      emu.databricks.defaultAudiences = undefined;
    }
  });

  it('a source that requests an audience needs --host or --audience', async () => {
    const run = await runCli(['explain'], jobEnv(emu.github.env));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('neither --host nor --audience is set');
    expect(run.stdout).toBe('');
  });

  it('provider azure: prints the Entra federated credential instead', async () => {
    const run = await runCli(
      [
        'explain',
        '--provider',
        'azure',
        '--client-id',
        emu.servicePrincipal.applicationId,
        '--tenant-id',
        emu.entra.tenantId,
        '--host',
        emu.databricks.url,
      ],
      jobEnv(emu.github.env),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(emu.github.requests.at(-1)?.query.get('audience')).toBe('api://AzureADTokenExchange');
    expect(run.stdout).toContain(
      `az ad app federated-credential create --id ${emu.servicePrincipal.applicationId}`,
    );
    expect(run.stdout).toContain('"subject": "repo:octo-org/octo-repo:environment:prod"');
  });
});
