import type { Credential } from '../exchange/credential.ts';

const MAX_EARLY_REFRESH_MS = 120_000;
/** Azure Databricks rejects tokens with 30 s or less left; the SDKs refresh 40 s early. */
export const MIN_USABLE_LIFETIME_MS = 30_000;
const FIRST_BACKOFF_MS = 1_000;
const USABLE_WAIT_MS = 2_000;
const MAX_BACKOFF_MS = 30_000;

export interface TokenRefreshOptions {
  /** The clock, injectable for tests. */
  now?: (() => number) | undefined;
  /** A cached token with more than this left is served while a refresh fails or runs (default 30 s). */
  minUsableMs?: number | undefined;
  /** Wait after the first failed refresh; doubles per further failure (default 1 s). */
  firstBackoffMs?: number | undefined;
  /** Longest wait between failed refreshes (default 30 s). */
  maxBackoffMs?: number | undefined;
  /** How long a caller waits for a running refresh before it gets the still-usable cached token (default 2 s). */
  usableWaitMs?: number | undefined;
}

/**
 * Caches a credential and refreshes it through a single request in flight, however many
 * callers ask at once. A token is refreshed once less than min(half its lifetime, 2 minutes)
 * remains, so callers that refresh 40 s early (the Databricks SDKs) always get a usable one.
 *
 * A failed refresh never takes away a token that still has more than 30 s left: callers keep
 * getting it, and the refresh is tried again after a backoff (1 s, doubling to 30 s) rather than
 * on every call, so upstream sees a bounded number of attempts however often callers ask.
 */
export class TokenProvider {
  #current: { credential: Credential; obtainedAt: number } | undefined;
  #inFlight: Promise<Credential> | undefined;
  #failures = 0;
  #nextAttemptAt = 0;
  #lastError: unknown;
  readonly #now: () => number;
  readonly #minUsableMs: number;
  readonly #firstBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #usableWaitMs: number;
  /** How many times the upstream fetch ran (for tests and the benchmark). */
  refreshes = 0;

  constructor(
    private readonly fetchCredential: () => Promise<Credential>,
    initial?: Credential,
    clockOrOptions?: (() => number) | TokenRefreshOptions,
  ) {
    const options = typeof clockOrOptions === 'function' ? { now: clockOrOptions } : (clockOrOptions ?? {});
    this.#now = options.now ?? Date.now;
    this.#minUsableMs = options.minUsableMs ?? MIN_USABLE_LIFETIME_MS;
    this.#firstBackoffMs = options.firstBackoffMs ?? FIRST_BACKOFF_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? MAX_BACKOFF_MS;
    this.#usableWaitMs = options.usableWaitMs ?? USABLE_WAIT_MS;
    if (initial) this.#current = { credential: initial, obtainedAt: this.#now() };
  }

  /** The cached credential, if any, whatever its age. */
  get cached(): Credential | undefined {
    return this.#current?.credential;
  }

  /** True when the cached credential should be replaced before it is handed out. */
  #isStale(): boolean {
    const current = this.#current;
    if (!current) return true;
    const expiresAt = current.credential.expiresAt.getTime();
    const lifetime = expiresAt - current.obtainedAt;
    return expiresAt - this.#now() < Math.min(lifetime / 2, MAX_EARLY_REFRESH_MS);
  }

  /** The cached credential while it has more than the usable minimum left. */
  #usable(): Credential | undefined {
    const credential = this.#current?.credential;
    return credential && credential.expiresAt.getTime() - this.#now() > this.#minUsableMs
      ? credential
      : undefined;
  }

  #startRefresh(): Promise<Credential> {
    this.refreshes++;
    const refresh = this.fetchCredential().then(
      (credential) => {
        this.#current = { credential, obtainedAt: this.#now() };
        this.#failures = 0;
        this.#nextAttemptAt = 0;
        this.#lastError = undefined;
        return credential;
      },
      (error: unknown) => {
        this.#failures++;
        const wait = Math.min(this.#maxBackoffMs, this.#firstBackoffMs * 2 ** (this.#failures - 1));
        this.#nextAttemptAt = this.#now() + wait;
        this.#lastError = error;
        throw error;
      },
    );
    this.#inFlight = refresh.finally(() => {
      this.#inFlight = undefined;
    });
    // Callers that were served the cached token do not wait for this one; keep it from going unhandled.
    this.#inFlight.catch(() => {});
    return this.#inFlight;
  }

  /**
   * A usable credential: the cached one while fresh; when stale, a refresh (one in flight at a
   * time), or the cached one while it is still usable and the refresh is slow (over 2 s) or
   * fails. Throws the refresh's error once nothing usable is left, at once while backing off.
   */
  async getCredential(): Promise<Credential> {
    if (!this.#isStale() && this.#current) return this.#current.credential;
    const mayAttempt = this.#now() >= this.#nextAttemptAt;
    const inFlight = this.#inFlight ?? (mayAttempt ? this.#startRefresh() : undefined);
    const usable = this.#usable();
    if (!usable) {
      if (inFlight) return inFlight;
      throw this.#lastError;
    }
    if (!inFlight) return usable;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<Credential>((resolve) => {
      timer = setTimeout(() => resolve(usable), this.#usableWaitMs);
    });
    try {
      return await Promise.race([inFlight.catch(() => usable), waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Milliseconds until the next refresh may start after failures (0 when one may start now). */
  get retryInMs(): number {
    return Math.max(0, this.#nextAttemptAt - this.#now());
  }
}
