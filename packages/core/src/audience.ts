import { assertLength, assertPrintable, isUuid } from './net/host.ts';
import { HOST_METADATA_PATH, type HostMetadata, readHostMetadata } from './net/host-metadata.ts';
import type { HttpClient } from './net/http.ts';
import type { Logger } from './safe-output/logger.ts';
import { silentLogger } from './safe-output/logger.ts';
import { quoteInput } from './safe-output/printable.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

/** The audience to request, and why it was chosen (shown in logs and diagnostics). */
export interface ResolvedAudience {
  audience: string;
  source: string;
}

export const ENTRA_AUDIENCE = 'api://AzureADTokenExchange';
/** Longer than any audience a federation policy or Entra credential could list. */
export const MAX_AUDIENCE_LENGTH = 1024;

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
 * `metadata` is the host's (undefined: it has none), when the caller has read it already.
 */
export async function resolveAudience(
  query: AudienceQuery,
  http: HttpClient,
  log: Logger = silentLogger,
  metadata: HostMetadata | undefined | 'unread' = 'unread',
): Promise<ResolvedAudience> {
  const known = knownAudience(query);
  if (known) return known;
  const read = metadata === 'unread' ? await readHostMetadata(http, query.host) : metadata;
  return audienceFromHostMetadata(query, read, log) ?? defaultAudience(query);
}

/**
 * resolveAudience, and an ID token source for the login. The host's metadata (read by the
 * caller, once per login) may change the token endpoint and so the default audience: `queryFor`
 * gives the query once it is known. Meanwhile the ID token for the audience without metadata is
 * fetched, and reused when it turns out right: one sequential round trip fewer on most logins.
 */
export async function resolveAudienceWithIdToken(
  queryFor: (metadata: HostMetadata | undefined) => AudienceQuery,
  hostMetadata: Promise<HostMetadata | undefined>,
  source: IdTokenSource,
  http: HttpClient,
  log: Logger = silentLogger,
): Promise<{ audience: ResolvedAudience; idTokenSource: IdTokenSource }> {
  // Either way the ID token is on its way while the host's metadata is: it does not wait for it.
  const known = knownAudience(queryFor(undefined));
  const guess = known ?? defaultAudience(queryFor(undefined));
  const early = source.getIdToken(guess.audience, http);
  early.catch(() => {}); // awaited when used; otherwise its failure does not matter
  if (known) return { audience: known, idTokenSource: reusingFirst(source, guess.audience, early) };
  const metadata = await hostMetadata;
  const query = queryFor(metadata);
  const audience = audienceFromHostMetadata(query, metadata, log) ?? defaultAudience(query);
  if (audience.audience !== guess.audience) return { audience, idTokenSource: source };
  return { audience, idTokenSource: reusingFirst(source, guess.audience, early) };
}

/** The same source in every other respect (a prototype link keeps whatever else it offers), whose first request for `audience` is `early`. */
function reusingFirst(source: IdTokenSource, audience: string, early: Promise<string>): IdTokenSource {
  let unused = true;
  const reusing = Object.create(source) as IdTokenSource;
  reusing.getIdToken = (requested, client) => {
    if (unused && requested === audience) {
      unused = false;
      return early;
    }
    return source.getIdToken(requested, client);
  };
  return reusing;
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

/** The metadata's default audience, if it belongs to this host or account. */
function audienceFromHostMetadata(
  query: AudienceQuery,
  metadata: HostMetadata | undefined,
  log: Logger,
): ResolvedAudience | undefined {
  const where = `${query.host}${HOST_METADATA_PATH}`;
  const candidate = metadata?.defaultAudiences[0] ?? '';
  if (candidate === '') return undefined;
  // The metadata's own account_id counts only when it is shaped like one (parseHostMetadata checks).
  const accountIds = [query.accountId, metadata?.accountId].filter(
    (id): id is string => typeof id === 'string' && isUuid(id),
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
