import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabricksEmulator, type Emulators, startEmulators } from '../emulators/index.ts';
import { agentEndpoints, plainVariables, runTask } from './azure-devops-agent.ts';
import { jobEnv, runCli } from './cli-runner.ts';
import { ROOT, runActionStep, runSdkMe } from './github-runner.ts';
import { runNodeScript } from './node-process.ts';

// Issue 17: every Databricks host shape (workspace, account, unified), from the built GitHub
// Action, Azure DevOps task and CLI, with the real JS SDK working from what each exported.

const ACCOUNT = randomUUID();
const WORKSPACE = '3141592653589793';
const METADATA = '/.well-known/databricks-config';
const ACCOUNT_TOKEN = `/oidc/accounts/${ACCOUNT}/v1/token`;
const SCIM_ME = '/api/2.0/preview/scim/v2/Me';

let emu: Emulators | undefined;
let foreign: DatabricksEmulator | undefined;
let runnerTemp: string;

beforeEach(() => {
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});
afterEach(async () => {
  await emu?.stop();
  await foreign?.stop();
  emu = undefined;
  foreign = undefined;
  rmSync(runnerTemp, { recursive: true, force: true });
});

/** A unified host: the account and its workspace at one URL; policies list the account ID (the SDKs' default audience there). */
function unifiedHost(extra: { githubLifetime?: number } = {}): Promise<Emulators> {
  return startEmulators({
    databricks: { shape: 'unified', accountId: ACCOUNT, workspaceId: WORKSPACE },
    policyAudience: ACCOUNT,
    ...(extra.githubLifetime ? { github: { tokenLifetimeSeconds: extra.githubLifetime } } : {}),
  });
}

/** The real SDK calling SCIM Me `count` times, `intervalMs` apart, configured by `env` alone. */
async function sdkLoop(env: Record<string, string>, count: number, intervalMs: number): Promise<string[]> {
  const home = mkdtempSync(join(tmpdir(), 'sdk-home-'));
  try {
    const run = await runNodeScript(
      join(ROOT, 'test', 'e2e', 'sdk-me-loop.mjs'),
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...env },
      { cwd: ROOT, args: [String(count), String(intervalMs)], timeoutMs: 60_000 },
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    return run.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { userName: string }).userName);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** What must hold for any workspace call the step made on a unified host: it named the workspace. */
function expectRoutedWorkspaceCalls(e: Emulators): void {
  const me = e.databricks.requestsTo(SCIM_ME);
  expect(me.length).toBeGreaterThan(0);
  for (const r of me) expect(r.headers['x-databricks-workspace-id']).toBe(WORKSPACE);
}

