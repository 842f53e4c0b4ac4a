import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { runActionStep, runLaterShellStep, runSdkMe, type StepRun } from './github-runner.ts';
import { processFile } from './process-info.ts';

let emu: Emulators | undefined;
let runnerTemp: string;
const started: number[] = [];

beforeEach(() => {
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});
afterEach(async () => {
  // Stop any service or process a failed test left running, then the emulators.
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await emu?.stop();
  emu = undefined;
  rmSync(runnerTemp, { recursive: true, force: true });
});

async function metadata(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(20_000) });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    ms: Date.now() - started,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function scimMe(host: string, token: string): Promise<number> {
  const response = await fetch(`${host}/api/2.0/preview/scim/v2/Me`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

/** The main step with the README's first workflow: host and client-id, every other input at its default. */
async function loginWithDefaults(e: Emulators, env: Record<string, string> = {}): Promise<StepRun> {
  const run = await runActionStep('main', {
    inputs: { host: e.databricks.url, 'client-id': e.servicePrincipal.applicationId },
    env: { ...e.github.env, ...env },
    runnerTemp,
  });
  const pid = Number(run.state['metadata-service-pid']);
  if (pid) started.push(pid);
  return run;
}

describe('GitHub Action, default inputs (mode refresh)', () => {
  it('keeps the SDK, a CLI-style metadata client and databricks-oidc-token authenticated over several token lifetimes; DATABRICKS_TOKEN works for raw requests right after the login', async () => {
    emu = await startEmulators({ github: { tokenLifetimeSeconds: 5 } });
    const e = emu;
    const run = await loginWithDefaults(e, {
      ACTIONS_RUNTIME_TOKEN: 'runtime-token-the-service-must-not-inherit',
      HTTPS_PROXY: 'http://proxy.invalid:3128',
      NO_PROXY: '127.0.0.1,localhost',
      NODE_USE_SYSTEM_CA: '1',
    });
    expect(run.errors).toEqual([]);
    expect(run.code).toBe(0);
    const pid = Number(run.state['metadata-service-pid']);
    expect(isProcessAlive(pid)).toBe(true);

    // Every kind of later step gets a credential.
    const first = e.databricks.issuedTokens[0] ?? '';
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: e.databricks.url,
      DATABRICKS_WORKSPACE_ID: e.databricks.workspaceId, // from the host's metadata
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: url,
      DATABRICKS_TOKEN: first,
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(run.outputs['metadata-service-url']).toBe(url);
    expect(run.outputs['auth-type']).toBe('oidc');
    expect(run.outputs.token).toBe(first);
    expect(run.addedPaths).toHaveLength(1);
    expect(readdirSync(run.addedPaths[0] ?? '').sort()).toEqual([
      'databricks-oidc-token',
      'databricks-oidc-token.cjs',
      'databricks-oidc-token.cmd',
    ]);
    for (const secret of [url, first, e.github.requestToken]) {
      expect(run.masks).toContain(secret);
      expect(run.visibleOutput).not.toContain(secret);
    }

    // The service's environment: proxy and CA settings yes, CI job tokens no (the request token
    // came over IPC). Linux only (process-info.ts); the unit test of the list runs everywhere.
    const environ = processFile(pid, 'environ')?.split('\0');
    if (environ) {
      expect(environ).toContain('HTTPS_PROXY=http://proxy.invalid:3128');
      expect(environ).toContain('NO_PROXY=127.0.0.1,localhost');
      expect(environ).toContain('NODE_USE_SYSTEM_CA=1');
      expect(environ.join('\n')).not.toMatch(/ACTIONS_RUNTIME_TOKEN|ACTIONS_ID_TOKEN_REQUEST|runtime-token/);
    }
    // Its log is private to the job, under a random name.
    const [logName] = readdirSync(runnerTemp);
    expect(logName).toMatch(/^databricks-oidc-login-[0-9a-f]{24}\.log$/);
    expect(statSync(join(runnerTemp, logName ?? '')).mode & 0o777).toBe(0o600);

    // Right after the login: a raw request with DATABRICKS_TOKEN, and the real SDK.
    expect(await scimMe(e.databricks.url, run.exportedEnv.DATABRICKS_TOKEN ?? '')).toBe(200);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: e.servicePrincipal.applicationId });

    // Three more token lifetimes: after each expiry, every client gets a fresh token that works.
    let expiresAt =
      Number(
        (await metadata(url, { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': e.databricks.url }))
          .body.expires_on,
      ) * 1000;
    const seen = new Set([first]);
    for (let round = 0; round < 3; round++) {
      await sleep(expiresAt - Date.now() + 300);
      expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: e.servicePrincipal.applicationId });
      // What the CLI sends: the host as the bundle spells it (here upper-case scheme and a trailing slash).
      const cli = await metadata(url, {
        'X-Databricks-Metadata-Version': '1',
        'X-Databricks-Host': `${e.databricks.url.replace('http:', 'HTTP:')}/`,
      });
      expect(cli.status).toBe(200);
      const token = String(cli.body.access_token);
      expect(await scimMe(e.databricks.url, token)).toBe(200);
      seen.add(token);
      expiresAt = Number(cli.body.expires_on) * 1000;
      expect(expiresAt).toBeGreaterThan(Date.now());
      // A later shell step: the command from the PATH the action added.
      const shell = await runLaterShellStep(
        run,
        'token=$(databricks-oidc-token) && printf %s "$token"',
        round % 2 ? 'bash' : 'sh',
      );
      expect(shell.stderr).toBe('');
      expect(shell.code).toBe(0);
      expect(shell.stdout).not.toBe(first);
      expect(await scimMe(e.databricks.url, shell.stdout)).toBe(200);
    }
    // The curl line of docs/modes-and-metadata-service.md, as a later step runs it (where curl is installed, as on every hosted runner).
    if (existsSync('/usr/bin/curl')) {
      const curl = await runLaterShellStep(
        run,
        'curl -sf -H "Authorization: Bearer $(databricks-oidc-token)" "$DATABRICKS_HOST/api/2.0/preview/scim/v2/Me"',
      );
      expect(curl.code).toBe(0);
      expect(JSON.parse(curl.stdout)).toMatchObject({ userName: e.servicePrincipal.applicationId });
    }
    expect(await scimMe(e.databricks.url, first)).toBe(401); // the first token did expire
    expect(seen.size).toBeGreaterThanOrEqual(4);
    expect(e.github.issued.length).toBeGreaterThanOrEqual(4); // a fresh ID token per refresh

    // The post step stops the service, shows its redacted log, and leaves nothing behind.
    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`Stopped the local metadata service (pid ${pid})`);
    expect(isProcessAlive(pid)).toBe(false);
    await expect(fetch(url)).rejects.toThrow();
    expect(post.stdout).toContain('Metadata service for');
    for (const token of [...e.databricks.issuedTokens, ...e.github.issued, url])
      expect(post.visibleOutput).not.toContain(token);
    expect(post.masks).toEqual([url]); // masked again before anything else in the post step
    expect(readdirSync(runnerTemp)).toEqual([]);
    // The service's secret registry stays bounded: only what can still appear is kept.
    const sizes = [...post.stdout.matchAll(/(\d+) secrets kept for redaction/g)].map((m) => Number(m[1]));
    expect(sizes.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(6);
  }, 120_000);
});

describe('GitHub Action, mode refresh inputs', () => {
  it('refuses a service lifetime that is not a number of minutes, before any request', async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'service-lifetime-minutes': '5 days' },
      env: emu.github.env,
      runnerTemp,
    });
    expect(run.code).not.toBe(0);
    expect(run.errors[0]).toContain(
      'Failed to read input service-lifetime-minutes: "5 days" is not a number of minutes [INPUT_INVALID]',
    );
    expect(emu.github.requests).toHaveLength(0);
    expect(run.state).toEqual({});
  });

  // The runners wait for a step's stdout and stderr after it exits; still open 5 s later, they
  // kill the process tree, which on Windows includes the service. An `inherit` or pipe in the
  // service's stdio would do that on Windows only, with Linux green: so check it here.
  it("holds none of the step's output streams: they close when the step exits, and the service runs on", async () => {
    emu = await startEmulators();
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId },
      env: emu.github.env,
      runnerTemp,
      closeGraceMs: 5_000,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.errors).toEqual([]);
    expect(run.closeLagMs).toBeLessThan(1_000);
    expect(isProcessAlive(pid)).toBe(true);
    // Linux also shows where the service's stdin, stdout and stderr go: nowhere, or its log.
    if (process.platform === 'linux') {
      const [logName] = readdirSync(runnerTemp);
      const targets = [0, 1, 2].map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
      expect(targets).toEqual([
        '/dev/null',
        join(runnerTemp, logName ?? ''),
        join(runnerTemp, logName ?? ''),
      ]);
    }
  });
});

