import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  agentEndpoints,
  maskedBeforeUse,
  plainVariables,
  runTask,
  type TaskRun,
} from './azure-devops-agent.ts';
import { runActionStep, runSdkMe, type StepRun } from './github-runner.ts';
import { processFile } from './process-info.ts';

// auth-type auto/oidc/m2m/pat, from the built bundles: the GitHub Action and the Azure DevOps task.

const CLIENT_SECRET = 'dose0123456789abcdef0123456789abcdef';
let emu: Emulators;
let temp: string;
const started: number[] = [];

beforeEach(async () => {
  emu = await startEmulators({ databricks: { maxTokenLifetimeSeconds: 3600 } });
  emu.servicePrincipal.oauthSecrets = [CLIENT_SECRET];
  temp = mkdtempSync(join(tmpdir(), 'auth-types-'));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await emu.stop();
  rmSync(temp, { recursive: true, force: true });
});

const everyRequest = () => [
  ...emu.github.requests,
  ...emu.databricks.requests,
  ...emu.entra.requests,
  ...emu.azureDevOps.requests,
];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Nothing a log reader sees carries the secret, nor the Basic header built from it. */
function expectGitHubNeverShows(run: StepRun, secret: string): void {
  for (const value of [secret, basic(emu.servicePrincipal.applicationId, secret).slice(6)]) {
    expect(run.visibleOutput).not.toContain(value);
    expect(run.stderr).not.toContain(value);
    expect(run.summary).not.toContain(value);
  }
}

function failedWithOneError(run: StepRun): string {
  expect(run.code).not.toBe(0);
  expect(run.errors).toHaveLength(1);
  expect(run.exportedEnv).toEqual({});
  return run.errors[0] ?? '';
}

const warnings = (run: StepRun) =>
  run.stdout
    .split('\n')
    .filter((l) => l.startsWith('::warning::'))
    .map((l) => l.replace(/%0A/g, '\n').replace(/%25/g, '%'));

