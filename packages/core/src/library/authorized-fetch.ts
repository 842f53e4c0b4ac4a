import type { DatabricksTokenProvider } from './token-provider.ts';

/**
 * A `fetch` that sets `Authorization: Bearer <fresh token>` on every request; relative paths
 * resolve against the Databricks host, e.g. `await databricksFetch('/api/2.0/clusters/list')`, and on
 * a unified host carry the workspace's X-Databricks-Workspace-Id.
 */
export function authorizedFetch(
  provider: DatabricksTokenProvider,
  fetchImpl: typeof fetch = fetch,
): (input: string | URL, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const token = await provider.getToken();
    const relative = typeof input === 'string' && input.startsWith('/');
    const url = relative ? `${await provider.getHost()}${input}` : input;
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    // A path on the Databricks host is a workspace call: a unified host routes it by this header.
    if (relative)
      for (const [name, value] of Object.entries(await provider.getWorkspaceHeaders()))
        if (!headers.has(name)) headers.set(name, value);
    return fetchImpl(url, { ...init, headers });
  };
}
