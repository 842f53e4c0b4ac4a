import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { ROOT, runActionStep, runSdkMe, type StepRun } from './github-runner.ts';

let emu: Emulators;
afterEach(async () => {
  await emu?.stop();
});

/** Asserts that a secret was masked first and never shows in anything a log reader sees. */
function expectNeverVisible(run: StepRun, secret: string): void {
  expect(run.visibleOutput).not.toContain(secret);
  expect(run.stderr).not.toContain(secret);
  expect(run.summary).not.toContain(secret);
}

function expectFailedCleanly(run: StepRun): string {
  expect(run.code).not.toBe(0);
  expect(run.errors).toHaveLength(1);
  expect(run.exportedEnv).toEqual({});
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return run.errors[0] ?? '';
}

describe('GitHub Action, mode token', () => {
  beforeEach(async () => {
    emu = await startEmulators();
  });

  it('exchanges the job token at the workspace and exports a token the real SDK can use', async () => {
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: `${emu.databricks.url}/?o=1234567890`,
        'client-id': emu.servicePrincipal.applicationId,
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);

    const token = emu.databricks.issuedTokens.at(-1) ?? '';
    const idToken = emu.github.issued.at(-1) ?? '';
    expect(token).not.toBe('');
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: '1234567890', // the ?o= of the host as pasted
      DATABRICKS_TOKEN: token,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expect(run.outputs.host).toBe(emu.databricks.url);
    expect(run.outputs.token).toBe(token);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
    expect(Date.parse(run.outputs['expires-at'] ?? '')).toBeGreaterThan(Date.now());

    // Both secrets are masked before anything could print them, and never appear unmasked.
    expect(run.masks).toContain(token);
    expect(run.masks).toContain(idToken);
    expectNeverVisible(run, token);
    expectNeverVisible(run, idToken);

    // The audience defaults to the token endpoint, as the Databricks SDKs do.
    const idRequest = emu.github.requestsTo('/idtoken/job')[0];
    expect(idRequest?.query.get('audience')).toBe(`${emu.databricks.url}/oidc/v1/token`);
    expect(idRequest?.query.get('api-version')).toBe('2.0');

    // The exact form sent to the token endpoint.
    const exchanges = emu.databricks.requestsTo('/oidc/v1/token');
    expect(exchanges).toHaveLength(1);
    expect(Object.fromEntries(exchanges[0]?.form ?? [])).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: idToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: 'all-apis',
      client_id: emu.servicePrincipal.applicationId,
    });

    // The transcript tells the story in plain words.
    expect(run.stdout).toContain('subject  (sub): repo:octo-org/octo-repo:environment:prod');
    expect(run.stdout).toContain('issuer   (iss): https://token.actions.githubusercontent.com');
    expect(run.stdout).toContain('repository: octo-org/octo-repo');
    expect(run.stdout).toContain(
      `Verified: the workspace knows this token as ${emu.servicePrincipal.applicationId}`,
    );
    expect(run.stdout).toMatch(
      /expires at .* \(in (4 min 5\d|5 min 0) s\)\. For longer steps .* use mode: refresh/,
    );

    // The job summary has the facts, not the token.
    expect(run.summary).toContain(emu.databricks.url);
    expect(run.summary).toContain('repo:octo-org/octo-repo:environment:prod');
    expect(run.summary).toContain(emu.servicePrincipal.applicationId);

    // A later step: the real SDK, configured only by what was exported.
    const sdk = await runSdkMe(run.exportedEnv);
    expect(sdk.error).toBeUndefined();
    expect(sdk.userName).toBe(emu.servicePrincipal.applicationId);
  });
});

