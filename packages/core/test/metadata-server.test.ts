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
