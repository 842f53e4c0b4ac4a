import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stopMetadataService } from '../../packages/core/src/index.ts';
import {
  ConnectProxy,
  type EmulatorOptions,
  type Emulators,
  startEmulators,
  TestCertificateAuthority,
} from '../emulators/index.ts';
import { agentEndpoints, runTask } from './azure-devops-agent.ts';
import { runActionStep, type StepRun } from './github-runner.ts';
import { azureDevOpsOutputProblems, githubOutputProblems, hostilePayload } from './runner-commands.ts';

// Issue 9: nothing a server or an input says can hijack the step, stall it, or send a token to
// the wrong place. Every test runs the built bundles against the emulators.

let emu: Emulators | undefined;
let ca: TestCertificateAuthority | undefined;
let proxy: ConnectProxy | undefined;
let runnerTemp: string;
const services: number[] = [];

beforeEach(() => {
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((pid) => stopMetadataService(pid)));
  await emu?.stop();
  await proxy?.stop();
  ca?.dispose();
  emu = undefined;
  proxy = undefined;
  ca = undefined;
  rmSync(runnerTemp, { recursive: true, force: true });
});

async function emulators(options: EmulatorOptions = {}): Promise<Emulators> {
  emu = await startEmulators(options);
  return emu;
}

const MARKER = 'FORGED-7f3a';
const PAYLOAD = hostilePayload(MARKER);

/** Everything the step must never show in clear. */
function secretsOf(e: Emulators, run?: StepRun): string[] {
  return [
    e.github.requestToken,
    ...e.github.issued,
    ...e.databricks.issuedTokens,
    run?.exportedEnv.DATABRICKS_METADATA_SERVICE_URL,
    run?.outputs.token,
  ].filter((s): s is string => Boolean(s));
}

const login = (e: Emulators, inputs: Record<string, string> = {}, env: Record<string, string> = {}) =>
  runActionStep('main', {
    inputs: { host: e.databricks.url, 'client-id': e.servicePrincipal.applicationId, ...inputs },
    env: { ...e.github.env, RUNNER_DEBUG: '1', ...env },
    runnerTemp,
  });

function expectNoForgery(run: StepRun, e: Emulators): void {
  expect(githubOutputProblems(`${run.stdout}\n${run.stderr}`, MARKER, secretsOf(e, run))).toEqual([]);
}

describe('1. no server or input text becomes a workflow command (GitHub)', () => {
  it('a hostile SCIM userName: logged, output and summarised as plain text', async () => {
    const e = await emulators();
    const me = '/api/2.0/preview/scim/v2/Me';
    e.databricks.inject({ path: me, status: 200, body: JSON.stringify({ userName: PAYLOAD }) });
    const run = await login(e);
    expect(run.code).toBe(0);
    expectNoForgery(run, e);
    expect(run.outputs.principal).not.toMatch(/[\r\n]/);
    expect(run.summary).not.toMatch(/<(?!\/?(h3|table|tr|th|td)\b)/); // only the summary's own markup
  });

  it('a hostile audience in the host metadata: refused with a warning that forges nothing', async () => {
    const e = await emulators({ databricks: { defaultAudiences: [PAYLOAD] } });
    const run = await login(e);
    expect(run.code).toBe(0);
    expectNoForgery(run, e);
    expect(run.stdout).toMatch(/::warning::Ignoring the audience/);
  });

  it('hostile error bodies and claims, on success and on failure, with debug logging on', async () => {
    const e = await emulators({ github: { claims: { environment: PAYLOAD, ref: PAYLOAD } } });
    const ok = await login(e);
    expect(ok.code).toBe(0);
    expectNoForgery(ok, e);
    e.databricks.inject({
      path: '/oidc/v1/token',
      status: 401,
      body: JSON.stringify({ error: PAYLOAD, error_description: PAYLOAD }),
    });
    const refused = await login(e);
    expect(refused.code).not.toBe(0);
    expectNoForgery(refused, e);
    e.github.claims.sub = PAYLOAD; // the subject is echoed in the policy evidence
    const rejected = await login(e);
    expect(rejected.code).not.toBe(0);
    expectNoForgery(rejected, e);
  });

  it('a hostile service log: the post step prints it without running any of it', async () => {
    const e = await emulators();
    const main = await login(e, { mode: 'refresh' });
    expect(main.code).toBe(0);
    services.push(Number(main.state['metadata-service-pid']));
    const logFile = main.state['metadata-service-log'];
    expect(logFile).toBeTruthy();
    appendFileSync(logFile ?? '', `${PAYLOAD}\n`);
    const post = await runActionStep('post', { state: main.state, runnerTemp, env: { RUNNER_DEBUG: '1' } });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`x ${MARKER}`); // the log was shown
    expect(githubOutputProblems(`${post.stdout}\n${post.stderr}`, MARKER, secretsOf(e, main))).toEqual([]);
  });
});

