import { describe, expect, it } from 'vitest';
import { type Credential, TokenProvider } from '../src/index.ts';

/** A fake clock and an upstream that mints numbered tokens of a given lifetime, or fails on demand. */
function setup(lifetimeMs: number) {
  let now = 1_000_000;
  let minted = 0;
  let failing = false;
  let calls = 0;
  const upstream = async (): Promise<Credential> => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (failing) throw new Error('upstream down');
    minted++;
    return { token: `t${minted}`, expiresAt: new Date(now + lifetimeMs) };
  };
  const provider = new TokenProvider(upstream, undefined, () => now);
  return {
    provider,
    minted: () => minted,
    calls: () => calls,
    fail: (value: boolean) => {
      failing = value;
    },
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

  it('refreshes a long-lived token once less than 2 minutes remain, and hands out the new one', async () => {
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

  it('keeps serving a cached token with more than 30 s left while refreshes fail, and backs off', async () => {
    const { provider, advance, fail, calls } = setup(5 * 60_000);
    expect((await provider.getCredential()).token).toBe('t1');
    advance(3 * 60_000 + 1); // stale: less than 2 min left
    fail(true);
    // Many callers, no usable fresh token: each gets t1, and upstream sees one attempt per backoff step.
    for (let i = 0; i < 50; i++) expect((await provider.getCredential()).token).toBe('t1');
    expect(calls()).toBe(2);
    advance(999);
    await provider.getCredential();
    expect(calls()).toBe(2); // still inside the 1 s backoff
    advance(1);
    await provider.getCredential();
    expect(calls()).toBe(3); // then 2 s
    advance(1_999);
    await provider.getCredential();
    expect(calls()).toBe(3);
    expect(provider.retryInMs).toBe(1);
    fail(false);
    advance(1);
    expect((await provider.getCredential()).token).toBe('t2');
    expect(provider.retryInMs).toBe(0);
  });

  it('fails callers once nothing usable is left, at once while backing off, then recovers', async () => {
    const { provider, advance, fail, calls } = setup(20_000); // never more than 30 s left: never "usable"
    await provider.getCredential();
    advance(15_000);
    fail(true);
    await expect(Promise.all([provider.getCredential(), provider.getCredential()])).rejects.toThrow(
      'upstream down',
    );
    expect(calls()).toBe(2); // one refresh for both callers
    await expect(provider.getCredential()).rejects.toThrow('upstream down'); // backoff: no new attempt
    expect(calls()).toBe(2);
    fail(false);
    advance(1_000);
    expect((await provider.getCredential()).token).toBe('t2');
  });

  it('serves the usable cached token when a refresh is slow, and the new one once it lands', async () => {
    let now = 0;
    let release: (c: Credential) => void = () => {};
    const provider = new TokenProvider(
      () => new Promise<Credential>((resolve) => (release = resolve)),
      { token: 'old', expiresAt: new Date(300_000) },
      { now: () => now, usableWaitMs: 50 },
    );
    now = 200_000; // 100 s left: stale but usable
    expect((await provider.getCredential()).token).toBe('old');
    release({ token: 'new', expiresAt: new Date(600_000) });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect((await provider.getCredential()).token).toBe('new');
    expect(provider.refreshes).toBe(1);
  });
});