describe('GitHub Action, provider azure', () => {
  it('exchanges at an Entra authority that has a path (ADFS, Azure Stack), also when refreshing', async () => {
    emu = await startEmulators();
    const e = emu;
    e.entra.authorityPath = '/adfs';
    e.entra.tokenLifetimeSeconds = 4;
    const run = await runActionStep('main', {
      inputs: {
        host: e.databricks.url,
        provider: 'azure',
        'tenant-id': e.entra.tenantId,
        'client-id': e.servicePrincipal.applicationId,
        'authority-host': `${e.entra.url}/adfs/`,
      },
      env: e.github.env,
      runnerTemp,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.errors).toEqual([]);
    const tokenPath = `/adfs/${e.entra.tenantId}/oauth2/v2.0/token`;
    expect(e.entra.requestsTo(tokenPath)).toHaveLength(1);
    expect(run.stdout).toContain(`Exchanging it with Microsoft Entra ID at ${e.entra.url}${tokenPath}`);
    await sleep(Date.parse(run.outputs['expires-at'] ?? '') - Date.now() + 300);
    const shell = await runLaterShellStep(run, 'databricks-oidc-token');
    expect(shell.code).toBe(0);
    expect(await scimMe(e.databricks.url, shell.stdout.trim())).toBe(200);
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: e.servicePrincipal.applicationId });
    expect(e.entra.requestsTo(tokenPath).length).toBeGreaterThanOrEqual(2);
    expect(e.entra.requests.filter((r) => !r.path.startsWith('/adfs/'))).toEqual([]);
  }, 60_000);
});

