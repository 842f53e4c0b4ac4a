import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulators, startEmulators } from '../../../test/emulators/index.ts';
import { createTokenProvider, type IdTokenSource, LoginError } from '../src/index.ts';

let emu: Emulators;
beforeEach(async () => {
  emu = await startEmulators();
});
afterEach(async () => {
  await emu.stop();
});

/** A caller's own source: here, the emulated GitHub runner, asked directly. */
function githubSource(): IdTokenSource {
  return {
    description: 'my own source',
    async getIdToken(audience) {
      const url = new URL(emu.github.requestUrl);
      url.searchParams.set('audience', audience);
      const response = await fetch(url, { headers: { authorization: `Bearer ${emu.github.requestToken}` } });
      return ((await response.json()) as { value: string }).value;
    },
  };
}

describe('createTokenProvider', () => {
  it('logs in once for many concurrent callers, with a caller-given source and no detection', async () => {
    const lines: string[] = [];
    const provider = createTokenProvider({
      host: emu.databricks.url,
      clientId: emu.servicePrincipal.applicationId,
      idTokenSource: githubSource(),
      env: {},
      log: { info: (m) => lines.push(m), warn: (m) => lines.push(m), debug() {} },
    });
    const tokens = await Promise.all(Array.from({ length: 5 }, () => provider.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(emu.databricks.issuedTokens).toEqual([tokens[0]]);
    expect(await provider.getHost()).toBe(emu.databricks.url);
    expect(lines[0]).toBe('Token source: my own source (given by the caller).');
    for (const line of lines) expect(line).not.toContain(tokens[0]);
  });

  it('throws the LoginError the tool would print, and tries again on the next call', async () => {
    const env: NodeJS.ProcessEnv = {};
    const provider = createTokenProvider({
      host: emu.databricks.url,
      clientId: emu.servicePrincipal.applicationId,
      env,
    });
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginError);
    // Auth type auto found no ID token, no client secret and no PAT: one error lists all three.
    expect((error as LoginError).code).toBe('CREDENTIALS_MISSING');
    expect((error as LoginError).message).toContain('no ID token');
    // The same provider starts over once the job can get an ID token.
    Object.assign(env, emu.github.env);
    expect(emu.databricks.issuedTokens).toContain(await provider.getToken());
  });
});
