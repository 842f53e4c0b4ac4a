import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { runActionStep, type StepRun } from './github-runner.ts';

// One precise message per common failure, from the built GitHub Action bundle. Azure DevOps
// service-connection cases are in azure-devops-task.test.ts.

let emu: Emulators;
beforeEach(async () => {
  emu = await startEmulators();
});
afterEach(async () => {
  await emu?.stop();
});

const login = (inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
  runActionStep('main', {
    inputs: {
      mode: 'token',
      host: emu.databricks.url,
      'client-id': emu.servicePrincipal.applicationId,
      ...inputs,
    },
    env: { ...emu.github.env, ...env },
  });

/** The single error a user sees, after checking it failed cleanly and leaked nothing. */
function failure(run: StepRun): string {
  expect(run.code).not.toBe(0);
  expect(run.errors).toHaveLength(1);
  expect(run.exportedEnv).toEqual({});
  for (const secret of [...emu.github.issued, ...emu.databricks.issuedTokens, emu.github.requestToken]) {
    expect(run.visibleOutput).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
  return run.errors[0] ?? '';
}

describe('diagnostics', () => {
  it('1. missing id-token permission: names the permission, forks and Dependabot, and sends nothing', async () => {
    const run = await runActionStep('main', { inputs: { host: emu.databricks.url } });
    const message = failure(run);
    expect(message).toMatch(/permissions: id-token: write/);
    expect(message).toMatch(/forks/);
    expect(message).toMatch(/Dependabot/);
    expect(emu.databricks.requests).toHaveLength(0);
  });

  it('2. subject mismatch: shows the subject and how GitHub builds it', async () => {
    emu.github.claims.sub = 'repo:octo-org/octo-repo:pull_request';
    const message = failure(await login());
    expect(emu.databricks.rejections[0]).toContain('subject mismatch');
    expect(message).toContain(
      'subject  = repo:octo-org/octo-repo:pull_request (GitHub builds it from the trigger',
    );
    expect(message).toContain('"subject":"repo:octo-org/octo-repo:pull_request"');
  });

  it('3. audience mismatch: shows the audience requested, where it came from, and both fixes', async () => {
    const target = emu.servicePrincipal.policies[0];
    if (!target) throw new Error('the emulator lacks policies[0]');
    target.audiences = [emu.databricks.accountId]; // the policy default
    const message = failure(await login());
    expect(emu.databricks.rejections[0]).toContain('audience mismatch');
    expect(message).toContain(
      `audience = ${emu.databricks.url}/oidc/v1/token (requested from the token endpoint`,
    );
    expect(message).toContain(
      'set the audience input to one the policy lists; a policy without audiences accepts only the account ID',
    );
    // Following the advice fixes it.
    const fixed = await login({ audience: emu.databricks.accountId });
    expect(fixed.code).toBe(0);
  });

  it('4. issuer mismatch: shows the issuer, including a GitHub enterprise issuer', async () => {
    await emu.stop();
    emu = await startEmulators({
      github: { issuer: 'https://token.actions.githubusercontent.com/octo-enterprise' },
    });
    const target = emu.servicePrincipal.policies[0];
    if (!target) throw new Error('the emulator lacks policies[0]');
    target.issuer = 'https://token.actions.githubusercontent.com';
    const message = failure(await login());
    expect(emu.databricks.rejections[0]).toContain('issuer mismatch');
    expect(message).toContain(
      'issuer   = https://token.actions.githubusercontent.com/octo-enterprise (your GitHub enterprise uses a custom issuer',
    );
  });

  it('5a. client-id of a service principal without a matching policy: says which principal must hold it', async () => {
    const other = '0b7e3c1a-2d4f-4e6a-8b9c-1d2e3f4a5b6c';
    const message = failure(await login({ 'client-id': other }));
    expect(message).toContain(
      `client-id ${other} must be the application ID of the service principal that holds the policy`,
    );
  });

  it('5b. numeric service principal ID as client-id: refused before any request, with the difference explained', async () => {
    const message = failure(await login({ 'client-id': '7345001234' }));
    expect(message).toContain('[INPUT_INVALID]');
    expect(message).toContain('not its numeric ID');
    expect(emu.github.requests).toHaveLength(0);
  });

  it('6. a host that is not a Databricks workspace: 404 or a web page at /oidc/v1/token', async () => {
    const notFound = failure(await login({ host: emu.entra.url }));
    expect(notFound).toContain('[NOT_DATABRICKS]');
    expect(notFound).toContain('not a Databricks token endpoint');
    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 200,
      body: '<!doctype html><title>Sign in</title>',
      headers: { 'content-type': 'text/html' },
    });
    const html = failure(await login());
    expect(html).toContain('with a web page, not a Databricks token endpoint [NOT_DATABRICKS]');
    expect(html).toContain('Check that host is your workspace URL');
  });

  it('7. a wrong account ID, or an account ID with a workspace host', async () => {
    const wrong = '11111111-2222-4333-8444-555555555555';
    const message = failure(await login({ 'account-id': wrong }));
    expect(message).toContain('[NOT_DATABRICKS]');
    expect(message).toContain(`Check account-id (${wrong}) and that host is your accounts console`);
    const notUuid = failure(await login({ 'account-id': 'my-account' }));
    expect(notUuid).toContain('Failed to read input account-id: "my-account" is not a UUID');
  });

  it('8. Entra AADSTS70021: shows the issuer, subject and audience to register', async () => {
    const target = emu.entra.apps[0];
    if (!target) throw new Error('the emulator lacks apps[0]');
    target.federatedCredentials = [];
    const message = failure(
      await login({ provider: 'azure', 'tenant-id': emu.entra.tenantId, 'authority-host': emu.entra.url }),
    );
    expect(message).toContain('[ENTRA_REJECTED]');
    expect(message).toContain('AADSTS70021');
    expect(message).toContain(
      `Add a federated credential to the app registration or managed identity ${emu.servicePrincipal.applicationId}`,
    );
    expect(message).toContain(
      '"issuer":"https://token.actions.githubusercontent.com","subject":"repo:octo-org/octo-repo:environment:prod","audiences":["api://AzureADTokenExchange"]',
    );
  });

  it('10a. an ID token that has already expired (clock skew): refused before it is sent', async () => {
    emu.github.tokenLifetimeSeconds = -30;
    const message = failure(await login());
    expect(message).toContain('[ID_TOKEN_EXPIRED]');
    expect(message).toContain('clock skew');
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(0);
  });

  it('10b. Entra AADSTS700024 (assertion outside its valid time range): points at the clock', async () => {
    emu.entra.inject({
      path: `/${emu.entra.tenantId}/oauth2/v2.0/token`,
      status: 400,
      body: JSON.stringify({
        error: 'invalid_client',
        error_description: 'AADSTS700024: Client assertion is not within its valid time range.',
        error_codes: [700024],
      }),
    });
    const message = failure(
      await login({ provider: 'azure', 'tenant-id': emu.entra.tenantId, 'authority-host': emu.entra.url }),
    );
    expect(message).toContain('AADSTS700024');
    expect(message).toContain('check the runner clock');
  });
});

