import type { HttpClient } from './net/http.ts';
import { parseJsonObject } from './net/http.ts';

/** The audience to request, and why it was chosen (shown in logs and diagnostics). */
export interface ResolvedAudience {
  audience: string;
  source: string;
}

export const ENTRA_AUDIENCE = 'api://AzureADTokenExchange';
const METADATA_TIMEOUT_MS = 3_000;

export interface AudienceQuery {
  explicit?: string | undefined;
  /** An audience the token source imposes (Azure DevOps always issues api://AzureADTokenExchange). */
  fixed?: string | undefined;
  /** Where a token minted elsewhere gets its audience; the token's own `aud` is then used. */
  setWhereMinted?: string | undefined;
  provider: 'databricks' | 'azure';
  host: string;
  accountId?: string | undefined;
  tokenEndpoint: string;
}

/**
 * Picks the ID token audience the way the Databricks SDKs do, so one federation policy serves
 * this step and the CLI's own OIDC auth: input, Entra's fixed audience, host metadata, account
 * ID, then the token endpoint.
 */
export async function resolveAudience(query: AudienceQuery, http: HttpClient): Promise<ResolvedAudience> {
  if (query.setWhereMinted) {
    // Empty: nothing can be requested; the exchange uses the token's own aud claim.
    return {
      audience: '',
      source: `the token as minted (its audience is set in ${query.setWhereMinted}${query.explicit ? '; the audience input cannot change it' : ''})`,
    };
  }
  if (query.explicit) return { audience: query.explicit, source: 'the audience input' };
  if (query.fixed) return { audience: query.fixed, source: 'the token source, which always uses it' };
  if (query.provider === 'azure')
    return { audience: ENTRA_AUDIENCE, source: 'provider azure (Entra ID workload identity)' };
  const fromMetadata = await defaultAudienceFromHostMetadata(query.host, http);
  if (fromMetadata) return { audience: fromMetadata, source: `${query.host}/.well-known/databricks-config` };
  if (query.accountId)
    return {
      audience: query.accountId,
      source: 'the account ID (the default of account federation policies)',
    };
  return { audience: query.tokenEndpoint, source: 'the token endpoint (the Databricks SDKs default)' };
}

/** Best effort: one short request, no retry; any failure means "no opinion". */
async function defaultAudienceFromHostMetadata(host: string, http: HttpClient): Promise<string | undefined> {
  try {
    const response = await http.send({
      method: 'GET',
      url: `${host}/.well-known/databricks-config`,
      step: 'read the host metadata',
      retry: false,
      timeoutMs: Math.min(METADATA_TIMEOUT_MS, http.timeoutMs),
    });
    if (response.status !== 200) return undefined;
    const audiences = parseJsonObject(response.body)?.token_federation_default_oidc_audiences;
    const first: unknown = Array.isArray(audiences) ? audiences[0] : undefined;
    return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
  } catch {
    return undefined;
  }
}