describe('GitHub Action on each host shape', () => {
  it('a workspace with metadata: the endpoint it names, and its workspace ID for later steps', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId, mode: 'token' },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requests.map((r) => r.path)).toEqual([METADATA, '/oidc/v1/token', SCIM_ME]);
    expect(run.stdout).toContain(
      `Host shape: workspace (${emu.databricks.url}${METADATA}: host_type WORKSPACE_HOST`,
    );
    expect(run.stdout).toContain(
      `Token endpoint: ${emu.databricks.url}/oidc/v1/token (from ${emu.databricks.url}${METADATA})`,
    );
    expect(run.exportedEnv.DATABRICKS_WORKSPACE_ID).toBe(emu.databricks.workspaceId);
    expect(run.exportedEnv.DATABRICKS_ACCOUNT_ID).toBeUndefined();
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });

  it('a workspace without metadata: today’s endpoint, nothing guessed', async () => {
    emu = await startEmulators({ databricks: { hostMetadata: false } });
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId, mode: 'token' },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(1);
    expect(run.stdout).toContain(`Host shape: workspace (no metadata at ${emu.databricks.url}${METADATA})`);
    expect(Object.keys(run.exportedEnv).sort()).toEqual([
      'DATABRICKS_AUTH_TYPE',
      'DATABRICKS_HOST',
      'DATABRICKS_TOKEN',
    ]);
  });

  it('an accounts host: the account endpoint, DATABRICKS_ACCOUNT_ID and no workspace', async () => {
    emu = await startEmulators({
      databricks: { shape: 'account', accountId: ACCOUNT },
      policyAudience: ACCOUNT,
    });
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'account-id': ACCOUNT,
        'client-id': emu.servicePrincipal.applicationId,
        mode: 'token',
      },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requests.map((r) => r.path)).toEqual([METADATA, ACCOUNT_TOKEN]);
    expect(emu.github.requests[0]?.query.get('audience')).toBe(ACCOUNT);
    expect(run.stdout).toContain('Host shape: account');
    expect(run.exportedEnv.DATABRICKS_ACCOUNT_ID).toBe(ACCOUNT);
    expect(run.exportedEnv.DATABRICKS_WORKSPACE_ID).toBeUndefined();
  });

  for (const [how, host, inputs] of [
    ['?w= in the host, as pasted from the browser', (u: string) => `${u}/?w=${WORKSPACE}`, {}],
    ['?o= in the host', (u: string) => `${u}/?o=${WORKSPACE}`, {}],
    ['the workspace-id input', (u: string) => u, { 'workspace-id': WORKSPACE }],
  ] as const) {
    it(`a unified workspace, its ID from ${how}: the account endpoint, the workspace header, and a working SDK`, async () => {
      emu = await unifiedHost();
      const run = await runActionStep('main', {
        inputs: {
          host: host(emu.databricks.url),
          'client-id': emu.servicePrincipal.applicationId,
          mode: 'token',
          ...inputs,
        },
        env: emu.github.env,
        runnerTemp,
      });
      expect(run.errors).toEqual([]);
      // As the Python SDK does: metadata, then the account-scoped endpoint with the account ID as audience.
      expect(emu.databricks.requests.map((r) => r.path)).toEqual([METADATA, ACCOUNT_TOKEN, SCIM_ME]);
      expect(emu.github.requests.map((r) => r.query.get('audience'))).toContain(ACCOUNT);
      expectRoutedWorkspaceCalls(emu);
      expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
      expect(run.stdout).toContain('Host shape: unified');
      expect(run.exportedEnv).toMatchObject({
        DATABRICKS_HOST: emu.databricks.url, // the bare origin
        DATABRICKS_WORKSPACE_ID: WORKSPACE,
        DATABRICKS_ACCOUNT_ID: ACCOUNT,
        DATABRICKS_AUTH_TYPE: 'pat',
      });
      // The real SDK, from the exported variables alone, is routed to the workspace too.
      expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
    });
  }

  it('a unified account login: account-id and no workspace; no workspace call', async () => {
    emu = await unifiedHost();
    const run = await runActionStep('main', {
      inputs: {
        host: emu.databricks.url,
        'account-id': ACCOUNT,
        'client-id': emu.servicePrincipal.applicationId,
        mode: 'token',
      },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(emu.databricks.requests.map((r) => r.path)).toEqual([METADATA, ACCOUNT_TOKEN]);
    expect(run.exportedEnv.DATABRICKS_ACCOUNT_ID).toBe(ACCOUNT);
    expect(run.exportedEnv.DATABRICKS_WORKSPACE_ID).toBeUndefined();
  });

  it('a unified host without a workspace ID: WORKSPACE_ID_REQUIRED before any exchange, no page quoted', async () => {
    emu = await unifiedHost();
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.code).toBe(1);
    expect(run.errors).toHaveLength(1);
    const error = run.errors[0] ?? '';
    expect(error).toContain('WORKSPACE_ID_REQUIRED');
    expect(error).toContain('workspace-id');
    expect(error).toContain('?w=');
    expect(emu.databricks.requests.map((r) => r.path)).toEqual([METADATA]);
    expect(run.exportedEnv).toEqual({});
    expect(run.stdout).not.toContain('Sign in');
  });

  it('a sign-in page is never quoted: without metadata, a unified host answers the exchange with its page', async () => {
    emu = await startEmulators({
      databricks: { shape: 'unified', accountId: ACCOUNT, workspaceId: WORKSPACE, hostMetadata: false },
    });
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.code).toBe(1);
    const error = run.errors.join('\n');
    expect(error).toContain('NOT_DATABRICKS');
    expect(error).toContain('?w=');
    expect(error).not.toMatch(/Sign in|<html|<!doctype/i);
    // The page carries a logging command: it must reach no log line.
    expect(run.stdout).not.toContain('##vso[');
  });

  it('a foreign oidc_endpoint is refused with a warning, and never receives the ID token', async () => {
    emu = await startEmulators();
    foreign = await DatabricksEmulator.create();
    emu.databricks.oidcEndpointOverride = `${foreign.url}/oidc`;
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId, mode: 'token' },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.errors).toEqual([]);
    expect(run.stdout).toContain(
      `::warning::Ignoring the OIDC endpoint ${JSON.stringify(`${foreign.url}/oidc`)}`,
    );
    expect(foreign.requests).toEqual([]);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toHaveLength(1);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
  });

  it('mode refresh on a unified host with input profile: a profile-only consumer stays authenticated across expiry', async () => {
    emu = await unifiedHost({ githubLifetime: 4 });
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
    const configFile = run.exportedEnv.DATABRICKS_CONFIG_FILE ?? '';
    expect(configFile.startsWith(runnerTemp)).toBe(true);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(run.exportedEnv.DATABRICKS_CONFIG_PROFILE).toBe('deploy');
    expect(readFileSync(configFile, 'utf8')).toBe(
      [
        '[deploy]',
        `host = ${emu.databricks.url}`,
        `workspace_id = ${WORKSPACE}`,
        `account_id = ${ACCOUNT}`,
        'experimental_is_unified_host = true',
        'auth_type = metadata-service',
        `metadata_service_url = ${run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL}`,
        '',
      ].join('\n'),
    );
    // The full environment, across three 4-second token lifetimes.
    const fromEnv = sdkLoop(run.exportedEnv, 4, 3000);
    // A consumer that knows only the profile (a bundle with workspace.profile: deploy).
    const fromProfile = sdkLoop(
      { DATABRICKS_CONFIG_FILE: configFile, DATABRICKS_CONFIG_PROFILE: 'deploy' },
      4,
      3000,
    );
    for (const users of await Promise.all([fromEnv, fromProfile]))
      expect(users).toEqual(Array(4).fill(emu.servicePrincipal.applicationId));
    // Refreshes went to the account endpoint the metadata named, without asking for it again.
    expect(emu.databricks.requestsTo(ACCOUNT_TOKEN).length).toBeGreaterThanOrEqual(3);
    expect(emu.databricks.requestsTo(METADATA)).toHaveLength(1);
    expect(emu.databricks.requestsTo('/oidc/v1/token')).toEqual([]);
    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
    expect(() => statSync(configFile)).toThrow(); // the post step removed the profile
  });
});

