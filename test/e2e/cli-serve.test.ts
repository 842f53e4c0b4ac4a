import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CiIssuer } from '../emulators/ci-issuers.ts';
import { type Emulators, startEmulators } from '../emulators/index.ts';
import {
  JWT_SHAPE,
  jobEnv,
  type RunningCli,
  runCli,
  startCli,
  stopCli,
  tempDir,
  waitFor,
} from './cli-runner.ts';

const AUDIENCE = 'databricks';
let emu: Emulators;
let cluster: CiIssuer;
let dir: ReturnType<typeof tempDir>;
let cli: RunningCli | undefined;

beforeEach(async () => {
  emu = await startEmulators();
  cluster = await CiIssuer.create('aks');
  emu.databricks.trust(cluster.jwt);
  emu.servicePrincipal.policies.push({
    issuer: cluster.jwt.issuer,
    audiences: [AUDIENCE],
    subject: String(cluster.claims.sub),
  });
  dir = tempDir('cli-serve-');
});
afterEach(async () => {
  await stopCli(cli);
  cli = undefined;
  await emu.stop();
  dir.remove();
});

const headers = () => ({ 'X-Databricks-Metadata-Version': '1', 'X-Databricks-Host': emu.databricks.url });
async function ask(url: string): Promise<{ access_token: string; expires_on: number }> {
  const response = await fetch(url, { headers: headers() });
  expect(response.status).toBe(200);
  return (await response.json()) as { access_token: string; expires_on: number };
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function podEnv(tokenFile: string): Record<string, string> {
  return jobEnv({
    DATABRICKS_HOST: emu.databricks.url,
    DATABRICKS_CLIENT_ID: emu.servicePrincipal.applicationId,
    DATABRICKS_OIDC_TOKEN_FILEPATH: tokenFile,
  });
}

describe('databricks-oidc-login serve', () => {
  it('writes the URL to a 0600 file, serves tokens minted from the rotated file, and exits 0 on SIGTERM', async () => {
    const tokenFile = join(dir.path, 'token');
    const urlFile = join(dir.path, 'shared', 'metadata-url');
    const first = await cluster.mint(AUDIENCE, 4);
    writeFileSync(tokenFile, first);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir.path, 'shared'));
    cli = startCli(['serve', '--url-file', urlFile], podEnv(tokenFile));
    await waitFor(() => existsSync(urlFile) && readFileSync(urlFile, 'utf8').endsWith('\n'), 'the URL file');
    expect(statSync(urlFile).mode & 0o777).toBe(0o600);
    const url = readFileSync(urlFile, 'utf8').trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{43}$/);
    expect(cli.stdout()).toBe('');

    const one = await ask(url);
    expect(one.access_token).toBe(emu.databricks.issuedTokens[0]);
    expect(emu.databricks.requestsTo('/oidc/v1/token')[0]?.form.get('subject_token')).toBe(first);

    // The kubelet replaces the file; after the first token's expiry the service uses the new one.
    const second = await cluster.mint(AUDIENCE, 60);
    writeFileSync(tokenFile, `${second}\n`);
    await sleep(one.expires_on * 1000 - Date.now() + 300);
    const two = await ask(url);
    expect(two.access_token).not.toBe(one.access_token);
    expect(emu.databricks.requestsTo('/oidc/v1/token').at(-1)?.form.get('subject_token')).toBe(second);
    const me = await fetch(`${emu.databricks.url}/api/2.0/preview/scim/v2/Me`, {
      headers: { authorization: `Bearer ${two.access_token}` },
    });
    expect(me.status).toBe(200);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(urlFile)).toBe(false);
    await expect(fetch(url, { headers: headers() })).rejects.toThrow();
    expect(cli.stderr()).not.toMatch(JWT_SHAPE);
    expect(cli.stderr()).not.toContain(url);
  });

  it('without --url-file prints the URL on stdout, on a fixed --port, and exits 0 on SIGINT', async () => {
    const tokenFile = join(dir.path, 'token');
    writeFileSync(tokenFile, await cluster.mint(AUDIENCE, 300));
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    cli = startCli(['serve', '--port', String(port), '--quiet'], podEnv(tokenFile));
    await waitFor(() => cli?.stdout().endsWith('\n') ?? false, 'the URL on stdout');
    const url = cli.stdout().trim();
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/[A-Za-z0-9_-]{43}$`));
    expect((await ask(url)).access_token).toBe(emu.databricks.issuedTokens[0]);
    // The random path guards the fixed port.
    expect((await fetch(`http://127.0.0.1:${port}/`, { headers: headers() })).status).toBe(404);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr()).toBe('');
  });

  it('a --port in use is one clear error', async () => {
    const tokenFile = join(dir.path, 'token');
    writeFileSync(tokenFile, await cluster.mint(AUDIENCE, 300));
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const address = busy.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const run = await runCli(['serve', '--port', String(port)], podEnv(tokenFile));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`Failed to serve on 127.0.0.1:${port}: EADDRINUSE [INPUT_INVALID]`);
      expect(run.stdout).toBe('');
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