describe('GitHub Action: auth-type', () => {
  it('auto without ID-token variables but with a client secret: OAuth M2M, with a warning that says why and how to enable OIDC', async () => {
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': CLIENT_SECRET,
      },
      env: { RUNNER_DEBUG: '1' }, // a fork or Dependabot: no ACTIONS_ID_TOKEN_REQUEST_*
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const [warning, ...more] = warnings(run);
    expect(more).toEqual([]);
    expect(warning).toContain('OIDC is not possible in this job');
    expect(warning).toContain('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set');
    expect(warning).toContain('falls back to OAuth M2M');
    expect(warning).toContain('permissions: id-token: write');

    // Exactly one client-credentials request, HTTP Basic, as Databricks expects it.
    const requests = emu.databricks.clientCredentialsRequests;
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.authorization).toBe(basic(emu.servicePrincipal.applicationId, CLIENT_SECRET));
    expect(Object.fromEntries(requests[0]?.form ?? [])).toEqual({
      grant_type: 'client_credentials',
      scope: 'all-apis',
    });
    expect(emu.github.requests).toHaveLength(0);

    const token = emu.databricks.issuedTokens.at(-1) ?? '';
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_TOKEN: token,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(run.outputs['auth-type']).toBe('m2m');
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
    expect(run.summary).toMatch(/Auth type<\/th><td>m2m/);

    // The secret was masked before anything else, and never shows, even with debug on.
    const lines = run.stdout.split('\n');
    const masked = lines.indexOf(`::add-mask::${CLIENT_SECRET}`);
    expect(masked).toBeGreaterThanOrEqual(0);
    expect(lines.slice(0, masked).every((l) => l.startsWith('::add-mask::'))).toBe(true);
    expect(run.stdout).toContain('::debug::');
    expectGitHubNeverShows(run, CLIENT_SECRET);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });

  it('auto with ID-token variables and a client secret: OIDC, and not a single client-credentials request', async () => {
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': CLIENT_SECRET,
        pat: 'dapi0123456789abcdef0123456789abcdef',
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(warnings(run)).toEqual([]);
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(0);
    expect(emu.github.requestsTo('/idtoken/job')).toHaveLength(1);
    expect(run.outputs['auth-type']).toBe('oidc');
    expect(run.stdout).toContain(
      'auth-type auto: using OIDC, the strongest method; client-secret and pat not used.',
    );
    expectGitHubNeverShows(run, CLIENT_SECRET);
    expectGitHubNeverShows(run, 'dapi0123456789abcdef0123456789abcdef');
  });

  it('auto never falls back after OIDC failed: a rejected exchange fails, with no client-credentials request', async () => {
    emu.github.claims.sub = 'repo:octo-org/octo-repo:ref:refs/heads/feature';
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': CLIENT_SECRET,
      },
      env: emu.github.env,
    });
    expect(failedWithOneError(run)).toContain('[EXCHANGE_REJECTED]');
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(0);
    expect(run.outputs['auth-type']).toBeUndefined();
    expectGitHubNeverShows(run, CLIENT_SECRET);
  });

  it('explicit oidc without ID-token variables: an error naming the permission, before any request', async () => {
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': CLIENT_SECRET,
        'auth-type': 'oidc',
      },
    });
    const message = failedWithOneError(run);
    expect(message).toContain('[ID_TOKEN_UNAVAILABLE]');
    expect(message).toContain('permissions: id-token: write');
    expect(message).toMatch(/forks/);
    expect(message).toMatch(/Dependabot/);
    expect(everyRequest()).toHaveLength(0);
    expectGitHubNeverShows(run, CLIENT_SECRET);
  });

  it('explicit m2m without a secret: an error before any request, never a downgrade to the ID token', async () => {
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'auth-type': 'm2m',
      },
      env: emu.github.env,
    });
    const message = failedWithOneError(run);
    expect(message).toContain('Failed to use auth-type m2m: client-secret is empty [CREDENTIALS_MISSING]');
    expect(everyRequest()).toHaveLength(0);
  });

  it('pat: verified with SCIM Me, exported as it is, never refreshed (even in mode refresh), called legacy', async () => {
    const pat = emu.databricks.createPersonalAccessToken('someone@example.com');
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'auth-type': 'pat', pat, mode: 'refresh' },
      env: { ...emu.github.env, RUNNER_DEBUG: '1' },
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: emu.databricks.workspaceId, // from the host's metadata
      DATABRICKS_TOKEN: pat,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(run.state['metadata-service-pid']).toBeUndefined();
    expect(run.outputs).toMatchObject({
      'auth-type': 'pat',
      principal: 'someone@example.com',
      'expires-at': '',
    });
    const me = emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(me).toHaveLength(1);
    expect(me[0]?.headers.authorization).toBe(`Bearer ${pat}`);
    expect(emu.github.requests).toHaveLength(0); // an explicit pat asks for no ID token
    expect(run.stdout).toContain('legacy method');
    expect(run.stdout).toContain('mode refresh does not apply');
    expect(run.masks).toContain(pat);
    expectGitHubNeverShows(run, pat);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: 'someone@example.com' });
  });

  it('auto falls back to a PAT last, and a revoked PAT fails with one clear error', async () => {
    const pat = emu.databricks.createPersonalAccessToken('someone@example.com');
    const ok = await runActionStep('main', { inputs: { host: emu.databricks.url, pat } });
    expect(ok.errors).toEqual([]);
    expect(ok.outputs['auth-type']).toBe('pat');
    expect(warnings(ok)[0]).toContain('falls back to the personal access token in pat');

    emu.databricks.revokePersonalAccessToken(pat);
    const revoked = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'auth-type': 'pat', pat },
    });
    const message = failedWithOneError(revoked);
    expect(message).toContain(
      'Failed to verify the personal access token: the workspace refused it (HTTP 401',
    );
    expect(message).toContain('[PAT_REJECTED]');
    expect(message).toContain('90 days');
    expectGitHubNeverShows(revoked, pat);
  });

  it('nothing at all: one error that lists OIDC, M2M and PAT and how to enable each', async () => {
    const run = await runActionStep('main', { inputs: { host: emu.databricks.url } });
    const message = failedWithOneError(run);
    expect(message.split('\n')[0]).toBe(
      'Failed to find credentials: this job has no ID token, no client secret and no personal access token [CREDENTIALS_MISSING]',
    );
    expect(message).toContain('1) OIDC: Add `permissions: id-token: write`');
    expect(message).toMatch(/forks .*Dependabot/);
    expect(message).toContain('2) OAuth M2M: set client-id');
    expect(message).toContain('3) A personal access token in pat');
    expect(everyRequest()).toHaveLength(0);
  });

  it('a wrong secret or an unknown client ID: one error naming the client ID and the fix, never the secret, no retry', async () => {
    const wrong = 'dose-wrong-secret-0123456789abcdef';
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': wrong,
        'auth-type': 'm2m',
      },
      env: { RUNNER_DEBUG: '1' },
    });
    const message = failedWithOneError(run);
    expect(message).toContain(
      `Failed to get a Databricks token with the OAuth secret of service principal ${emu.servicePrincipal.applicationId}: Databricks refused the client ID and secret (HTTP 401: invalid_client: Client authentication failed) [CLIENT_CREDENTIALS_REJECTED]`,
    );
    expect(message).toContain('generate a new OAuth secret');
    expect(message).toContain('not its numeric ID');
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(1);
    expect(emu.databricks.rejections).toEqual([`wrong secret for ${emu.servicePrincipal.applicationId}`]);
    expectGitHubNeverShows(run, wrong);

    const unknown = '0f0f0f0f-1111-2222-3333-444444444444';
    const other = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': unknown,
        'client-secret': CLIENT_SECRET,
        'auth-type': 'm2m',
      },
    });
    expect(failedWithOneError(other)).toContain(`service principal ${unknown}`);
    expectGitHubNeverShows(other, CLIENT_SECRET);
  });

  it('uses an ID token this Databricks host issued itself as it is, without an exchange', async () => {
    // A token the workspace issued (iss <host>/oidc), handed out by the job's token endpoint.
    const minted = await fetch(`${emu.databricks.url}/oidc/v1/token`, {
      method: 'POST',
      headers: {
        authorization: basic(emu.servicePrincipal.applicationId, CLIENT_SECRET),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    const own = ((await minted.json()) as { access_token: string }).access_token;
    emu.github.inject({ path: '/idtoken/job', status: 200, body: JSON.stringify({ value: own }) });
    const exchangesBefore = emu.databricks.requestsTo('/oidc/v1/token').length;

    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(exchangesBefore);
    expect(run.exportedEnv.DATABRICKS_TOKEN).toBe(own);
    expect(run.outputs['auth-type']).toBe('oidc');
    expect(run.stdout).toContain(`issued by ${emu.databricks.url} itself (iss ${emu.databricks.issuer})`);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
  });
});

describe('GitHub Action: OAuth M2M in mode refresh', () => {
  it('refreshes with the secret after the token expired; the secret reaches the service over IPC only', async () => {
    await emu.stop();
    emu = await startEmulators({ databricks: { maxTokenLifetimeSeconds: 4 } });
    emu.servicePrincipal.oauthSecrets = [CLIENT_SECRET];
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'client-secret': CLIENT_SECRET,
        mode: 'refresh',
      },
      runnerTemp: temp,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.errors).toEqual([]);
    expect(run.outputs['auth-type']).toBe('m2m');
    expect(isProcessAlive(pid)).toBe(true);
    // Not in the service's command line nor its environment (the step's INPUT_CLIENT-SECRET is
    // dropped); readable on Linux only (process-info.ts).
    for (const file of ['cmdline', 'environ'] as const)
      expect(processFile(pid, file) ?? '').not.toContain(CLIENT_SECRET);

    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url };
    const first = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    expect(first.access_token).toBe(emu.databricks.issuedTokens[0]);
    await sleep(Number(first.expires_on) * 1000 - Date.now() + 200);
    const second = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    expect(second.access_token).not.toBe(first.access_token);
    expect(Number(second.expires_on) * 1000).toBeGreaterThan(Date.now());
    expect(emu.databricks.clientCredentialsRequests.length).toBeGreaterThanOrEqual(2);
    for (const request of emu.databricks.clientCredentialsRequests)
      expect(request.headers.authorization).toBe(basic(emu.servicePrincipal.applicationId, CLIENT_SECRET));
    expect(emu.github.requests).toHaveLength(0);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });

    const post = await runActionStep('post', { state: run.state, runnerTemp: temp });
    expect(post.code).toBe(0);
    expect(isProcessAlive(pid)).toBe(false);
    expect(post.stdout).toContain('Requesting a token with OAuth M2M');
    expect(post.stdout).not.toContain(CLIENT_SECRET);
  });
});

