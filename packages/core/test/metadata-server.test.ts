import { describe, expect, it } from 'vitest';
import { SecretRegistry, silentLogger, startMetadataServer, TokenProvider } from '../src/index.ts';

const headers = {
  'X-Databricks-Metadata-Version': '1',
  'X-Databricks-Host': 'https://adb-1.2.azuredatabricks.net',
};

describe('the metadata server', () => {
  it('serves under a random path, then stops by itself at its maximum lifetime', async () => {
    const provider = new TokenProvider(async () => ({
      token: 'tok',
      expiresAt: new Date(Date.now() + 3_600_000),
    }));
    let closed = false;
    const server = await startMetadataServer({
      host: 'https://adb-1.2.azuredatabricks.net',
      provider,
      secrets: new SecretRegistry(),
      log: silentLogger,
      maxLifetimeMs: 300,
      onClose: () => {
        closed = true;
      },
    });
    try {
      const response = await fetch(server.url, { headers });
      expect(await response.json()).toMatchObject({ access_token: 'tok', token_type: 'Bearer' });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(closed).toBe(true);
      await expect(fetch(server.url, { headers })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('registers its URL as a secret, so no log can show it', async () => {
    const secrets = new SecretRegistry();
    const provider = new TokenProvider(async () => ({
      token: 'tok',
      expiresAt: new Date(Date.now() + 3_600_000),
    }));
    const server = await startMetadataServer({
      host: 'https://h.example',
      provider,
      secrets,
      log: silentLogger,
    });
    try {
      expect(secrets.redact(`service at ${server.url}`)).toBe('service at ***');
    } finally {
      await server.close();
    }
  });
});

describe('the metadata server under a slow or failing upstream', () => {
  it('accepts the host in another letter case, with an explicit default port or a trailing slash; refuses others', async () => {
    const provider = new TokenProvider(async () => ({
      token: 'tok',
      expiresAt: new Date(Date.now() + 3_600_000),
    }));
    const server = await startMetadataServer({
      host: 'https://adb-1.2.azuredatabricks.net',
      provider,
      secrets: new SecretRegistry(),
      log: silentLogger,
    });
    const status = async (host: string) =>
      (await fetch(server.url, { headers: { ...headers, 'X-Databricks-Host': host } })).status;
    try {
      for (const host of [
        'https://adb-1.2.azuredatabricks.net',
        'https://ADB-1.2.AzureDatabricks.net',
        'https://adb-1.2.azuredatabricks.net:443',
        'HTTPS://adb-1.2.azuredatabricks.net:443/',
        'https://adb-1.2.azuredatabricks.net/?o=2',
        'adb-1.2.azuredatabricks.net',
      ])
        expect(await status(host), host).toBe(200);
      for (const host of [
        'https://adb-1.2.azuredatabricks.net:8443',
        'http://adb-1.2.azuredatabricks.net',
        'https://adb-1.3.azuredatabricks.net',
        'https://adb-1.2.azuredatabricks.net.evil.example',
      ])
        expect(await status(host), host).toBe(403);
    } finally {
      await server.close();
    }
  });

  it('answers 502 within its deadline when no usable token is cached and the refresh hangs', async () => {
    const provider = new TokenProvider(() => new Promise(() => {}));
    const log: string[] = [];
    const server = await startMetadataServer({
      host: 'https://adb-1.2.azuredatabricks.net',
      provider,
      secrets: new SecretRegistry(),
      log: { ...silentLogger, warn: (m) => log.push(m) },
      answerWithinMs: 300,
    });
    try {
      const response = await fetch(server.url, { headers, signal: AbortSignal.timeout(5_000) });
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error_description: string }).error_description).toContain(
        'taking longer than 0.3 s',
      );
      expect(log[0]).toContain('Answered 502');
    } finally {
      await server.close();
    }
  });

  it('tells a post step its PID when asked at its secret path only', async () => {
    const provider = new TokenProvider(async () => ({
      token: 'tok',
      expiresAt: new Date(Date.now() + 3_600_000),
    }));
    const server = await startMetadataServer({
      host: 'https://h.example',
      provider,
      secrets: new SecretRegistry(),
      log: silentLogger,
    });
    try {
      const identify = { 'X-Databricks-Oidc-Login-Identify': '1' };
      expect(await (await fetch(server.url, { headers: identify })).json()).toEqual({
        service: 'databricks-oidc-login',
        pid: process.pid,
      });
      expect((await fetch(`${new URL(server.url).origin}/`, { headers: identify })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
