import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, stopMetadataService } from '../../packages/core/src/index.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import { runActionStep, runSdkMe } from './github-runner.ts';

let emu: Emulators;
let runnerTemp: string;
const started: number[] = [];

beforeEach(async () => {
  // Short lifetimes, so tests can watch tokens expire and be replaced.
  emu = await startEmulators({ github: { tokenLifetimeSeconds: 4 } });
  runnerTemp = mkdtempSync(join(tmpdir(), 'runner-temp-'));
});
afterEach(async () => {
  // Stop any service a failed test left running, then the emulators.
  await Promise.all(started.splice(0).map((pid) => stopMetadataService(pid)));
  await emu.stop();
  rmSync(runnerTemp, { recursive: true, force: true });
});

async function metadata(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GitHub Action, mode refresh', () => {
  it('serves fresh tokens to raw clients and the real SDK after the first token expired, until the post step', async () => {
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId, mode: 'refresh' },
      env: emu.github.env,
      runnerTemp,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.errors).toEqual([]);
    // The service's log is private to the job.
    const [logName] = readdirSync(runnerTemp);
    expect(statSync(join(runnerTemp, logName ?? '')).mode & 0o777).toBe(0o600);
    expect(run.code).toBe(0);

    // The step has exited; the service lives on.
    expect(isProcessAlive(pid)).toBe(true);
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    expect(run.exportedEnv).toEqual({
      DATABRICKS_HOST: emu.databricks.url,
      DATABRICKS_AUTH_TYPE: 'metadata-service',
      DATABRICKS_METADATA_SERVICE_URL: url,
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(run.masks).toContain(url);
    expect(run.visibleOutput).not.toContain(url);
    expect(run.outputs.principal).toBe(emu.servicePrincipal.applicationId);
    expect(Date.parse(run.outputs['expires-at'] ?? '')).toBeGreaterThan(Date.now());

    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': `${emu.databricks.url}/` };
    const first = await metadata(url, headers);
    expect(first.status).toBe(200);
    expect(first.body.token_type).toBe('Bearer');
    expect(first.body.access_token).toBe(emu.databricks.issuedTokens[0]);
    expect(first.body.expires_on).toBe(Math.floor(Date.parse(run.outputs['expires-at'] ?? '') / 1000));
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });

    // The protocol's refusals.
    expect((await metadata(url, { ...headers, 'X-Databricks-Metadata-Version': '2' })).status).toBe(400);
    expect((await metadata(url, { 'X-Databricks-Host': emu.databricks.url })).status).toBe(400);
    expect(
      (await metadata(url, { ...headers, 'X-Databricks-Host': 'https://other.cloud.databricks.com' })).status,
    ).toBe(403);
    expect((await metadata(`${new URL(url).origin}/guess`, headers)).status).toBe(404);

    // After the first token's expiry, a different token that the workspace accepts.
    await sleep(Number(first.body.expires_on) * 1000 - Date.now() + 200);
    const second = await metadata(url, headers);
    expect(second.status).toBe(200);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect(Number(second.body.expires_on) * 1000).toBeGreaterThan(Date.now());
    const me = await fetch(`${emu.databricks.url}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${second.body.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(emu.github.issued.length).toBeGreaterThanOrEqual(2); // a fresh ID token per refresh
    expect(await runSdkMe(run.exportedEnv)).toMatchObject({ userName: emu.servicePrincipal.applicationId });

    // The post step stops the service and confirms it.
    const post = await runActionStep('post', { state: run.state, runnerTemp });
    expect(post.code).toBe(0);
    expect(post.stdout).toContain(`Stopped the local metadata service (pid ${pid})`);
    expect(isProcessAlive(pid)).toBe(false);
    await expect(fetch(url, { headers })).rejects.toThrow();
    // The service log was shown redacted and removed.
    expect(post.stdout).toContain('Metadata service for');
    for (const token of emu.databricks.issuedTokens) expect(post.stdout).not.toContain(token);
    expect(readdirSync(runnerTemp)).toEqual([]);
  });

  it('answers 502 with a redacted reason while upstream fails, and recovers', async () => {
    const run = await runActionStep('main', {
      inputs: { host: emu.databricks.url, 'client-id': emu.servicePrincipal.applicationId, mode: 'refresh' },
      env: emu.github.env,
    });
    const pid = Number(run.state['metadata-service-pid']);
    if (pid) started.push(pid);
    expect(run.code).toBe(0);
    const url = run.exportedEnv.DATABRICKS_METADATA_SERVICE_URL ?? '';
    const headers = { 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url };
    const first = await metadata(url, headers);
    await sleep(Number(first.body.expires_on) * 1000 - Date.now() + 200);

    emu.databricks.inject({
      path: '/oidc/v1/token',
      status: 401,
      body: `{"error":"invalid_client","error_description":"rejected ${emu.github.issued[0]}"}`,
    });
    const failed = await metadata(url, headers);
    expect(failed.status).toBe(502);
    expect(String(failed.body.error_description)).toContain('EXCHANGE_REJECTED');
    for (const jwt of emu.github.issued) expect(JSON.stringify(failed.body)).not.toContain(jwt);

    const recovered = await metadata(url, headers);
    expect(recovered.status).toBe(200);
    expect(isProcessAlive(pid)).toBe(true);
  });
});