describe('GitHub Action, other identities and audiences', () => {
  it('uses the audience the host publishes in /.well-known/databricks-config, when it is the account ID', async () => {
    // Only an audience of this host or account is taken (issue 9); the account ID qualifies.
    const accountId = randomUUID();
    emu = await startEmulators({
      databricks: { accountId, defaultAudiences: [accountId] },
      policyAudience: accountId,
    });
    const run = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(emu.github.requestsTo('/idtoken/job').at(-1)?.query.get('audience')).toBe(accountId);
    expect(run.stdout).toContain('/.well-known/databricks-config');
  });

  it('prefers the audience input over everything else', async () => {
    emu = await startEmulators({
      databricks: { defaultAudiences: ['ignored'] },
      policyAudience: 'my-audience',
    });
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        audience: 'my-audience',
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(emu.github.requestsTo('/idtoken/job')[0]?.query.get('audience')).toBe('my-audience');
  });

  it('gets an account-level token, with the account ID as audience, and skips SCIM verification', async () => {
    emu = await startEmulators();
    const target = emu.servicePrincipal.policies[0];
    if (!target) throw new Error('the emulator lacks policies[0]');
    target.audiences = [emu.databricks.accountId];
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        'account-id': emu.databricks.accountId,
        'client-id': emu.servicePrincipal.applicationId,
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    const path = `/oidc/accounts/${emu.databricks.accountId}/v1/token`;
    expect(emu.databricks.requestsTo(path)).toHaveLength(1);
    expect(emu.github.requestsTo('/idtoken/job')[0]?.query.get('audience')).toBe(emu.databricks.accountId);
    expect(emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me')).toHaveLength(0);
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_TOKEN: emu.databricks.issuedTokens.at(-1),
      DATABRICKS_AUTH_TYPE: 'pat',
      DATABRICKS_ACCOUNT_ID: emu.databricks.accountId,
    });
    expect(run.outputs.principal).toBe('');
  });

  it('sends no client_id for an account-wide federation policy', async () => {
    emu = await startEmulators();
    const sub = String(emu.github.claims.sub);
    emu.databricks.accountPolicies = [
      { issuer: emu.github.jwt.issuer, audiences: [emu.databricks.workspaceTokenEndpoint] },
    ];
    emu.databricks.users = [sub];
    const run = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    const form = emu.databricks.requestsTo('/oidc/v1/token')[0]?.form;
    expect(form?.has('client_id')).toBe(false);
    expect(run.outputs.principal).toBe(sub);
  });

  it('falls back to DATABRICKS_HOST and DATABRICKS_CLIENT_ID from the environment', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: { mode: 'token' },
      env: {
        ...emu.github.env,
        DATABRICKS_HOST: emu.databricks.url,
        DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
      },
    });
    expect(run.errors).toEqual([]);
    expect(run.exportedEnv.DATABRICKS_AUTH_TYPE).toBe('pat');
    // DATABRICKS_CLIENT_ID stays in the environment; DATABRICKS_AUTH_TYPE=pat keeps the SDK from choosing OAuth.
    const sdk = await runSdkMe({
      ...run.exportedEnv,
      DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    });
    expect(sdk.userName).toBe(emu.servicePrincipal.applicationId);
  });

  it('exchanges with Entra ID for provider azure, and the SDK uses the token', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        provider: 'azure',
        'tenant-id': emu.entra.tenantId,
        'client-id': emu.servicePrincipal.applicationId,
        'authority-host': emu.entra.url,
      },
      env: emu.github.env,
    });
    expect(run.errors).toEqual([]);
    expect(emu.github.requestsTo('/idtoken/job')[0]?.query.get('audience')).toBe(
      'api://AzureADTokenExchange',
    );
    const calls = emu.entra.requestsTo(`/${emu.entra.tenantId}/oauth2/v2.0/token`);
    expect(calls).toHaveLength(1);
    expect(Object.fromEntries(calls[0]?.form ?? [])).toEqual({
      grant_type: 'client_credentials',
      client_id: emu.servicePrincipal.applicationId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: emu.github.issued.at(-1),
      scope: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default',
    });
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(0);
    const token = run.exportedEnv.DATABRICKS_TOKEN ?? '';
    expect(run.masks).toContain(token);
    expectNeverVisible(run, token);
    const sdk = await runSdkMe(run.exportedEnv);
    expect(sdk.userName).toBe(emu.servicePrincipal.applicationId);
  });

  it('sets outputs but exports nothing with export-env false', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'export-env': 'false',
      },
      env: emu.github.env,
    });
    expect(run.code).toBe(0);
    expect(run.exportedEnv).toEqual({});
    expect(run.outputs.token).toBe(emu.databricks.issuedTokens.at(-1));
  });

  it('with export-env false in mode refresh, names the token command for this OS (the .cmd on Windows: unit test)', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'export-env': 'false',
      },
      env: emu.github.env,
    });
    expect(run.code).toBe(0);
    expect(run.exportedEnv).toEqual({});
    expect(run.stdout).toContain(
      `; ${join(ROOT, 'dist', 'bin', 'databricks-oidc-token')} then prints a fresh token.`,
    );
  });

  it('never prints a secret with RUNNER_DEBUG=1, on success or on failure', async () => {
    emu = await startEmulators();
    const ok = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: { ...emu.github.env, RUNNER_DEBUG: '1' },
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('::debug::');
    for (const secret of [
      emu.databricks.issuedTokens.at(-1) ?? '',
      emu.github.issued.at(-1) ?? '',
      emu.github.requestToken,
    ]) {
      expect(ok.masks).toContain(secret);
      expectNeverVisible(ok, secret);
    }
    // A server that echoes the ID token back in its error must not get it printed either.
    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 400,
      body: '{"error":"invalid_request","error_description":"bad token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}',
    });
    const failed = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: { ...emu.github.env, RUNNER_DEBUG: '1' },
    });
    expect(failed.code).not.toBe(0);
    expect(failed.visibleOutput).not.toContain('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0');
    expect(failed.visibleOutput).toContain('[redacted JWT]');
    expectNeverVisible(failed, emu.github.issued.at(-1) ?? '');
  });

  it('has a post step that succeeds in token mode', async () => {
    const run = await runActionStep('post', { state: { mode: 'token' } });
    expect(run.code).toBe(0);
    expect(run.errors).toEqual([]);
  });
});

