import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../../../test/emulators/index.ts';
import {
  environmentIdTokenSource,
  fileIdTokenSource,
  LoginError,
  login,
  SecretRegistry,
  silentLogger,
} from '../src/index.ts';

let emu: Emulators;
let dir: string;
beforeEach(async () => {
  emu = await startEmulators();
  dir = mkdtempSync(join(tmpdir(), 'idtoken-'));
});
afterEach(async () => {
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A token the emulated GitHub issues for the default audience, as another CI would hand it over. */
async function externalToken(): Promise<string> {
  return emu.github.jwt.sign({ ...emu.github.claims, aud: `${emu.databricks.url}/oidc/v1/token` }, 300);
}

describe('token sources other than GitHub', () => {
  it('logs in with a token from a file, re-read on every call', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${await externalToken()}\n`);
    const result = await login({
      host: emu.databricks.url,
      clientId: emu.servicePrincipal.applicationId,
      idTokenSource: fileIdTokenSource(file),
      secrets: new SecretRegistry(),
      log: silentLogger,
    });
    expect(result.principal).toBe(emu.servicePrincipal.applicationId);
    expect(result.credential.token).toBe(emu.databricks.issuedTokens.at(-1));
  });

  it('logs in with a token from an environment variable', async () => {
    const result = await login({
      host: emu.databricks.url,
      clientId: emu.servicePrincipal.applicationId,
      idTokenSource: environmentIdTokenSource('MY_OIDC_TOKEN', { MY_OIDC_TOKEN: await externalToken() }),
      secrets: new SecretRegistry(),
      log: silentLogger,
    });
    expect(result.principal).toBe(emu.servicePrincipal.applicationId);
  });

  it('fails clearly on a missing file or an empty variable', async () => {
    const options = { host: emu.databricks.url, secrets: new SecretRegistry(), log: silentLogger };
    await expect(
      login({ ...options, idTokenSource: fileIdTokenSource(join(dir, 'nope')) }),
    ).rejects.toMatchObject({
      code: 'ID_TOKEN_UNAVAILABLE',
      message: expect.stringContaining('ENOENT'),
    });
    await expect(
      login({ ...options, idTokenSource: environmentIdTokenSource('EMPTY', {}) }),
    ).rejects.toBeInstanceOf(LoginError);
  });
});