describe('1. no server text becomes a logging command (Azure DevOps)', () => {
  it('a hostile SCIM userName and error bodies, with system.debug on', async () => {
    const e = await emulators();
    e.databricks.inject({
      path: '/api/2.0/preview/scim/v2/Me',
      status: 200,
      body: JSON.stringify({ userName: PAYLOAD }),
    });
    const env = { ...agentEndpoints(e, { includeConnection: false }), SYSTEM_DEBUG: 'true' };
    const inputs = { host: e.databricks.url, clientId: e.servicePrincipal.applicationId };
    const ok = await runTask('main', e, { inputs, env });
    expect(ok.result?.status).toBe('Succeeded');
    const secrets = [e.azureDevOps.jobAccessToken, ...e.azureDevOps.issued, ...e.databricks.issuedTokens];
    expect(azureDevOpsOutputProblems(`${ok.stdout}\n${ok.stderr}`, MARKER, secrets)).toEqual([]);
    e.databricks.inject({
      path: '/oidc/v1/token',
      status: 400,
      body: JSON.stringify({ error_description: PAYLOAD }),
    });
    const failed = await runTask('main', e, { inputs, env });
    expect(failed.result?.status).toBe('Failed');
    expect(azureDevOpsOutputProblems(`${failed.stdout}\n${failed.stderr}`, MARKER, secrets)).toEqual([]);
  });
});

describe('2. http and https endpoints in one login', () => {
  it('https ID-token endpoint with a plain-http loopback workspace, and the reverse', async () => {
    ca = TestCertificateAuthority.create();
    const tls = ca.issue({ ip: ['127.0.0.1'] });
    const trust = { NODE_EXTRA_CA_CERTS: ca.caFile };
    let e = await emulators({ github: { tls } });
    expect(e.github.url).toMatch(/^https:/);
    const first = await login(e, {}, trust);
    expect(first.errors).toEqual([]);
    expect(first.exportedEnv.DATABRICKS_TOKEN).toBeTruthy();
    await e.stop();
    e = await emulators({ databricks: { tls } });
    expect(e.databricks.url).toMatch(/^https:/);
    const second = await login(e, {}, trust);
    expect(second.errors).toEqual([]);
    expect(second.outputs.principal).toBe(e.servicePrincipal.applicationId);
  });
});

describe('3. hostile sizes cannot stall the step', () => {
  it('a 400 answer of crafted text near the size cap fails quickly, with a short excerpt', async () => {
    const e = await emulators();
    const crafted = `${'eyJ'.repeat(150_000)} ${'a'.repeat(300_000)} ${'access_token '.repeat(20_000)}`;
    e.databricks.inject({ path: '/oidc/v1/token', status: 400, body: crafted });
    const run = await login(e, { 'timeout-seconds': '5' });
    expect(run.code).not.toBe(0);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('[EXCHANGE_REJECTED]');
    // The message quotes at most a short excerpt of the answer, not the answer.
    expect(run.errors[0]?.split('\n')[0]?.length ?? 0).toBeLessThan(600);
    expect(run.durationMs).toBeLessThan(15_000); // the old quadratic redaction took minutes
  });

  it('a 100 KB host is an input error before any request, and is not echoed', async () => {
    const e = await emulators();
    const host = `https://${'a'.repeat(100_000)}.example.com`;
    const run = await login(e, { host });
    expect(run.code).not.toBe(0);
    expect(run.errors[0]).toContain('[INPUT_INVALID]');
    expect(run.errors[0]).toContain('100020 characters long');
    expect(run.errors[0]?.length ?? 0).toBeLessThan(1000);
    expect(e.github.requests).toHaveLength(0);
  });
});

describe('4. the host cannot choose the audience of the ID token', () => {
  it('ignores a foreign audience in the host metadata, with a warning, and requests the default', async () => {
    for (const foreign of [
      'sts.amazonaws.com',
      'api://AzureADTokenExchange',
      'https://evil.example/oidc/v1/token',
    ]) {
      const e = await emulators({ databricks: { defaultAudiences: [foreign] } });
      const run = await login(e);
      expect(run.code).toBe(0);
      const audiences = e.github.requestsTo('/idtoken/job').map((r) => r.query.get('audience'));
      expect(audiences).not.toContain(foreign);
      expect(audiences.at(-1)).toBe(`${e.databricks.url}/oidc/v1/token`);
      expect(run.stdout).toContain(`::warning::Ignoring the audience "${foreign}"`);
      await e.stop();
    }
  });

  it('takes an audience that is a URL on the same host', async () => {
    const e = await emulators();
    const own = `${e.databricks.url}/oidc/custom-audience`;
    e.databricks.defaultAudiences = [own];
    const policy = e.servicePrincipal.policies[0];
    if (!policy) throw new Error('the emulator lacks a policy');
    policy.audiences = [own];
    const run = await login(e);
    expect(run.errors).toEqual([]);
    expect(e.github.requestsTo('/idtoken/job').at(-1)?.query.get('audience')).toBe(own);
  });
});

