import { describe, expect, it } from 'vitest';
import { type Credential, TokenProvider } from '../src/index.ts';

/** A fake clock and an upstream that mints numbered tokens of a given lifetime. */
function setup(lifetimeMs: number) {
  let now = 1_000_000;
  let minted = 0;
  const upstream = async (): Promise<Credential> => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    minted++;
    return { token: `t${minted}`, expiresAt: new Date(now + lifetimeMs) };
  };
  const provider = new TokenProvider(upstream, undefined, () => now);
  return {
    provider,
    minted: () => minted,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TokenProvider', () => {
  it('makes exactly one upstream request for 1,000 concurrent callers', async () => {
    const { provider, minted } = setup(60_000);
    const results = await Promise.all(Array.from({ length: 1000 }, () => provider.getCredential()));
    expect(minted()).toBe(1);
    expect(new Set(results.map((c) => c.token))).toEqual(new Set(['t1']));
  });

  it('refreshes a long-lived token once less than 2 minutes remain', async () => {
    const { provider, advance } = setup(60 * 60_000);
    expect((await provider.getCredential()).token).toBe('t1');
    advance(58 * 60_000 - 1); // 2 min + 1 ms left
    expect((await provider.getCredential()).token).toBe('t1');
    advance(2);
    expect((await provider.getCredential()).token).toBe('t2');
  });

  it('refreshes a short-lived token once less than half its lifetime remains', async () => {
    const { provider, advance } = setup(4_000);
    await provider.getCredential();
    advance(1_999);
    expect((await provider.getCredential()).token).toBe('t1');
    advance(2);
    expect((await provider.getCredential()).token).toBe('t2');
  });

  it('lets a failed refresh fail its callers, and tries again on the next call', async () => {
    let fail = true;
    const provider = new TokenProvider(async () => {
      if (fail) throw new Error('upstream down');
      return { token: 'ok', expiresAt: new Date(Date.now() + 60_000) };
    });
    await expect(Promise.all([provider.getCredential(), provider.getCredential()])).rejects.toThrow(
      'upstream down',
    );
    expect(provider.refreshes).toBe(1);
    fail = false;
    expect((await provider.getCredential()).token).toBe('ok');
  });
});
