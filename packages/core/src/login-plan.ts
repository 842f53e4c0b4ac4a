import { type AudienceQuery, readAudienceInput } from './audience.ts';
import {
  type AuthMethod,
  type AuthType,
  type CredentialInputNames,
  GITHUB_INPUT_NAMES,
  type IdTokenSourceOption,
} from './auth-type.ts';
import { DEFAULT_AUTHORITY_HOST, entraTokenEndpoint } from './exchange/entra.ts';
import { GCP_ACCOUNTS_HOST, planGoogleLogin } from './exchange/google.ts';
import type { GooglePlan } from './exchange/google-attempt.ts';
import {
  assertPrintable,
  DEFAULT_ACCOUNTS_HOST,
  hostQueryIds,
  isTenantId,
  normalizeAuthority,
  normalizeHost,
  normalizeUuid,
  readWorkspaceId,
} from './net/host.ts';
import { HOST_METADATA_PATH, type HostMetadata, type HostRoute, routeForHost } from './net/host-metadata.ts';
import { LoginError } from './safe-output/errors.ts';
import { type Logger, silentLogger } from './safe-output/logger.ts';
import { quoteInput } from './safe-output/printable.ts';
import type { SecretRegistry } from './safe-output/redaction.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

export type Provider = 'databricks' | 'azure' | 'google';
export type { AuthMethod, AuthType };

/** Everything a login needs, as the adapters read it from their CI's inputs. */
export interface LoginOptions {
  host?: string | undefined;
  clientId?: string | undefined;
  accountId?: string | undefined;
  /** The workspace on a unified host; also read from the host's `?w=`, `?o=` or `?workspace_id=`. */
  workspaceId?: string | undefined;
  audience?: string | undefined;
  provider?: string | undefined;
  tenantId?: string | undefined;
  authorityHost?: string | undefined;
  verify?: boolean | undefined;
  timeoutMs?: number | undefined;
  /** auto (default), oidc, m2m or pat: see chooseAuthMethod. */
  authType?: AuthType | undefined;
  /** OAuth M2M: one of the service principal's OAuth secrets (with clientId). */
  clientSecret?: string | undefined;
  /** A personal access token: the last resort of auto, or auth-type pat. */
  pat?: string | undefined;
  /** How this front end spells the credential inputs in messages; default: the GitHub names. */
  inputNames?: Partial<CredentialInputNames> | undefined;
  /** Provider google: `projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
  workloadIdentityProvider?: string | undefined;
  /** Provider google: the e-mail of the service account that is a Databricks user. */
  serviceAccount?: string | undefined;
  /** Provider google: also mint a Google access token (for X-Databricks-GCP-SA-Access-Token). */
  googleAccessToken?: boolean | undefined;
  /** The job's ID-token source, or a function that builds it (and throws ID_TOKEN_UNAVAILABLE when there is none). */
  idTokenSource: IdTokenSourceOption;
  secrets: SecretRegistry;
  log: Logger;
  /** Injectable for tests of the retry schedule. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** A validated login: no request has been made yet. */
export interface LoginPlan {
  host: string;
  /** The account input (or the host's `?a=`). */
  accountId: string | undefined;
  /** The workspace input (or the host's `?w=`); after the host metadata, also the metadata's. */
  workspaceId: string | undefined;
  /** An account-level token (account ID and no workspace ID), or a workspace token. */
  level: 'workspace' | 'account';
  /** How the host metadata routes the login; undefined until it is read (withHostMetadata). */
  route?: HostRoute | undefined;
  clientId: string | undefined;
  audienceInput: string | undefined;
  provider: Provider;
  tenantId: string | undefined;
  authorityHost: string;
  tokenEndpoint: string;
  verify: boolean;
  timeoutMs: number;
  /** Provider google only. */
  google?: GooglePlan | undefined;
  /**
   * Provider google without a workload identity provider: the source's own Google ID token (for
   * audience `host`) is the bearer token, no exchange (GCE/GKE metadata server).
   */
  googleDirect: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** One value from an input and the host's query: they must not disagree. */
function agreeing(
  name: string,
  input: string | undefined,
  fromHost: string | undefined,
  query: string,
): string | undefined {
  if (input && fromHost && input.toLowerCase() !== fromHost.toLowerCase()) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input ${name}: it is ${quoteInput(input)}, but the host's ${query} says ${quoteInput(fromHost)}`,
      { hint: `Set ${name} and the host URL to the same workspace or account, or drop one of them.` },
    );
  }
  return input ?? fromHost;
}

