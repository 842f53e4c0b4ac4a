import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { jobEnv, runCli } from './cli-runner.ts';
import { azureDevOpsOutputProblems, githubOutputProblems, hostilePayload } from './runner-commands.ts';

// The CLI also runs as a GitHub `run:` step or an Azure DevOps `script:` step, where the runner
// reads stdout and stderr for commands: nothing a server says may become one there either.

const MARKER = 'FORGED-c1a9';
const PAYLOAD = hostilePayload(MARKER);
const ME = '/api/2.0/preview/scim/v2/Me';

let emu: Emulators;
beforeEach(async () => {
  emu = await startEmulators();
});
afterEach(async () => {
  await emu.stop();
});

const secrets = () => [emu.github.requestToken, ...emu.github.issued, ...emu.databricks.issuedTokens];

function databricksEnv(): Record<string, string> {
  return { DATABRICKS_HOST: emu.databricks.url, DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId };
}

describe('the CLI in a CI script step, against hostile server text', () => {
  it('GitHub run: step: a hostile SCIM userName and a hostile refusal forge no workflow command', async () => {
    emu.databricks.inject({ path: ME, status: 200, body: JSON.stringify({ userName: PAYLOAD }) });
    const ok = await runCli(['token'], jobEnv({ ...databricksEnv(), ...emu.github.env }));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(MARKER); // the name is shown, as text
    expect(githubOutputProblems(ok.stderr, MARKER, secrets(), { strictMasks: false })).toEqual([]);

    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 401,
      body: JSON.stringify({ error: PAYLOAD, error_description: PAYLOAD }),
    });
    const refused = await runCli(['token'], jobEnv({ ...databricksEnv(), ...emu.github.env }));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(githubOutputProblems(refused.stderr, MARKER, secrets(), { strictMasks: false })).toEqual([]);
  });

  it('Azure DevOps script: step: a hostile SCIM userName leaves no ##vso[ in any line', async () => {
    const ado = emu.azureDevOps;
    emu.databricks.inject({ path: ME, status: 200, body: JSON.stringify({ userName: PAYLOAD }) });
    const run = await runCli(
      ['token'],
      jobEnv({
        ...databricksEnv(),
        TF_BUILD: 'True',
        SYSTEM_OIDCREQUESTURI: `${ado.collectionUri}${ado.projectId}/_apis/distributedtask/hubs/build/plans/${ado.planId}/jobs/${ado.jobId}/oidctoken`,
        SYSTEM_ACCESSTOKEN: ado.jobAccessToken,
      }),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(MARKER);
    expect(
      azureDevOpsOutputProblems(run.stderr, MARKER, [...secrets(), ado.jobAccessToken, ...ado.issued]),
    ).toEqual([]);
  });
});
