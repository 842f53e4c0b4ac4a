import type { DatabricksTokenProvider } from './token-provider.ts';

/**
 * A `fetch` that sets `Authorization: Bearer <fresh token>` on every request; relative paths
 * resolve against the Databricks host, e.g. `await databricksFetch('/api/2.0/clusters/list')`.
 */
export function authorizedFetch(
  provider: DatabricksTokenProvider,
  fetchImpl: typeof fetch = fetch,
): (input: string | URL, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const token = await provider.getToken();
    const url =
      typeof input === 'string' && input.startsWith('/') ? `${await provider.getHost()}${input}` : input;
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(url, { ...init, headers });
  };
}