/**
 * The plan once the host's metadata is known (or known to be missing): the token endpoint the
 * metadata names, the host's shape and the workspace. A workspace login on a unified host needs
 * the workspace ID, so it fails here, before any ID token leaves the job.
 */
export function withHostMetadata(
  plan: LoginPlan,
  metadata: HostMetadata | undefined,
  log: Logger,
  names: Partial<CredentialInputNames> = {},
): LoginPlan {
  const route = routeForHost(
    { host: plan.host, accountId: plan.accountId, workspaceId: plan.workspaceId },
    metadata,
    log,
  );
  if (route.shape === 'unified' && plan.level === 'workspace' && !route.workspaceId) {
    const name = names.workspaceId ?? GITHUB_INPUT_NAMES.workspaceId;
    throw new LoginError(
      'WORKSPACE_ID_REQUIRED',
      `Failed to plan the login: ${plan.host} is a unified host, which serves an account and all its workspaces, and no workspace is named`,
      {
        hint:
          `Set ${name} to the workspace ID, or use the workspace URL as the browser shows it, with ?w= (or ?o=), e.g. ${plan.host}/?w=1234567890123456. ` +
          'For an account-level token, set account-id instead.',
      },
    );
  }
  const exchangesAtDatabricks = plan.provider === 'databricks';
  return {
    ...plan,
    route,
    workspaceId: route.workspaceId,
    tokenEndpoint: exchangesAtDatabricks ? route.tokenEndpoint : plan.tokenEndpoint,
  };
}

/** The headers every workspace call sends: a unified host routes by the workspace ID. */
export function workspaceHeaders(plan: LoginPlan): Record<string, string> {
  return plan.route?.shape === 'unified' && plan.workspaceId
    ? { 'x-databricks-workspace-id': plan.workspaceId }
    : {};
}

/** Lines for the log and `explain`: the host's shape, and where the endpoint came from. */
export function describeHostRoute(plan: LoginPlan, metadata: HostMetadata | undefined): string[] {
  const route = plan.route;
  if (!route) return [];
  const where = `${plan.host}${HOST_METADATA_PATH}`;
  const facts = metadata
    ? [
        metadata.hostType && `host_type ${metadata.hostType}`,
        metadata.cloud && `cloud ${metadata.cloud}`,
        // The host's own text: quoted and cut, like any input shown back.
        metadata.oidcEndpoint && `oidc_endpoint ${quoteInput(metadata.oidcEndpoint, 160)}`,
      ].filter(Boolean)
    : [];
  const lines = [
    `Host shape: ${route.shape}${metadata ? ` (${where}: ${facts.join(', ') || 'no host type'})` : ` (no metadata at ${where})`}`,
  ];
  if (route.workspaceId) lines.push(`Workspace ID: ${route.workspaceId}`);
  if (route.accountId) lines.push(`Account ID: ${route.accountId}`);
  if (plan.provider === 'databricks')
    lines.push(`Token endpoint: ${route.tokenEndpoint} (from ${route.endpointSource})`);
  return lines;
}

