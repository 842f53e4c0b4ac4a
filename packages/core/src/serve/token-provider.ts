import type { Credential } from '../exchange/credential.ts';

const MAX_EARLY_REFRESH_MS = 120_000;

/**
 * Caches a credential and refreshes it through a single request in flight, however many
 * callers ask at once. A token is refreshed once less than min(half its lifetime, 2 minutes)
 * remains, so callers that refresh 40 s early (the Databricks SDKs) always get a usable one.
 */
export class TokenProvider {
  #current: { credential: Credential; obtainedAt: number } | undefined;
  #inFlight: Promise<Credential> | undefined;
  /** How many times the upstream fetch ran (for tests and the benchmark). */
  refreshes = 0;

  constructor(
    private readonly fetchCredential: () => Promise<Credential>,
    initial?: Credential,
    private readonly now: () => number = Date.now,
  ) {
    if (initial) this.#current = { credential: initial, obtainedAt: now() };
  }

  /** True when the cached credential should be replaced before it is handed out. */
  #isStale(): boolean {
    const current = this.#current;
    if (!current) return true;
    const expiresAt = current.credential.expiresAt.getTime();
    const lifetime = expiresAt - current.obtainedAt;
    return expiresAt - this.now() < Math.min(lifetime / 2, MAX_EARLY_REFRESH_MS);
  }

  /** A usable credential: the cached one, or a fresh one from the single refresh in flight. */
  async getCredential(): Promise<Credential> {
    if (!this.#isStale() && this.#current) return this.#current.credential;
    if (!this.#inFlight) {
      this.refreshes++;
      this.#inFlight = this.fetchCredential()
        .then((credential) => {
          this.#current = { credential, obtainedAt: this.now() };
          return credential;
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
    }
    return this.#inFlight;
  }
}
