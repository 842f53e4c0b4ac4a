import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildkiteAgentApi } from '../emulators/buildkite.ts';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { JWT_SHAPE, jobEnv, runCli, tempDir } from './cli-runner.ts';
import { ROOT } from './github-runner.ts';

let emu: Emulators;
const ci = {} as Record<'gitlab' | 'circleci' | 'bitbucket' | 'buildkite' | 'terraform-cloud', CiIssuer>;
const GITLAB_AUD = 'https://databricks.example/gitlab';

beforeAll(async () => {
  emu = await startEmulators();
  for (const kind of ['gitlab', 'circleci', 'bitbucket', 'buildkite', 'terraform-cloud'] as const) {
    ci[kind] = await CiIssuer.create(kind);
    emu.databricks.trust(ci[kind].jwt);
  }
  const policies = emu.servicePrincipal.policies;
  policies.push(
    { issuer: 'https://gitlab.com', audiences: [GITLAB_AUD], subject: String(ci.gitlab.claims.sub) },
    // CircleCI and Bitbucket subjects change per run: the policies match a stable claim instead.
    {
      issuer: ci.circleci.jwt.issuer,
      audiences: [ci.circleci.defaultAudience],
      subject_claim: 'oidc.circleci.com/project-id',
      subject: String(ci.circleci.claims['oidc.circleci.com/project-id']),
    },
    {
      issuer: ci.bitbucket.jwt.issuer,
      audiences: [ci.bitbucket.defaultAudience],
      subject_claim: 'repositoryUuid',
      subject: String(ci.bitbucket.claims.repositoryUuid),
    },
    {
      issuer: ci.buildkite.jwt.issuer,
      audiences: [emu.databricks.workspaceTokenEndpoint],
      subject: String(ci.buildkite.claims.sub),
    },
    {
      issuer: ci['terraform-cloud'].jwt.issuer,
      audiences: [ci['terraform-cloud'].defaultAudience],
      subject: String(ci['terraform-cloud'].claims.sub),
    },
  );
});
afterAll(async () => {
  await emu?.stop();
});

function databricksEnv(): Record<string, string> {
  return { DATABRICKS_HOST: emu.databricks.url, DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId };
}

/** Every CLI run: nothing secret on stderr, and the token on stdout is one Databricks issued. */
function expectCleanStderr(stderr: string): void {
  expect(stderr).not.toMatch(JWT_SHAPE);
  for (const token of emu.databricks.issuedTokens) expect(stderr).not.toContain(token);
}