describe('GitHub Action, bad input', () => {
  beforeEach(async () => {
    emu = await startEmulators();
  });

  const everyRequest = () => [...emu.github.requests, ...emu.databricks.requests, ...emu.entra.requests];

  it('fails on a missing host before any request', async () => {
    const run = await runActionStep('main', {
      inputs: { mode: 'token', 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    const message = expectFailedCleanly(run);
    expect(message).toContain('Failed to read the Databricks host: it is empty');
    expect(message).toContain('[HOST_MISSING]');
    expect(message).toContain('DATABRICKS_HOST');
    expect(everyRequest()).toHaveLength(0);
  });

  it('refuses plain http to a non-loopback host before any request', async () => {
    const run = await runActionStep('main', {
      inputs: { mode: 'token', host: 'http://adb-123.4.azuredatabricks.net' },
      env: emu.github.env,
    });
    const message = expectFailedCleanly(run);
    expect(message).toContain('[HOST_INSECURE]');
    expect(message).toContain('https://adb-123.4.azuredatabricks.net');
    expect(everyRequest()).toHaveLength(0);
  });

  it('refuses a host with credentials, and a host with a newline', async () => {
    const withCredentials = await runActionStep('main', {
      inputs: { mode: 'token', host: 'https://user:pass@adb-123.4.azuredatabricks.net' },
      env: emu.github.env,
    });
    expect(expectFailedCleanly(withCredentials)).toContain('contains a user name or password');
    expect(withCredentials.visibleOutput).not.toContain('pass@');
    const withNewline = await runActionStep('main', {
      inputs: { mode: 'token', host: `${emu.databricks.url}\n::set-env name=X::y` },
      env: emu.github.env,
    });
    expect(expectFailedCleanly(withNewline)).toContain('newline or another control character');
    expect(withNewline.stdout).not.toMatch(/^::set-env/m);
    expect(everyRequest()).toHaveLength(0);
  });

  it('names `permissions: id-token: write` when the runner gave no ID-token variables, before any request', async () => {
    const run = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
    });
    const message = expectFailedCleanly(run);
    // auth-type auto with no secret to fall back to: the three-way error, OIDC first.
    expect(message).toContain('[CREDENTIALS_MISSING]');
    expect(message).toContain('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set');
    expect(message).toContain('permissions: id-token: write');
    expect(message).toMatch(/forks/);
    expect(message).toMatch(/Dependabot/);
    expect(everyRequest()).toHaveLength(0);
  });

  it('explains a rejected exchange with the claims and a ready-to-paste policy, without retrying', async () => {
    emu.github.claims.sub = 'repo:octo-org/octo-repo:ref:refs/heads/feature';
    const run = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    const message = expectFailedCleanly(run);
    expect(emu.databricks.rejections).toEqual([expect.stringContaining('subject mismatch')]);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(1);
    expect(message).toContain('[EXCHANGE_REJECTED]');
    expect(message).toContain('HTTP 401: invalid_client: Invalid credentials');
    expect(message).toContain('issuer   (iss): https://token.actions.githubusercontent.com');
    expect(message).toContain('subject  (sub): repo:octo-org/octo-repo:ref:refs/heads/feature');
    expect(message).toContain(`audience (aud): ${emu.databricks.url}/oidc/v1/token`);
    expect(message).toContain(
      `a federation policy of the service principal with application ID ${emu.servicePrincipal.applicationId}`,
    );
    const policy = {
      oidc_policy: {
        issuer: 'https://token.actions.githubusercontent.com',
        audiences: [`${emu.databricks.url}/oidc/v1/token`],
        subject: 'repo:octo-org/octo-repo:ref:refs/heads/feature',
      },
    };
    expect(message).toContain(
      `databricks account service-principal-federation-policy create SERVICE_PRINCIPAL_ID --json '${JSON.stringify(policy)}'`,
    );
    expect(message).toContain(JSON.stringify(policy, null, 2));
    expectNeverVisible(run, emu.github.issued.at(-1) ?? '');
  });

  it('fails clearly on an answer that is not JSON, or has no access_token', async () => {
    emu.databricks.inject({ path: '/oidc/v1/token', status: 200, body: 'this is not json' });
    const notJson = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    expect(expectFailedCleanly(notJson)).toMatch(/with something that is not JSON \[RESPONSE_MALFORMED\]/);
    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 200,
      body: '{"token_type":"Bearer","expires_in":300}',
    });
    const noToken = await runActionStep('main', {
      inputs: { mode: 'token', host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
    });
    expect(expectFailedCleanly(noToken)).toMatch(/without an access_token \[RESPONSE_MALFORMED\]/);
  });

  it('gives up on a hanging server within its deadline', async () => {
    for (let i = 0; i < 4; i++) emu.databricks.inject({ path: '/oidc/v1/token', hang: true });
    const run = await runActionStep('main', {
      inputs: {
        mode: 'token',
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        'timeout-seconds': '1',
      },
      env: emu.github.env,
    });
    const message = expectFailedCleanly(run);
    expect(message).toContain('[TIMEOUT]');
    expect(message).toContain(`${emu.databricks.url}/oidc/v1/token did not answer within 1 s`);
    expect(run.durationMs).toBeLessThan(3 * 1000 + 2000);
  });

  it('refuses an unknown mode before any request', async () => {
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, mode: 'forever' },
      env: emu.github.env,
    });
    expect(expectFailedCleanly(run)).toContain('Failed to read input mode: "forever" is not supported');
    expect(everyRequest()).toHaveLength(0);
  });
});
