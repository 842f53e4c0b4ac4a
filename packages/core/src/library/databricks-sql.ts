import type { DatabricksTokenProvider } from './token-provider.ts';

/** The driver refuses tokens this close to expiry (its Token.isExpired buffer). */
const EXPIRY_BUFFER_MS = 30_000;

/** The shape of `@databricks/sql`'s Token that its token-provider authenticator uses. */
export interface DatabricksSqlToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresAt: Date | undefined;
  isExpired(): boolean;
  setAuthHeader(headers: Record<string, string>): Record<string, string>;
  toJSON(): Record<string, unknown>;
}

/** `@databricks/sql`'s ITokenProvider. */
export interface DatabricksSqlTokenProvider {
  getToken(): Promise<DatabricksSqlToken>;
  getName(): string;
}

/**
 * Adapts a provider to the Databricks SQL driver (`@databricks/sql` 1.13 or later):
 * `client.connect({ host, path, authType: 'token-provider', tokenProvider: databricksSqlTokenProvider(p) })`.
 * Leave the driver's enableTokenFederation off: the token is already a Databricks token.
 */
export function databricksSqlTokenProvider(provider: DatabricksTokenProvider): DatabricksSqlTokenProvider {
  return {
    getName: () => 'databricks-oidc-login',
    async getToken() {
      const { token, expiresAt } = await provider.getCredential();
      return {
        accessToken: token,
        tokenType: 'Bearer',
        expiresAt,
        isExpired: () => expiresAt.getTime() - EXPIRY_BUFFER_MS <= Date.now(),
        setAuthHeader: (headers) => ({ ...headers, Authorization: `Bearer ${token}` }),
        // Never serialise the token itself.
        toJSON: () => ({ tokenType: 'Bearer', expiresAt: expiresAt.toISOString() }),
      };
    },
  };
}