/** True when `secret` never shows, except in commands the agent consumes after task.setsecret. */
function adoNeverShows(run: TaskRun, secret: string): boolean {
  return maskedBeforeUse(run, secret) || (!run.stdout.includes(secret) && !run.stderr.includes(secret));
}

const adoWarnings = (run: TaskRun) =>
  run.commands.filter((c) => c.name === 'task.issue' && c.properties.type === 'warning').map((c) => c.data);

describe('DatabricksOidcLogin@1: authType', () => {
  it('auto without a job token but with a client secret: OAuth M2M with a warning; the secret is masked first, even with system.debug', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        clientId: emu.servicePrincipal.applicationId,
        clientSecret: CLIENT_SECRET,
      },
      env: { SYSTEM_DEBUG: 'true' }, // no SYSTEMVSSCONNECTION endpoint: no ID token source
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(adoWarnings(run)).toEqual([expect.stringContaining('falls back to OAuth M2M')]);
    expect(adoWarnings(run)[0]).toContain('SYSTEMVSSCONNECTION');
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(1);
    expect(emu.azureDevOps.requests).toHaveLength(0);
    expect(run.variables.authType).toEqual({ value: 'm2m', secret: false, output: true });
    expect(run.variables.DATABRICKS_TOKEN).toEqual({
      value: emu.databricks.issuedTokens.at(-1),
      secret: true,
      output: false,
    });
    expect(run.stdout).toContain('##vso[task.debug]');
    expect(maskedBeforeUse(run, CLIENT_SECRET)).toBe(true);
    const sdk = await runSdkMe(plainVariables(run));
    expect(sdk).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });

  it('auto with the job token and a client secret: OIDC, no client-credentials request', async () => {
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        clientId: emu.servicePrincipal.applicationId,
        clientSecret: CLIENT_SECRET,
      },
      env: { ...agentEndpoints(emu, { includeConnection: false }), SYSTEM_DEBUG: 'true' },
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(0);
    expect(emu.azureDevOps.issued).toHaveLength(1);
    expect(run.variables.authType?.value).toBe('oidc');
    expect(adoWarnings(run)).toEqual([]);
    expect(adoNeverShows(run, CLIENT_SECRET)).toBe(true);
  });

  it('explicit m2m without a secret, and explicit oidc without a job token: errors before any request', async () => {
    const m2m = await runTask('main', emu, {
      inputs: { host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId, authType: 'm2m' },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    expect(m2m.result?.status).toBe('Failed');
    expect(m2m.result?.message).toContain(
      'Failed to use authType m2m: clientSecret is empty [CREDENTIALS_MISSING]',
    );
    const oidc = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        clientId: emu.servicePrincipal.applicationId,
        clientSecret: CLIENT_SECRET,
        authType: 'oidc',
      },
      tempDirectory: temp,
    });
    expect(oidc.result?.status).toBe('Failed');
    expect(oidc.result?.message).toContain('[ID_TOKEN_UNAVAILABLE]');
    expect(oidc.variables).toEqual({});
    expect(everyRequest()).toHaveLength(0);
  });

  it('pat: verified, set as a secret variable and in the config file, never refreshed; nothing: the three-way error', async () => {
    const pat = emu.databricks.createPersonalAccessToken('someone@example.com');
    const run = await runTask('main', emu, {
      inputs: { host: emu.databricks.url, authType: 'pat', pat, mode: 'refresh' },
      env: { ...agentEndpoints(emu, { includeConnection: false }), SYSTEM_DEBUG: 'true' },
      tempDirectory: temp,
    });
    expect(run.result?.status).toBe('Succeeded');
    expect(run.variables.DATABRICKS_TOKEN).toEqual({ value: pat, secret: true, output: false });
    expect(run.variables.DATABRICKS_AUTH_TYPE?.value).toBe('pat');
    expect(run.variables.authType?.value).toBe('pat');
    expect(run.variables.expiresAt?.value).toBe('');
    expect(run.taskVariables.metadataServicePid).toBeUndefined();
    expect(readFileSync(run.variables.DATABRICKS_CONFIG_FILE?.value ?? '', 'utf8')).toContain(
      `token = ${pat}`,
    );
    expect(maskedBeforeUse(run, pat)).toBe(true);
    expect(emu.azureDevOps.requests).toHaveLength(0);
    expect(await runSdkMe(plainVariables(run))).toMatchObject({ userName: 'someone@example.com' });

    const nothing = await runTask('main', emu, { inputs: { host: emu.databricks.url }, tempDirectory: temp });
    expect(nothing.result?.status).toBe('Failed');
    expect(nothing.result?.message).toContain('[CREDENTIALS_MISSING]');
    expect(nothing.result?.message).toContain('2) OAuth M2M: set clientId');
    expect(nothing.result?.message).toContain('3) A personal access token in pat');
  });

  it('OAuth M2M in mode refresh: later steps get a fresh token after the first expired', async () => {
    await emu.stop();
    emu = await startEmulators({ databricks: { maxTokenLifetimeSeconds: 4 } });
    emu.servicePrincipal.oauthSecrets = [CLIENT_SECRET];
    const run = await runTask('main', emu, {
      inputs: {
        host: emu.databricks.url,
        clientId: emu.servicePrincipal.applicationId,
        clientSecret: CLIENT_SECRET,
        authType: 'm2m',
        mode: 'refresh',
      },
      env: agentEndpoints(emu, { includeConnection: false }),
      tempDirectory: temp,
    });
    const pid = Number(run.taskVariables.metadataServicePid);
    if (pid) started.push(pid);
    expect(run.result?.status).toBe('Succeeded');
    expect(processFile(pid, 'environ') ?? '').not.toContain(CLIENT_SECRET);
    const variables = plainVariables(run);
    const url = variables.DATABRICKS_METADATA_SERVICE_URL ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url };
    const first = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    await sleep(Number(first.expires_on) * 1000 - Date.now() + 200);
    const second = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    expect(second.access_token).not.toBe(first.access_token);
    expect(emu.databricks.clientCredentialsRequests.length).toBeGreaterThanOrEqual(2);
    expect(emu.azureDevOps.issued).toHaveLength(0);
    expect(await runSdkMe(variables)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });
});
