import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockTestRunner } from 'azure-pipelines-task-lib/mock-test.js';
import { afterEach, describe, expect, it } from 'vitest';

const RUNNER = join(import.meta.dirname, 'mock-task-runner.cjs');
const TASK_JSON = join(
  import.meta.dirname,
  '../../../azure-devops-extension/DatabricksOidcLoginV1/task.json',
);
const CONNECTION = '5b5e6b53-3c4e-4f4b-9a0f-0123456789ab';

/** The agent's variables for a job, with nothing listening: these cases must fail before any request. */
const agent = {
  AGENT_VERSION: '4.250.0',
  SYSTEM_COLLECTIONURI: 'http://127.0.0.1:9/org/',
  SYSTEM_TEAMPROJECTID: 'p',
  SYSTEM_HOSTTYPE: 'build',
  SYSTEM_PLANID: 'plan',
  SYSTEM_JOBID: 'job',
  ENDPOINT_AUTH_SYSTEMVSSCONNECTION: JSON.stringify({
    parameters: { AccessToken: 'job-token-value' },
    scheme: 'OAuth',
  }),
};

function connection(scheme: string): Record<string, string> {
  return {
    [`ENDPOINT_AUTH_${CONNECTION}`]: JSON.stringify({
      parameters: { tenantid: 't', serviceprincipalid: 'c' },
      scheme,
    }),
    [`ENDPOINT_AUTH_SCHEME_${CONNECTION}`]: scheme,
    [`ENDPOINT_AUTH_PARAMETER_${CONNECTION}_TENANTID`]: 'contoso.onmicrosoft.com',
    [`ENDPOINT_AUTH_PARAMETER_${CONNECTION}_SERVICEPRINCIPALID`]: '6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f',
  };
}

let agentTemp = '';

async function runScenario(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<MockTestRunner> {
  // Agent.TempDirectory also keeps task-lib's vault key file out of the working directory.
  agentTemp = mkdtempSync(join(tmpdir(), 'mock-agent-'));
  process.env.MOCK_TASK_SCENARIO = JSON.stringify({
    inputs: { host: 'https://adb-1.2.azuredatabricks.net', ...inputs },
    env: { ...agent, AGENT_TEMPDIRECTORY: agentTemp, ...env },
  });
  // The constructor takes the paths without LoadAsync, which would download Node first.
  const runner = new MockTestRunner(RUNNER, TASK_JSON);
  runner.nodePath = process.execPath;
  await runner.runAsync();
  return runner;
}

afterEach(() => {
  delete process.env.MOCK_TASK_SCENARIO;
  rmSync(agentTemp, { recursive: true, force: true });
});

describe('DatabricksOidcLogin@1 inputs and endpoints (MockTestRunner)', () => {
  it('refuses an unknown tokenSource', async () => {
    const run = await runScenario({ tokenSource: 'magic' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain(
      'Failed to read input tokenSource: "magic" is not supported',
    );
  });

  it('asks for azureSubscription with provider azure', async () => {
    const run = await runScenario({ provider: 'azure' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain('provider azure needs a service connection');
  });

  it('refuses a service connection that is not workload identity federation', async () => {
    const run = await runScenario(
      { tokenSource: 'serviceConnection', azureSubscription: CONNECTION },
      connection('ServicePrincipal'),
    );
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain(
      'its scheme is ServicePrincipal, not WorkloadIdentityFederation',
    );
  });

  it('explains a numeric service principal ID given as clientId', async () => {
    const run = await runScenario({ clientId: '1234567890123456' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain('not its numeric ID');
  });

  it('refuses a timeout that is not a number of seconds', async () => {
    const run = await runScenario({ timeoutSeconds: 'soon' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain('timeoutSeconds: "soon" is not a number of seconds');
  });

  it('explains a missing job token', async () => {
    const run = await runScenario({}, { ENDPOINT_AUTH_SYSTEMVSSCONNECTION: '' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain('the job access token (SYSTEMVSSCONNECTION) is missing');
  });

  it('counts an unexpanded $(DATABRICKS_HOST) macro as no host', async () => {
    const run = await runScenario({ host: '$(DATABRICKS_HOST)' });
    expect(run.failed).toBe(true);
    expect(run.errorIssues.join('\n')).toContain('[HOST_MISSING]');
    // Only the command that registers it with the agent's masker may carry the job token.
    const carriers = run.stdout.split('\n').filter((line) => line.includes('job-token-value'));
    expect(carriers).toEqual(['##vso[task.setsecret]job-token-value']);
  });
});