describe('networking, from the built bundle', () => {
  it('503, 503, then OK: three attempts, then success', async () => {
    emu.databricks.inject({ path: '/oidc/v1/token', status: 503 }, { path: '/oidc/v1/token', status: 503 });
    const run = await login();
    expect(run.code).toBe(0);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(3);
  });

  it('401: one attempt, no retry', async () => {
    emu.databricks.inject({ path: '/oidc/v1/token', status: 401, body: '{"error":"invalid_client"}' });
    const run = await login();
    expect(run.code).not.toBe(0);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(1);
    expect(run.durationMs).toBeLessThan(5_000);
  });

  it('Retry-After: 2 means at least 2 s between attempts', async () => {
    emu.databricks.inject({ path: '/oidc/v1/token', status: 429, headers: { 'retry-after': '2' } });
    const run = await login();
    expect(run.code).toBe(0);
    const [first, second] = emu.databricks.requestsTo('/oidc/v1/token');
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(2_000);
  });

  it('a hang with timeout-seconds: 2 fails within the deadline (3 × 2 s)', async () => {
    for (let i = 0; i < 4; i++) emu.databricks.inject({ path: '/oidc/v1/token', hang: true });
    const run = await login({ 'timeout-seconds': '2' });
    expect(failure(run)).toContain('did not answer within 2 s [TIMEOUT]');
    // Without the overall deadline a fourth attempt would start; with it, at most three fit in 6 s.
    expect(emu.databricks.requestsTo('/oidc/v1/token').length).toBeLessThanOrEqual(3);
    expect(run.durationMs).toBeLessThan(6_000 + 2_500);
  });
});
