import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { ROOT, runActionStep } from './github-runner.ts';
import { runProcess } from './node-process.ts';

// Fidelity of the Databricks emulator, judged by Databricks' own Python SDK: its own OIDC and M2M
// logins must succeed against it, on a unified host too, and it must work from what the action
// exports. Needs a checkout of databricks-sdk-py (DATABRICKS_SDK_PY) and Debian's python3-requests
// python3-google-auth and python3-protobuf; CI has neither the checkout nor a way to fetch it, so it runs where a
// developer provides them.
const SDK = process.env.DATABRICKS_SDK_PY ?? '';
const PYTHON = '/usr/bin/python3';
const available =
  SDK !== '' && existsSync(join(SDK, 'databricks', 'sdk', '__init__.py')) && existsSync(PYTHON);

const ACCOUNT = randomUUID();
const WORKSPACE = '2718281828459045';
let emu: Emulators | undefined;
const folders: string[] = [];

afterEach(async () => {
  await emu?.stop();
  emu = undefined;
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

function folder(prefix: string): string {
  const path = mkdtempSync(join(tmpdir(), prefix));
  folders.push(path);
  return path;
}

/**
 * The SDK imports google.auth.impersonated_credentials when it loads, for its Google strategies;
 * Debian 12's python3-google-auth (1.5.1) predates that module. Nothing here uses Google auth, so
 * an empty stand-in is registered before the SDK loads (a sitecustomize on PYTHONPATH).
 */
function googleAuthShim(): string {
  const dir = folder('py-shim-');
  writeFileSync(
    join(dir, 'sitecustomize.py'),
    [
      'import sys, types',
      'import google.auth',
      "if not hasattr(google.auth, 'impersonated_credentials'):",
      "    stub = types.ModuleType('google.auth.impersonated_credentials')",
      "    sys.modules['google.auth.impersonated_credentials'] = stub",
      '    google.auth.impersonated_credentials = stub',
      '',
    ].join('\n'),
  );
  return dir;
}

async function pythonMe(env: Record<string, string>, count = 1, interval = 0) {
  const run = await runProcess(
    PYTHON,
    [join(ROOT, 'test', 'e2e', 'python-sdk-me.py'), String(count), String(interval)],
    {
      PATH: '/usr/bin:/bin',
      HOME: folder('py-home-'),
      PYTHONPATH: `${googleAuthShim()}:${SDK}`,
      ...env,
    },
  );
  expect(run.code, run.stderr.slice(-3000)).toBe(0);
  return run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { userName: string; authType: string });
}

describe.skipIf(!available)('the real Databricks SDK for Python against the emulator', () => {
  it('logs in by itself with github-oidc on a unified host: metadata, account endpoint, workspace header', async () => {
    emu = await startEmulators({
      databricks: { shape: 'unified', accountId: ACCOUNT, workspaceId: WORKSPACE },
      policyAudience: ACCOUNT,
    });
    const [me] = await pythonMe({
      ...emu.github.env,
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: WORKSPACE,
      DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
      DATABRICKS_AUTH_TYPE: 'github-oidc',
    });
    expect(me).toEqual({ userName: emu.servicePrincipal.applicationId, authType: 'github-oidc' });
    expect(emu.databricks.requestsTo('/.well-known/databricks-config').length).toBeGreaterThan(0);
    expect(emu.databricks.requestsTo(`/oidc/accounts/${ACCOUNT}/v1/token`)).toHaveLength(1);
    // Every ID token it asked for names the account: the metadata's default audience.
    const audiences = new Set(emu.github.requests.map((r) => r.query.get('audience')));
    expect([...audiences]).toEqual([ACCOUNT]);
    const scim = emu.databricks.requestsTo('/api/2.0/preview/scim/v2/Me');
    expect(scim.map((r) => r.headers['x-databricks-workspace-id'])).toEqual([WORKSPACE]);
  });

  it('logs in by itself with oauth-m2m on a workspace, through the discovery the metadata names', async () => {
    emu = await startEmulators();
    emu.servicePrincipal.oauthSecrets = ['dose-python-secret'];
    const [me] = await pythonMe({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
      DATABRICKS_CLIENT_SECRET: 'dose-python-secret',
      DATABRICKS_AUTH_TYPE: 'oauth-m2m',
    });
    expect(me).toEqual({ userName: emu.servicePrincipal.applicationId, authType: 'oauth-m2m' });
    expect(emu.databricks.clientCredentialsRequests).toHaveLength(1);
  });

  it('works from what the action exports on a unified host, and from its profile alone, across expiry', async () => {
    emu = await startEmulators({
      databricks: { shape: 'unified', accountId: ACCOUNT, workspaceId: WORKSPACE },
      policyAudience: ACCOUNT,
      github: { tokenLifetimeSeconds: 4 },
    });
    const runnerTemp = folder('runner-temp-');
    const run = await runActionStep('main', {
      inputs: {
        host: `${emu.databricks.url}/?w=${WORKSPACE}`,
        'client-id': emu.servicePrincipal.applicationId,
        profile: 'deploy',
      },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    const fromEnv = await pythonMe(run.exportedEnv, 3, 3);
    const fromProfile = await pythonMe(
      {
        DATABRICKS_CONFIG_FILE: run.exportedEnv.DATABRICKS_CONFIG_FILE ?? '',
        DATABRICKS_CONFIG_PROFILE: 'deploy',
      },
      3,
      3,
    );
    for (const calls of [fromEnv, fromProfile])
      expect(calls).toEqual(
        Array(3).fill({ userName: emu.servicePrincipal.applicationId, authType: 'metadata-service' }),
      );
    expect(emu.databricks.requestsTo(`/oidc/accounts/${ACCOUNT}/v1/token`).length).toBeGreaterThanOrEqual(3);
    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
  });
});
