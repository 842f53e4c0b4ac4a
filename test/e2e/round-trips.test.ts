import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectProxy,
  type Emulators,
  startEmulators,
  TestCertificateAuthority,
} from '../emulators/index.ts';
import { runActionStep } from './github-runner.ts';

// Issue 14: one connection per host per login, kept alive without delaying exit (through a proxy
// too), and no sequential round trip that the work does not need. From the built bundle.

let emu: Emulators | undefined;
let ca: TestCertificateAuthority | undefined;
let proxy: ConnectProxy | undefined;
let runnerTemp: string;

beforeEach(() => {
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});
afterEach(async () => {
  await emu?.stop();
  await proxy?.stop();
  ca?.dispose();
  emu = undefined;
  proxy = undefined;
  ca = undefined;
  rmSync(runnerTemp, { recursive: true, force: true });
});

const METADATA = '/.well-known/databricks-config';

describe('connections and round trips of one login', () => {
  it('uses one connection per host, and fetches the ID token while the metadata is on its way', async () => {
    emu = await startEmulators();
    emu.databricks.latencyMs = 300; // a distant workspace: the ID token must not wait for it
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requests.map((r) => r.path)).toEqual([
      METADATA,
      '/oidc/v1/token',
      '/api/2.0/preview/scim/v2/Me',
    ]);
    expect(emu.databricks.connections).toBe(1);
    expect(emu.github.connections).toBe(1);
    // One ID token, requested before the metadata answered, and reused: the metadata named none.
    const [idToken, ...more] = emu.github.requests;
    expect(more).toEqual([]);
    expect(idToken?.at).toBeLessThan(emu.databricks.requestsTo(METADATA)[0]?.answeredAt ?? 0);
  });

  it('reads the metadata alongside the ID token when the audience is given', async () => {
    emu = await startEmulators({ policyAudience: 'my-audience' });
    emu.databricks.latencyMs = 300;
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'client-id': emu.servicePrincipal.applicationId,
        audience: 'my-audience',
      },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    // The metadata decides the endpoint, so it is read once, but the ID token does not wait for it.
    expect(emu.databricks.requestsTo(METADATA)).toHaveLength(1);
    expect(emu.github.requests).toHaveLength(1);
    expect(emu.github.requests[0]?.at).toBeLessThan(emu.databricks.requestsTo(METADATA)[0]?.answeredAt ?? 0);
  });

  it('keeps one tunnel per host alive through a proxy, and still exits at once', async () => {
    ca = TestCertificateAuthority.create();
    emu = await startEmulators({ databricks: { tls: ca.issue({ dns: ['workspace.example.test'] }) } });
    proxy = await new ConnectProxy().start();
    const port = new URL(emu.databricks.url).port;
    const host = `https://workspace.example.test:${port}`;
    const policy = emu.servicePrincipal.policies[0];
    if (!policy) throw new Error('the emulator lacks a policy');
    policy.audiences = [`${host}/oidc/v1/token`];
    const run = await runActionStep('main', {
      inputs: { host, 'client-id': emu.servicePrincipal.applicationId },
      env: { ...emu.github.env, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: ca.caFile },
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
    expect(emu.databricks.requests).toHaveLength(3); // metadata, exchange, SCIM Me
    expect(proxy.tunnels).toEqual([`workspace.example.test:${port}`]); // one tunnel for all three
    // Idle kept-alive sockets are unref'd: the step ends at once, although the proxy never closes
    // an idle tunnel (a referenced socket would hold the step until the harness kills it at 30 s).
    expect(run.code).toBe(0);
    expect(run.durationMs).toBeLessThan(10_000);
  });
});