describe('databricks-oidc-login token and env, per CI source', () => {
  it('GitLab: reads the id_tokens variable, uses its own aud, prints a working token', async () => {
    const idToken = await ci.gitlab.mint(GITLAB_AUD);
    const run = await runCli(
      ['token', '--json'],
      jobEnv({ ...databricksEnv(), GITLAB_CI: 'true', DATABRICKS_OIDC_TOKEN: idToken }),
    );
    expect(run.stderr).toContain('GitLab CI');
    expect(run.stderr).toContain('auto-detected: GITLAB_CI and DATABRICKS_OIDC_TOKEN are set');
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { access_token: string; expires_at: string };
    expect(Object.keys(printed)).toEqual(['access_token', 'expires_at']);
    expect(emu.databricks.issuedTokens).toContain(printed.access_token);
    expect(Date.parse(printed.expires_at)).toBeGreaterThan(Date.now());
    expect(run.stderr).toContain(
      `Verified: the workspace knows this token as ${emu.servicePrincipal.applicationId}`,
    );
    expect(run.stderr).toContain(`its audience is set in the job's id_tokens: DATABRICKS_OIDC_TOKEN: aud:`);
    expectCleanStderr(run.stderr);
    expect(run.stderr).not.toContain(idToken);
    // The host metadata is read once, for the endpoint; the audience stays the one set where it was minted.
    expect(emu.databricks.requestsTo('/.well-known/databricks-config')).toHaveLength(1);
    expect(run.stderr).not.toContain('audience from /.well-known');
  });

  it('env prints sh, powershell, dotenv and json that carry the same variables', async () => {
    const env = jobEnv({
      ...databricksEnv(),
      GITLAB_CI: 'true',
      DATABRICKS_OIDC_TOKEN: await ci.gitlab.mint(GITLAB_AUD),
    });
    const sh = await runCli(['env', '--quiet'], env);
    expect(sh.code).toBe(0);
    expect(sh.stderr).toBe('');
    const token = emu.databricks.issuedTokens.at(-1) ?? '';
    expect(sh.stdout).toBe(
      `export DATABRICKS_HOST='${emu.databricks.url}'\nexport DATABRICKS_WORKSPACE_ID='${emu.databricks.workspaceId}'\n` +
        `export DATABRICKS_TOKEN='${token}'\nexport DATABRICKS_AUTH_TYPE='pat'\n`,
    );
    const json = await runCli(['env', '--format', 'json', '--no-verify'], env);
    expect(JSON.parse(json.stdout)).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_TOKEN: emu.databricks.issuedTokens.at(-1),
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    const dotenv = await runCli(['env', '--format', 'dotenv'], env);
    expect(dotenv.stdout.split('\n')[2]).toBe(`DATABRICKS_TOKEN=${emu.databricks.issuedTokens.at(-1)}`);
    const ps = await runCli(['env', '--format', 'powershell'], env);
    expect(ps.stdout.split('\n')[3]).toBe("$env:DATABRICKS_AUTH_TYPE = 'pat'");
    // The sh output, evaluated by a real shell, gives the SDK what it needs.
    const { execFileSync } = await import('node:child_process');
    const seen = execFileSync('sh', [
      '-c',
      `${sh.stdout}\nprintf '%s|%s' "$DATABRICKS_HOST" "$DATABRICKS_AUTH_TYPE"`,
    ]).toString();
    expect(seen).toBe(`${emu.databricks.url}|pat`);
  });

  it('GitHub (a script step): requests the ID token for the resolved audience', async () => {
    const before = emu.github.issued.length;
    const run = await runCli(['token'], jobEnv({ ...databricksEnv(), ...emu.github.env }));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Token source: GitHub Actions (auto-detected');
    expect(emu.github.issued.length).toBe(before + 1);
    expect(emu.github.requests.at(-1)?.query.get('audience')).toBe(emu.databricks.workspaceTokenEndpoint);
    expect(run.stdout.trim()).toBe(emu.databricks.issuedTokens.at(-1));
    expectCleanStderr(run.stderr);
  });

  it('Azure DevOps (a script step that maps SYSTEM_ACCESSTOKEN): the pipeline token, fixed audience', async () => {
    const ado = emu.azureDevOps;
    const oidcRequestUri = `${ado.collectionUri}${ado.projectId}/_apis/distributedtask/hubs/build/plans/${ado.planId}/jobs/${ado.jobId}/oidctoken`;
    const run = await runCli(
      ['token'],
      jobEnv({
        ...databricksEnv(),
        TF_BUILD: 'True',
        SYSTEM_OIDCREQUESTURI: oidcRequestUri,
        SYSTEM_ACCESSTOKEN: ado.jobAccessToken,
      }),
    );
    expect(run.stderr).toContain(
      'Token source: Azure DevOps (the pipeline) (auto-detected: SYSTEM_OIDCREQUESTURI and SYSTEM_ACCESSTOKEN are set)',
    );
    expect(run.code, run.stderr).toBe(0);
    expect(ado.requests.at(-1)?.query.get('api-version')).toBe('7.1');
    expect(emu.databricks.issuedTokens).toContain(run.stdout.trim());
    expect(run.stderr).not.toContain(ado.jobAccessToken);
    expectCleanStderr(run.stderr);

    // Without the mapping, the error says how to add it.
    const unmapped = await runCli(
      ['token'],
      jobEnv({ ...databricksEnv(), TF_BUILD: 'True', SYSTEM_OIDCREQUESTURI: oidcRequestUri }),
    );
    expect(unmapped.code).toBe(1);
    expect(unmapped.stderr).toContain('SYSTEM_ACCESSTOKEN: $(System.AccessToken)');
  });

  it('CircleCI (V2 token) and Bitbucket: policies on a stable claim accept their per-run subjects', async () => {
    const circle = await runCli(
      ['token'],
      jobEnv({
        ...databricksEnv(),
        CIRCLECI: 'true',
        CIRCLE_OIDC_TOKEN: 'not-used-when-v2-is-set',
        CIRCLE_OIDC_TOKEN_V2: await ci.circleci.mint(),
      }),
    );
    expect(circle.stderr).toContain('CircleCI (CIRCLE_OIDC_TOKEN_V2)');
    expect(circle.code).toBe(0);
    expect(emu.databricks.issuedTokens).toContain(circle.stdout.trim());
    const bitbucket = await runCli(
      ['token'],
      jobEnv({
        ...databricksEnv(),
        BITBUCKET_COMMIT: 'abc',
        BITBUCKET_STEP_OIDC_TOKEN: `${await ci.bitbucket.mint()}\n`,
      }),
    );
    expect(bitbucket.stderr).toContain('Bitbucket Pipelines');
    expect(bitbucket.code).toBe(0);
    expect(emu.databricks.issuedTokens).toContain(bitbucket.stdout.trim());
    expectCleanStderr(circle.stderr + bitbucket.stderr);
  });

  it('HCP Terraform: TFC_WORKLOAD_IDENTITY_TOKEN', async () => {
    const run = await runCli(
      ['token', '--json'],
      jobEnv({
        ...databricksEnv(),
        TFC_WORKLOAD_IDENTITY_TOKEN: await ci['terraform-cloud'].mint(),
      }),
    );
    expect(run.stderr).toContain('HCP Terraform');
    expect(run.code).toBe(0);
    expect(emu.databricks.issuedTokens).toContain(JSON.parse(run.stdout).access_token);
  });

  it('Buildkite: asks buildkite-agent on PATH for a token with the resolved audience', async () => {
    const agentApi = await BuildkiteAgentApi.create(ci.buildkite);
    const bin = tempDir('buildkite-bin-');
    try {
      const agent = join(bin.path, 'buildkite-agent');
      writeFileSync(
        agent,
        `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'test', 'emulators', 'buildkite-agent.mjs')}" "$@"\n`,
      );
      chmodSync(agent, 0o755);
      const run = await runCli(['token'], {
        ...jobEnv({ ...databricksEnv(), ...agentApi.env }),
        PATH: `${bin.path}:${process.env.PATH}`,
      });
      expect(run.stderr).toContain('Buildkite (buildkite-agent oidc request-token)');
      expect(run.code).toBe(0);
      expect(agentApi.issued).toHaveLength(1);
      expect(JSON.parse(agentApi.requests[0]?.body ?? '{}')).toEqual({
        audience: emu.databricks.workspaceTokenEndpoint,
      });
      expect(emu.databricks.issuedTokens).toContain(run.stdout.trim());
      expectCleanStderr(run.stderr);

      // Without the agent on PATH, naming the source explains what is missing.
      const missing = await runCli(
        ['token', '--token-source', 'buildkite'],
        jobEnv({ ...databricksEnv(), BUILDKITE: 'true', PATH: '/nonexistent' }),
      );
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('buildkite-agent is not on PATH');
    } finally {
      bin.remove();
      await agentApi.stop();
    }
  });
});

describe('source choice and failures', () => {
  it('a named source with a missing prerequisite fails instead of falling back', async () => {
    const run = await runCli(
      ['token', '--token-source', 'gitlab'],
      jobEnv({ ...databricksEnv(), ...emu.github.env, GITLAB_CI: 'true' }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Failed to get an ID token: the environment variable DATABRICKS_OIDC_TOKEN is empty [ID_TOKEN_UNAVAILABLE]',
    );
    expect(run.stderr).toContain('id_tokens');
    expect(run.stdout).toBe('');
  });

  it('with no source at all, one error lists the sources and the clue it found', async () => {
    const run = await runCli(['token'], jobEnv({ ...databricksEnv(), GITLAB_CI: 'true' }));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no token source was detected');
    expect(run.stderr).toContain('GITLAB_CI is set but DATABRICKS_OIDC_TOKEN is not');
  });

  it('a rejected fixed-audience token shows the claims, the policy, and where the audience is set', async () => {
    const run = await runCli(
      ['token'],
      jobEnv({
        ...databricksEnv(),
        GITLAB_CI: 'true',
        DATABRICKS_OIDC_TOKEN: await ci.gitlab.mint('https://wrong.example'),
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[EXCHANGE_REJECTED]');
    expect(run.stderr).toContain("its audience is set in the job's id_tokens: DATABRICKS_OIDC_TOKEN: aud:");
    expect(run.stderr).toContain('or change it where the token is minted');
    expect(run.stderr).not.toContain('set the audience input');
    expect(run.stderr).toContain('"audiences": [\n');
    expect(run.stderr).toContain('"https://wrong.example"');
    expect(run.stderr).toContain('databricks account service-principal-federation-policy create');
    expect(run.stderr).toContain("About this token source:\n  - GitLab's issuer is the instance URL");
    expect(run.stdout).toBe('');
    expectCleanStderr(run.stderr);
  });

  it('bad usage exits 2 with one line that says what to change', async () => {
    for (const args of [
      ['tokn'],
      ['token', '--hots', 'x'],
      ['env', '--format', 'yaml'],
      ['exec'],
      ['exec', 'databricks'],
      ['token', '--token-source', 'jenkins'],
      ['serve', '--port', 'http'],
      ['token', '--timeout-seconds', '0'],
    ]) {
      const run = await runCli(args, jobEnv({}));
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(/^databricks-oidc-login: .+ See 'databricks-oidc-login .*--help'\.\n$/);
      expect(run.stdout).toBe('');
    }
  });

  it('--help works for the tool and for each command, on stdout', async () => {
    const top = await runCli(['--help'], jobEnv({}));
    expect(top.code).toBe(0);
    for (const command of ['env', 'exec', 'serve', 'token', 'explain'])
      expect(top.stdout).toContain(`  ${command} `);
    for (const command of ['env', 'exec', 'serve', 'token', 'explain']) {
      const help = await runCli([command, '--help'], jobEnv({}));
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: databricks-oidc-login ${command}`);
      expect(help.stdout).toContain('--token-source');
      expect(help.stderr).toBe('');
    }
  });
});