describe('GitHub Action, the metadata service under faults', () => {
  it('keeps serving the cached token while upstream hangs or answers 503, with bounded upstream attempts, then refreshes', async () => {
    // 90 s tokens: the service refreshes once less than 45 s remain, and serves the cached one while over 30 s remain.
    emu = await startEmulators({ github: { tokenLifetimeSeconds: 90 } });
    const e = emu;
    const run = await runActionStep('main', {
      inputs: {
        host: e.databricks.url,
        'client-id': e.servicePrincipal.applicationId,
        'timeout-seconds': '3',
      },
      env: e.github.env,
      runnerTemp,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.code).toBe(0);
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': e.databricks.url };
    const first = await metadata(url, headers);
    const firstToken = String(first.body.access_token);
    const expiresAt = Number(first.body.expires_on) * 1000;

    await sleep(expiresAt - 43_000 - Date.now()); // stale, still usable
    e.databricks.inject({ path: '/oidc/v1/token', hang: true });
    for (let i = 0; i < 200; i++)
      e.databricks.inject({ path: '/oidc/v1/token', status: 503, headers: { 'retry-after': '0' } });
    const exchangesBefore = e.databricks.requestsTo('/oidc/v1/token').length;
    const answers: Array<{ status: number; token: string; ms: number }> = [];
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      const answer = await metadata(url, headers);
      answers.push({ status: answer.status, token: String(answer.body.access_token), ms: answer.ms });
      await sleep(200);
    }
    // Every client got the still-valid token, in time for the SDKs' 10-second timeout.
    expect(answers.length).toBeGreaterThanOrEqual(10);
    for (const answer of answers) expect(answer).toMatchObject({ status: 200, token: firstToken });
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(10_000);
    // Upstream saw a few refreshes (backoff), not one per client request.
    const attempts = e.databricks.requestsTo('/oidc/v1/token').length - exchangesBefore;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(12);
    expect(attempts).toBeLessThan(answers.length);

    // Upstream recovers: the service refreshes by itself on a later request.
    e.databricks.clearFaults();
    let fresh = firstToken;
    for (let i = 0; i < 40 && fresh === firstToken; i++) {
      await sleep(500);
      const answer = await metadata(url, headers);
      if (answer.status === 200) fresh = String(answer.body.access_token);
    }
    expect(fresh).not.toBe(firstToken);
    expect(await scimMe(e.databricks.url, fresh)).toBe(200);
  }, 150_000);

  it('after expiry answers a clear 502 within 10 s while upstream fails, with bounded attempts, and recovers', async () => {
    emu = await startEmulators({ github: { tokenLifetimeSeconds: 4 } });
    const e = emu;
    const run = await loginWithDefaults(e);
    expect(run.code).toBe(0);
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': e.databricks.url };
    const first = await metadata(url, headers);
    await sleep(Number(first.body.expires_on) * 1000 - Date.now() + 200);

    // A rejection that echoes the ID token: the reason says what failed, redacted.
    e.databricks.inject({
      path: '/oidc/v1/token',
      status: 401,
      body: `{"error":"invalid_client","error_description":"rejected ${e.github.issued[0]}"}`,
    });
    const rejected = await metadata(url, headers);
    expect(rejected.status).toBe(502);
    expect(String(rejected.body.error_description)).toContain('EXCHANGE_REJECTED');
    for (const jwt of e.github.issued) expect(JSON.stringify(rejected.body)).not.toContain(jwt);

    // Upstream keeps failing: clients keep asking, each gets a clear 502 in time, upstream sees few attempts.
    for (let i = 0; i < 300; i++)
      e.databricks.inject({ path: '/oidc/v1/token', status: 503, headers: { 'retry-after': '0' } });
    const exchangesBefore = e.databricks.requestsTo('/oidc/v1/token').length;
    const answers: Array<{ status: number; reason: string; ms: number }> = [];
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      const answer = await metadata(url, headers);
      answers.push({ status: answer.status, reason: String(answer.body.error_description), ms: answer.ms });
      await sleep(150);
    }
    expect(answers.length).toBeGreaterThanOrEqual(15);
    for (const answer of answers) {
      expect(answer.status).toBe(502);
      expect(answer.reason).toMatch(/^no usable token: the last refresh failed/);
      expect(answer.ms).toBeLessThan(10_000);
    }
    expect(answers.some((a) => a.reason.includes('HTTP 503'))).toBe(true);
    const attempts = e.databricks.requestsTo('/oidc/v1/token').length - exchangesBefore;
    expect(attempts).toBeLessThanOrEqual(16); // without backoff: 4 per client request
    expect(attempts).toBeLessThan(answers.length);

    e.databricks.clearFaults();
    let recovered = 0;
    for (let i = 0; i < 40 && recovered !== 200; i++) {
      await sleep(500);
      recovered = (await metadata(url, headers)).status;
    }
    expect(recovered).toBe(200);
  }, 90_000);
});

