import type { Logger } from './explain/logger.ts';
import { silentLogger } from './explain/logger.ts';
import { quoteInput } from './explain/printable.ts';
import { assertLength, assertPrintable } from './net/host.ts';
import type { HttpClient } from './net/http.ts';
import { parseJsonObject } from './net/http.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

/** The audience to request, and why it was chosen (shown in logs and diagnostics). */
export interface ResolvedAudience {
  audience: string;
  source: string;
}

export const ENTRA_AUDIENCE = 'api://AzureADTokenExchange';
/** Longer than any audience a federation policy or Entra credential could list. */
export const MAX_AUDIENCE_LENGTH = 1024;
const METADATA_TIMEOUT_MS = 3_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AudienceQuery {
  explicit?: string | undefined;
  /** An audience the token source imposes (Azure DevOps always issues api://AzureADTokenExchange). */
  fixed?: string | undefined;
  /** Where a token minted elsewhere gets its audience; the token's own `aud` is then used. */
  setWhereMinted?: string | undefined;
  provider: 'databricks' | 'azure' | 'google';
  /** Provider google with a source of Google ID tokens: the host they are for, used as they are. */
  googleIdTokenFor?: string | undefined;
  /** Provider google: the workload identity provider, whose default allowed audience is asked for. */
  workloadIdentityProvider?: string | undefined;
  host: string;
  accountId?: string | undefined;
  tokenEndpoint: string;
}

/** The audience input, trimmed; undefined when empty. Refuses control characters and huge values. */
export function readAudienceInput(raw: string | undefined): string | undefined {
  const value = raw?.trim() || undefined;
  if (value === undefined) return undefined;
  assertLength('audience', value, MAX_AUDIENCE_LENGTH);
  assertPrintable('audience', value);
  return value;
}

/** The audience that needs no request: input, the source's fixed one, or provider azure's. */
function knownAudience(query: AudienceQuery): ResolvedAudience | undefined {
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
  if (query.provider === 'google' && query.googleIdTokenFor)
    return {
      audience: query.googleIdTokenFor,
      source: 'provider google (Databricks on Google Cloud takes a Google ID token for its own URL)',
    };
  if (query.provider === 'google' && query.workloadIdentityProvider)
    return {
      audience: `https://iam.googleapis.com/${query.workloadIdentityProvider}`,
      source: "provider google (the workload identity provider's default allowed audience)",
    };
  return undefined;
}

/** Steps 4 and 5 of the audience rules: the account ID, else the token endpoint. */
function defaultAudience(query: AudienceQuery): ResolvedAudience {
  if (query.accountId)
    return {
      audience: query.accountId,
      source: 'the account ID (the default of account federation policies)',
    };
  return { audience: query.tokenEndpoint, source: 'the token endpoint (the Databricks SDKs default)' };
}

/**
 * Picks the ID token audience the way the Databricks SDKs do, so one federation policy serves
 * this step and the CLI's own OIDC auth: input, Entra's fixed audience, host metadata, account
 * ID, then the token endpoint. The host's metadata is taken only when it names this account or
 * a URL on this host: a wrong or hostile host must not get a token meant for another service.
 */
export async function resolveAudience(
  query: AudienceQuery,
  http: HttpClient,
  log: Logger = silentLogger,
): Promise<ResolvedAudience> {
  const known = knownAudience(query);
  if (known) return known;
  const fromMetadata = await audienceFromHostMetadata(query, http, log);
  return fromMetadata ?? defaultAudience(query);
}

/**
 * resolveAudience, and an ID token source for the login. When the metadata must be asked, the
 * ID token for the default audience is fetched at the same time, and reused when the metadata
 * names no other acceptable audience: one sequential round trip fewer on most logins.
 */
export async function resolveAudienceWithIdToken(
  query: AudienceQuery,
  source: IdTokenSource,
  http: HttpClient,
  log: Logger = silentLogger,
): Promise<{ audience: ResolvedAudience; idTokenSource: IdTokenSource }> {
  const known = knownAudience(query);
  if (known) return { audience: known, idTokenSource: source };
  const fallback = defaultAudience(query);
  const early = source.getIdToken(fallback.audience, http);
  early.catch(() => {}); // awaited below when used; otherwise its failure does not matter
  const fromMetadata = await audienceFromHostMetadata(query, http, log);
  const audience = fromMetadata ?? fallback;
  if (audience.audience !== fallback.audience) return { audience, idTokenSource: source };
  // The same source in every other respect (a prototype link keeps whatever else it offers).
  let unused = true;
  const reusing = Object.create(source) as IdTokenSource;
  reusing.getIdToken = (requested, client) => {
    if (unused && requested === fallback.audience) {
      unused = false;
      return early;
    }
    return source.getIdToken(requested, client);
  };
  return { audience, idTokenSource: reusing };
}

/** True for an audience of this host or account: the account ID, or a URL on the same origin. */
function belongsToHost(candidate: string, host: string, accountIds: string[]): boolean {
  if (accountIds.some((id) => id.toLowerCase() === candidate.toLowerCase())) return true;
  try {
    return new URL(candidate).origin === host;
  } catch {
    return false;
  }
}

/** Best effort: one short request, no retry; any failure means "no opinion". */
async function audienceFromHostMetadata(
  query: AudienceQuery,
  http: HttpClient,
  log: Logger,
): Promise<ResolvedAudience | undefined> {
  const where = `${query.host}/.well-known/databricks-config`;
  let metadata: Record<string, unknown> | undefined;
  try {
    const response = await http.send({
      method: 'GET',
      url: where,
      step: 'read the host metadata',
      retry: false,
      timeoutMs: Math.min(METADATA_TIMEOUT_MS, http.timeoutMs),
    });
    if (response.status !== 200) return undefined;
    metadata = parseJsonObject(response.body);
  } catch {
    return undefined;
  }
  const audiences = metadata?.token_federation_default_oidc_audiences;
  const first: unknown = Array.isArray(audiences) ? audiences[0] : undefined;
  const candidate = typeof first === 'string' ? first.trim() : '';
  if (candidate === '') return undefined;
  // The metadata's own account_id counts only when it is shaped like one (a UUID).
  const accountIds = [query.accountId, metadata?.account_id].filter(
    (id): id is string => typeof id === 'string' && UUID.test(id),
  );
  if (candidate.length <= MAX_AUDIENCE_LENGTH && belongsToHost(candidate, query.host, accountIds)) {
    return { audience: candidate, source: where };
  }
  log.warn(
    `Ignoring the audience ${quoteInput(candidate, 120)} that ${where} names: it is neither the account ID nor a URL on ${query.host}, ` +
      'so it may belong to another service. Using the default; set the audience input to choose one yourself.',
  );
  return undefined;
}