/** Validates the options and works out the endpoints. Throws before any request is made. */
export function planLogin(options: Omit<LoginOptions, 'idTokenSource' | 'secrets' | 'log'>): LoginPlan {
  const provider = (options.provider ?? '').trim() || 'databricks';
  if (provider !== 'databricks' && provider !== 'azure' && provider !== 'google') {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read input provider: ${quoteInput(provider)} is not supported`,
      {
        hint: 'Set provider to databricks (Databricks token federation), azure (Microsoft Entra ID, for Azure Databricks) or google (Google ID tokens, for Databricks on Google Cloud).',
      },
    );
  }
  const names = { ...GITHUB_INPUT_NAMES, ...options.inputNames };
  const accountInput = normalizeUuid('account-id', options.accountId);
  const workspaceInput = readWorkspaceId(names.workspaceId, options.workspaceId);
  const clientId = normalizeUuid('client-id', options.clientId);
  const accountsHost = provider === 'google' ? GCP_ACCOUNTS_HOST : DEFAULT_ACCOUNTS_HOST;
  const host = normalizeHost(options.host || (accountInput ? accountsHost : undefined));
  const fromQuery = options.host
    ? hostQueryIds(options.host)
    : { workspaceId: undefined, accountId: undefined };
  const accountId = agreeing('account-id', accountInput, fromQuery.accountId, '?a=');
  const workspaceId = agreeing(names.workspaceId, workspaceInput, fromQuery.workspaceId, '?w= or ?o=');
  const level = accountId && !workspaceId ? 'account' : 'workspace';
  const audienceInput = readAudienceInput(options.audience);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new LoginError(
      'INPUT_INVALID',
      'Failed to read the request timeout: it must be a positive number',
      {
        hint: 'Set timeout-seconds (GitHub) or timeoutSeconds (Azure DevOps) to a number of seconds, e.g. 30.',
      },
    );
  }
  let tenantId: string | undefined;
  let authorityHost = DEFAULT_AUTHORITY_HOST;
  let tokenEndpoint: string;
  let google: GooglePlan | undefined;
  const googleDirect =
    provider === 'google' && !options.workloadIdentityProvider?.trim() && !options.serviceAccount?.trim();
  if (googleDirect) {
    tokenEndpoint = host; // nothing is exchanged: the Google ID token is sent to the host as it is
  } else if (provider === 'google') {
    google = planGoogleLogin(options, host);
    tokenEndpoint = google.stsUrl;
  } else if (provider === 'azure') {
    tenantId = options.tenantId?.trim() || undefined;
    if (!tenantId || !clientId) {
      throw new LoginError(
        'INPUT_INVALID',
        `Failed to read the Entra ID settings: provider azure needs ${!tenantId ? 'tenant-id' : 'client-id'}`,
        {
          hint: 'Set tenant-id to the Entra tenant and client-id to the app registration or managed identity that has the federated credential.',
        },
      );
    }
    assertPrintable('tenant-id', tenantId);
    if (!isTenantId(tenantId)) {
      throw new LoginError(
        'INPUT_INVALID',
        `Failed to read input tenant-id: ${quoteInput(tenantId)} is not a tenant ID or domain`,
        {
          hint: 'Set tenant-id to the Directory (tenant) ID GUID, or a domain such as contoso.onmicrosoft.com.',
        },
      );
    }
    if (level === 'account') {
      throw new LoginError(
        'INPUT_INVALID',
        'Failed to read the inputs: provider azure gives workspace tokens only, but account-id is set',
        {
          hint: 'Remove account-id, or use provider databricks with an account federation policy.',
        },
      );
    }
    authorityHost = normalizeAuthority(options.authorityHost || DEFAULT_AUTHORITY_HOST);
    tokenEndpoint = entraTokenEndpoint(authorityHost, tenantId);
  } else {
    tokenEndpoint = routeForHost({ host, accountId, workspaceId }, undefined, silentLogger).tokenEndpoint;
  }
  return {
    host,
    accountId,
    workspaceId,
    level,
    clientId,
    audienceInput,
    provider,
    tenantId,
    authorityHost,
    tokenEndpoint,
    verify: (options.verify ?? true) && level === 'workspace',
    timeoutMs,
    google,
    googleDirect,
  };
}

/** The audience rules' inputs for this plan and token source (once routed, the account whose endpoint is used). */
export function audienceQueryFor(plan: LoginPlan, source: IdTokenSource): AudienceQuery {
  return {
    explicit: plan.audienceInput,
    fixed: source.fixedAudience,
    setWhereMinted: source.audienceSetWhereMinted,
    provider: plan.provider,
    workloadIdentityProvider: plan.google?.workloadIdentityProvider,
    googleIdTokenFor: plan.googleDirect ? plan.host : undefined,
    host: plan.host,
    accountId: plan.route ? plan.route.endpointAccountId : plan.accountId,
    tokenEndpoint: plan.tokenEndpoint,
  };
}