describe('8. the expiry is checked, not taken on trust', () => {
  const jwtWith = (exp: number) =>
    [
      { alg: 'RS256', typ: 'JWT' },
      { sub: 'x', exp },
    ]
      .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
      .concat('c2lnbmF0dXJl')
      .join('.');

  it('refuses expires_in 0.001 and a JWT access token whose own exp is past; takes the earlier of the two', async () => {
    const e = await emulators();
    const now = Math.floor(Date.now() / 1000);
    for (const body of [
      { access_token: 'opaque-token-value', expires_in: 0.001 },
      { access_token: jwtWith(now - 60), expires_in: 3600 },
    ]) {
      e.databricks.inject({ path: '/oidc/v1/token', status: 200, body: JSON.stringify(body) });
      const run = await login(e, { verify: 'false' });
      expect(run.code).not.toBe(0);
      expect(run.errors[0]).toContain('[TOKEN_EXPIRED]');
      expect(run.exportedEnv).toEqual({});
    }
    const exp = now + 120;
    e.databricks.inject({
      path: '/oidc/v1/token',
      status: 200,
      body: JSON.stringify({ access_token: jwtWith(exp), expires_in: 3600 }),
    });
    const run = await login(e, { verify: 'false' });
    expect(run.errors).toEqual([]);
    expect(run.outputs['expires-at']).toBe(new Date(exp * 1000).toISOString());
  });
});

describe('9. diagnostics for the network path', () => {
  it('a proxy that cannot be reached, or refuses the tunnel, is named without its credentials', async () => {
    const e = await emulators();
    proxy = await new ConnectProxy().start();
    const proxyAddress = new URL(proxy.url).host;
    const host = `https://workspace.example.test:${new URL(e.databricks.url).port}`;
    proxy.refuseWith = 407;
    const refused = await login(e, { host }, { HTTPS_PROXY: `http://user:s3cret-pw@${proxyAddress}` });
    expect(refused.errors[0]).toContain(`through the proxy http://${proxyAddress}`);
    expect(refused.errors[0]).toContain('[PROXY_FAILED]');
    expect(refused.errors[0]).toContain('HTTP 407');
    expect(`${refused.stdout}${refused.stderr}`).not.toContain('s3cret-pw');
    expect(proxy.tunnels).toHaveLength(2); // the metadata lookup and one exchange attempt: no retry
    expect(proxy.authorizations[0]).toBe(`Basic ${Buffer.from('user:s3cret-pw').toString('base64')}`);
    const port = new URL(proxy.url).port;
    await proxy.stop();
    const unreachable = await login(
      e,
      { host, 'timeout-seconds': '2' },
      { HTTPS_PROXY: `http://127.0.0.1:${port}` },
    );
    expect(unreachable.errors[0]).toContain(`through the proxy http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('an untrusted or mismatched certificate says so, names NODE_EXTRA_CA_CERTS, and is not retried', async () => {
    ca = TestCertificateAuthority.create();
    const e = await emulators({ databricks: { tls: ca.issue({ ip: ['127.0.0.1'] }) } });
    const untrusted = await login(e);
    expect(untrusted.errors[0]).toContain('[TLS_CERTIFICATE_REJECTED]');
    expect(untrusted.errors[0]).toContain('NODE_EXTRA_CA_CERTS');
    expect(e.databricks.connections).toBeLessThanOrEqual(2); // metadata, then one exchange attempt
    await e.stop();
    const other = await emulators({ databricks: { tls: ca.issue({ dns: ['other.example'] }) } });
    const mismatched = await login(other, {}, { NODE_EXTRA_CA_CERTS: ca.caFile });
    expect(mismatched.errors[0]).toContain('not issued for this host name');
    expect(mismatched.errors[0]).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(other.databricks.connections).toBeLessThanOrEqual(2);
  });

  it('refuses a tenant-id that is a path segment, before any request', async () => {
    const e = await emulators();
    for (const tenant of ['..', '.', 'a..b', 'x/../y']) {
      const run = await login(e, { provider: 'azure', 'tenant-id': tenant, 'authority-host': e.entra.url });
      expect(run.errors[0]).toContain('[INPUT_INVALID]');
      expect(run.errors[0]).toContain('is not a tenant ID or domain');
    }
    expect(e.github.requests).toHaveLength(0);
    expect(e.entra.requests).toHaveLength(0);
  });
});