describe('GitHub Action post step', () => {
  it('refuses to signal a PID that is not its metadata service, and says so', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    const sleeperPid = sleeper.pid ?? 0;
    try {
      // The state names an unrelated process, and a service URL where nothing answers.
      const post = await runActionStep('post', {
        state: { 'metadata-service-pid': String(sleeperPid), 'metadata-service-url': 'http://127.0.0.1:9/x' },
        runnerTemp,
      });
      expect(post.code).toBe(0);
      expect(post.stdout).toContain(
        `Left pid ${sleeperPid} alone: it does not answer as the metadata service`,
      );
      expect(post.stdout).not.toContain('Stopped');
      expect(isProcessAlive(sleeperPid)).toBe(true);

      // The state's PID is unrelated, but the URL is a real service of this job: still hands off.
      emu = await startEmulators();
      const run = await loginWithDefaults(emu);
      const servicePid = Number(run.state['metadata-service-pid']);
      const tampered = await runActionStep('post', {
        state: { ...run.state, 'metadata-service-pid': String(sleeperPid) },
        runnerTemp,
      });
      expect(tampered.stdout).toContain(
        `Left pid ${sleeperPid} alone: the metadata service this job started runs as pid ${servicePid}`,
      );
      expect(isProcessAlive(sleeperPid)).toBe(true);
      expect(isProcessAlive(servicePid)).toBe(true);

      // Once the service is gone, the post step says so instead of claiming it stopped it.
      await stopMetadataService(servicePid);
      const gone = await runActionStep('post', { state: run.state, runnerTemp });
      expect(gone.stdout).toContain(`The local metadata service (pid ${servicePid}) had already stopped`);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 60_000);

  it('follows no symlink: a planted link at a log path is neither written nor shown, and its target survives', async () => {
    emu = await startEmulators();
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    try {
      const target = join(outside, 'victim.txt');
      writeFileSync(target, 'do not touch\n', { mode: 0o644 });
      // Links where an older version (or a guess) would have put the log.
      const planted = [
        'databricks-oidc-login.log',
        ...Array.from({ length: 50 }, (_, i) => `databricks-oidc-login-${process.pid + i}.log`),
      ];
      for (const name of planted) symlinkSync(target, join(runnerTemp, name));
      const run = await loginWithDefaults(emu);
      expect(run.code).toBe(0);
      const logFile = run.state['metadata-service-log'] ?? '';
      expect(logFile).toMatch(/databricks-oidc-login-[0-9a-f]{24}\.log$/);
      expect(statSync(logFile).mode & 0o777).toBe(0o600);

      // A link swapped in for the log after the start: the post step removes the link, shows nothing of the target.
      rmSync(logFile);
      symlinkSync(target, logFile);
      const post = await runActionStep('post', { state: run.state, runnerTemp });
      expect(post.code).toBe(0);
      expect(post.stdout).not.toContain('do not touch');
      expect(readFileSync(target, 'utf8')).toBe('do not touch\n');
      expect(statSync(target).mode & 0o777).toBe(0o644);
      expect(readdirSync(runnerTemp).sort()).toEqual([...planted].sort());
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  }, 60_000);
});
