import type { Logger } from '../safe-output/logger.ts';
import { hasControlCharacters, quoteInput } from '../safe-output/printable.ts';
import { isUuid } from './host.ts';
import { type HttpClient, parseJsonObject } from './http.ts';

/** Where every Databricks host describes itself (databricks-sdk-go `config/host_metadata.go`). */
export const HOST_METADATA_PATH = '/.well-known/databricks-config';
const METADATA_TIMEOUT_MS = 3_000;

/**
 * The three kinds of Databricks host: a workspace, an accounts console, and a unified host that
 * serves an account and all its workspaces at one URL.
 */
export type HostShape = 'workspace' | 'account' | 'unified';

/** What a host's `/.well-known/databricks-config` says, each field checked for shape. */
export interface HostMetadata {
  /** The OIDC root, possibly with `{account_id}` in it. */
  oidcEndpoint?: string | undefined;
  /** Taken only when it is a UUID. */
  accountId?: string | undefined;
  workspaceId?: string | undefined;
  /** AWS, AZURE or GCP. */
  cloud?: string | undefined;
  /** WORKSPACE_HOST, ACCOUNT_HOST or UNIFIED_HOST. */
  hostType?: string | undefined;
  defaultAudiences: string[];
}

/** A short printable string field, or undefined: a hostile host cannot feed us control characters. */
function field(body: Record<string, unknown>, name: string, max = 2048): string | undefined {
  const value = body[name];
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  return trimmed && trimmed.length <= max && !hasControlCharacters(trimmed) ? trimmed : undefined;
}

/** Reads the metadata's fields; anything malformed is left out, never trusted. */
export function parseHostMetadata(body: string): HostMetadata | undefined {
  const json = parseJsonObject(body);
  if (!json) return undefined;
  const audiences = json.token_federation_default_oidc_audiences;
  const accountId = field(json, 'account_id', 64);
  const workspaceId = field(json, 'workspace_id', 64);
  return {
    oidcEndpoint: field(json, 'oidc_endpoint'),
    accountId: accountId && isUuid(accountId) ? accountId.toLowerCase() : undefined,
    workspaceId: workspaceId && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(workspaceId) ? workspaceId : undefined,
    cloud: field(json, 'cloud', 16),
    hostType: field(json, 'host_type', 32),
    defaultAudiences: Array.isArray(audiences)
      ? audiences.filter((a): a is string => typeof a === 'string' && a.trim() !== '').map((a) => a.trim())
      : [],
  };
}

/**
 * One best-effort read of the host's metadata: a short timeout, no retry, and any failure (no
 * such page on older hosts, a web page, a timeout) means "no metadata", so today's endpoints apply.
 */
export async function readHostMetadata(http: HttpClient, host: string): Promise<HostMetadata | undefined> {
  try {
    const response = await http.send({
      method: 'GET',
      url: `${host}${HOST_METADATA_PATH}`,
      step: 'read the host metadata',
      retry: false,
      timeoutMs: Math.min(METADATA_TIMEOUT_MS, http.timeoutMs),
    });
    return response.status === 200 ? parseHostMetadata(response.body) : undefined;
  } catch {
    return undefined;
  }
}

/** `accounts.cloud.databricks.com`, `accounts.azuredatabricks.net`, `accounts.gcp.databricks.com`, … */
export function isAccountsHost(host: string): boolean {
  return new URL(host).hostname.toLowerCase().startsWith('accounts.');
}

/** What a login needs to know about its host before it exchanges anything. */
export interface HostRoute {
  shape: HostShape;
  /** Where the Databricks token comes from. */
  tokenEndpoint: string;
  /** The account whose endpoint is used, when it is account-scoped (the default audience then). */
  endpointAccountId: string | undefined;
  /** Known from the input, the host's query or the metadata. */
  workspaceId: string | undefined;
  /** The account the host belongs to, when known. */
  accountId: string | undefined;
  /** How the endpoint was chosen, for the log and `explain`. */
  endpointSource: string;
}

export interface HostRouteRequest {
  host: string;
  /** The account-id input (or `?a=`). */
  accountId: string | undefined;
  /** The workspace-id input (or `?w=`). */
  workspaceId: string | undefined;
}

/** The shape the metadata names, else what the host's name and the endpoint suggest. */
function shapeOf(host: string, metadata: HostMetadata | undefined, accountLogin: boolean): HostShape {
  const type = metadata?.hostType?.toUpperCase();
  if (type === 'UNIFIED_HOST') return 'unified';
  if (type === 'ACCOUNT_HOST') return 'account';
  if (type === 'WORKSPACE_HOST') return 'workspace';
  if (isAccountsHost(host)) return 'account';
  if (metadata?.oidcEndpoint?.includes('/oidc/accounts/')) return 'unified';
  return accountLogin ? 'account' : 'workspace';
}

/**
 * Where to exchange, as the Databricks SDKs decide it: the metadata's `oidc_endpoint` (with
 * `{account_id}` filled in) when it is on the host's own origin, else today's endpoints. An
 * endpoint elsewhere is refused with a warning: the ID token goes only to the host it names.
 */
export function routeForHost(
  request: HostRouteRequest,
  metadata: HostMetadata | undefined,
  log: Logger,
): HostRoute {
  const { host } = request;
  const accountId = request.accountId ?? metadata?.accountId;
  const accountLogin = request.accountId !== undefined && request.workspaceId === undefined;
  // An account login has no workspace, whatever the host says of itself.
  const workspaceId = request.workspaceId ?? (accountLogin ? undefined : metadata?.workspaceId);
  const shape = shapeOf(host, metadata, accountLogin);
  const where = `${host}${HOST_METADATA_PATH}`;
  const fallback = (): HostRoute => {
    // Without metadata: today's endpoints. An account login, or a unified host whose account is known, is account-scoped.
    const scoped = accountLogin || (shape === 'unified' && accountId !== undefined) ? accountId : undefined;
    return {
      shape,
      tokenEndpoint: scoped ? `${host}/oidc/accounts/${scoped}/v1/token` : `${host}/oidc/v1/token`,
      endpointAccountId: scoped,
      workspaceId,
      accountId,
      endpointSource: 'the default for this host',
    };
  };
  const named = metadata?.oidcEndpoint;
  if (!named) return fallback();
  const needsAccount = named.includes('{account_id}');
  if (needsAccount && !accountId) {
    log.warn(
      `${where} names the OIDC endpoint ${quoteInput(named, 120)}, which needs an account ID, and none is known: using the default. Set account-id.`,
    );
    return fallback();
  }
  const filled = named.replace(/\{account_id\}/g, accountId ?? '');
  let url: URL | undefined;
  try {
    url = new URL(filled);
  } catch {
    url = undefined;
  }
  if (!url || url.origin !== host || url.username || url.password || url.search || url.hash) {
    log.warn(
      `Ignoring the OIDC endpoint ${quoteInput(filled, 120)} that ${where} names: it is not on ${host}, and the ID token goes only to the host you set. ` +
        'Using the default endpoint. If this host really delegates its OAuth elsewhere, report it; check that host is your Databricks URL.',
    );
    return fallback();
  }
  const root = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const scoped = /\/oidc\/accounts\/[^/]+$/.test(root) ? accountId : undefined;
  if (accountLogin && !scoped) return fallback(); // an account token needs the account's endpoint
  return {
    shape,
    tokenEndpoint: `${root}/v1/token`,
    endpointAccountId: scoped,
    workspaceId,
    accountId,
    endpointSource: where,
  };
}