describe('Azure DevOps task on a unified host', () => {
  const ado = (e: Emulators) => agentEndpoints(e, { includeConnection: false });

  for (const mode of ['token', 'refresh'] as const) {
    it(`mode ${mode}: the workspace from ?w=, plain variables a later step's SDK works from, across expiry`, async () => {
      emu = await unifiedHost();
      emu.azureDevOps.tokenLifetimeSeconds = 4;
      const run = await runTask('main', emu, {
        inputs: {
          mode,
          host: `${emu.databricks.url}/?w=${WORKSPACE}`,
          clientId: emu.servicePrincipal.applicationId,
          // Mode token always writes a profile (renamed here); mode refresh only with this input.
          profile: 'deploy',
        },
        env: ado(emu),
        tempDirectory: runnerTemp,
      });
      expect(run.result?.status, run.stdout).toBe('Succeeded');
      expect(emu.databricks.requestsTo(ACCOUNT_TOKEN)).toHaveLength(1);
      expectRoutedWorkspaceCalls(emu);
      const plain = plainVariables(run);
      expect(plain).toMatchObject({ DATABRICKS_WORKSPACE_ID: WORKSPACE, DATABRICKS_ACCOUNT_ID: ACCOUNT });
      if (mode === 'token') {
        expect(readFileSync(plain.DATABRICKS_CONFIG_FILE ?? '', 'utf8')).toContain(
          `workspace_id = ${WORKSPACE}\n`,
        );
        expect(await runSdkMe(plain)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
      } else {
        expect(readFileSync(plain.DATABRICKS_CONFIG_FILE ?? '', 'utf8')).toContain(
          `auth_type = metadata-service\nmetadata_service_url = ${plain.DATABRICKS_METADATA_SERVICE_URL}\n`,
        );
        // The full plain variables, and a consumer that knows only the profile, across expiries.
        const profileOnly = {
          DATABRICKS_CONFIG_FILE: plain.DATABRICKS_CONFIG_FILE ?? '',
          DATABRICKS_CONFIG_PROFILE: 'deploy',
        };
        for (const users of await Promise.all([sdkLoop(plain, 3, 3000), sdkLoop(profileOnly, 3, 3000)]))
          expect(users).toEqual(Array(3).fill(emu.servicePrincipal.applicationId));
        expect(emu.databricks.requestsTo(ACCOUNT_TOKEN).length).toBeGreaterThanOrEqual(2);
      }
      const configFile = plain.DATABRICKS_CONFIG_FILE ?? '';
      expect(plain.DATABRICKS_CONFIG_PROFILE).toBe('deploy');
      expect(readFileSync(configFile, 'utf8').startsWith('[deploy]\n')).toBe(true);
      expect(statSync(configFile).mode & 0o777).toBe(0o600);
      // The post-job handler removes the file (and stops the service in mode refresh).
      const post = await runTask('post', emu, {
        taskVariables: run.taskVariables,
        tempDirectory: runnerTemp,
      });
      expect(post.result?.status ?? 'Succeeded').not.toBe('Failed');
      expect(() => statSync(configFile)).toThrow();
    });
  }

  it('a unified host without a workspace ID names workspaceId, the task’s own input', async () => {
    emu = await unifiedHost();
    const run = await runTask('main', emu, {
      inputs: { mode: 'token', host: emu.databricks.url, clientId: emu.servicePrincipal.applicationId },
      env: ado(emu),
      tempDirectory: runnerTemp,
    });
    expect(run.result?.status).toBe('Failed');
    expect(run.result?.message).toContain('WORKSPACE_ID_REQUIRED');
    expect(run.result?.message).toContain('Set workspaceId');
    expect(emu.databricks.requestsTo(ACCOUNT_TOKEN)).toEqual([]);
  });
});

describe('the CLI on a unified host', () => {
  const cliEnv = (e: Emulators, extra: Record<string, string> = {}) =>
    jobEnv({ ...e.github.env, DATABRICKS_CLIENT_ID: e.servicePrincipal.applicationId, ...extra });

  it('env: DATABRICKS_WORKSPACE_ID from --workspace-id, and the SDK works from the printed variables', async () => {
    emu = await unifiedHost();
    const run = await runCli(
      ['env', '--format', 'json', '--host', emu.databricks.url, '--workspace-id', WORKSPACE],
      cliEnv(emu),
    );
    expect(run.code, run.stderr).toBe(0);
    const vars = JSON.parse(run.stdout) as Record<string, string>;
    expect(vars).toMatchObject({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_WORKSPACE_ID: WORKSPACE,
      DATABRICKS_ACCOUNT_ID: ACCOUNT,
      DATABRICKS_AUTH_TYPE: 'pat',
    });
    expectRoutedWorkspaceCalls(emu);
    expect(await runSdkMe(vars)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });

  it('env --profile: a 0600 config file with that profile and the token, named in DATABRICKS_CONFIG_FILE', async () => {
    emu = await unifiedHost();
    const run = await runCli(
      ['env', '--format', 'json', '--host', `${emu.databricks.url}/?w=${WORKSPACE}`, '--profile', 'ci'],
      cliEnv(emu, { RUNNER_TEMP: runnerTemp }),
    );
    expect(run.code, run.stderr).toBe(0);
    const vars = JSON.parse(run.stdout) as Record<string, string>;
    const configFile = vars.DATABRICKS_CONFIG_FILE ?? '';
    expect(configFile.startsWith(runnerTemp)).toBe(true);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(configFile, 'utf8')).toBe(
      [
        '[ci]',
        `host = ${emu.databricks.url}`,
        `workspace_id = ${WORKSPACE}`,
        `account_id = ${ACCOUNT}`,
        'experimental_is_unified_host = true',
        'auth_type = pat',
        `token = ${vars.DATABRICKS_TOKEN}`,
        '',
      ].join('\n'),
    );
    expect(run.stderr).not.toContain(vars.DATABRICKS_TOKEN ?? '');
    // A consumer that knows only the profile.
    const profileOnly = { DATABRICKS_CONFIG_FILE: configFile, DATABRICKS_CONFIG_PROFILE: 'ci' };
    expect(await runSdkMe(profileOnly)).toMatchObject({ userName: emu.servicePrincipal.applicationId });
  });

  it('DATABRICKS_WORKSPACE_ID in the environment works like the option; a disagreeing ?w= is an input error', async () => {
    emu = await unifiedHost();
    const ok = await runCli(
      ['token', '--host', emu.databricks.url],
      cliEnv(emu, { DATABRICKS_WORKSPACE_ID: WORKSPACE }),
    );
    expect(ok.code, ok.stderr).toBe(0);
    expectRoutedWorkspaceCalls(emu);
    const clash = await runCli(
      ['token', '--host', `${emu.databricks.url}/?w=999`],
      cliEnv(emu, { DATABRICKS_WORKSPACE_ID: WORKSPACE }),
    );
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('INPUT_INVALID');
    expect(clash.stderr).toContain("host's ?w= or ?o= says");
  });

  it('exec --profile: the command gets a profile naming the metadata service, removed afterwards', async () => {
    emu = await unifiedHost();
    const script = [
      "const fs = require('node:fs');",
      'const file = process.env.DATABRICKS_CONFIG_FILE;',
      'process.stdout.write(JSON.stringify({ file, text: fs.readFileSync(file, "utf8"), mode: fs.statSync(file).mode & 0o777 }));',
    ].join('\n');
    const run = await runCli(
      [
        'exec',
        '--host',
        `${emu.databricks.url}/?o=${WORKSPACE}`,
        '--profile',
        'ci',
        '--',
        process.execPath,
        '-e',
        script,
      ],
      cliEnv(emu),
    );
    expect(run.code, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout) as { file: string; text: string; mode: number };
    expect(seen.mode).toBe(0o600);
    expect(seen.text).toMatch(/^\[ci\]\nhost = .*\nworkspace_id = 3141592653589793\n/);
    expect(seen.text).toContain('auth_type = metadata-service\nmetadata_service_url = http://127.0.0.1:');
    expect(() => statSync(seen.file)).toThrow();
  });

  it('a unified host without a workspace ID names --workspace-id; explain shows the host shape', async () => {
    emu = await unifiedHost();
    const run = await runCli(['token', '--host', emu.databricks.url], cliEnv(emu));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('WORKSPACE_ID_REQUIRED');
    expect(run.stderr).toContain('Set --workspace-id');
    const explain = await runCli(['explain', '--host', `${emu.databricks.url}/?w=${WORKSPACE}`], cliEnv(emu));
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toContain('Host shape: unified');
    expect(explain.stdout).toContain(
      `Token endpoint: ${emu.databricks.url}${ACCOUNT_TOKEN} (from ${emu.databricks.url}${METADATA})`,
    );
    expect(explain.stdout).toContain(`Requested audience: ${ACCOUNT}`);
  });
});
