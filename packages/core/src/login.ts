import { readAudienceInput, resolveAudienceWithIdToken } from './audience.ts';
import {
  type AuthChoice,
  type AuthMethod,
  type AuthType,
  type CredentialInputNames,
  chooseAuthMethod,
  GITHUB_INPUT_NAMES,
  type IdTokenSourceOption,
} from './auth-type.ts';
import type { Credential } from './exchange/credential.ts';
import {
  databricksTokenEndpoint,
  exchangeForDatabricksToken,
  isIssuedByDatabricksHost,
} from './exchange/databricks.ts';
import { DEFAULT_AUTHORITY_HOST, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
import {
  exchangeWithGoogle,
  GCP_ACCOUNTS_HOST,
  type GooglePlan,
  planGoogleLogin,
} from './exchange/google.ts';
import { basicCredential, requestClientCredentialsToken } from './exchange/m2m.ts';
import { verifyPersonalAccessToken } from './exchange/pat.ts';
import { verifyWorkspaceToken } from './exchange/verify.ts';
import { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
import { withSourceNotes } from './explain/id-token-report.ts';
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
import {
  HOST_METADATA_PATH,
  type HostMetadata,
  type HostRoute,
  type HostShape,
  readHostMetadata,
  routeForHost,
} from './net/host-metadata.ts';
import { HttpClient } from './net/http.ts';
import { LoginError } from './safe-output/errors.ts';
import { type Logger, redactingLogger, silentLogger } from './safe-output/logger.ts';
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

export interface LoginResult {
  host: string;
  /** Account logins, and any login on a unified host: the account (exported as DATABRICKS_ACCOUNT_ID). */
  accountId: string | undefined;
  /** The workspace, whenever it is known (exported as DATABRICKS_WORKSPACE_ID). */
  workspaceId: string | undefined;
  hostShape: HostShape;
  /** What the host's metadata said: the metadata service's refreshes route by it without asking again. */
  hostMetadata: HostMetadata | undefined;
  /** The method used: the `auth-type` output. A PAT is never refreshed, whatever the mode. */
  authType: AuthMethod;
  /**
   * For a PAT the expiry is not known: expiresAt is then PAT_EXPIRY_UNKNOWN, and front ends
   * show no expiry.
   */
  credential: Credential;
  /** The principal's userName from SCIM Me; undefined when not verified. */
  principal: string | undefined;
  /** The ID token's claims; undefined for M2M and PAT, which use none. */
  claims: IdTokenClaims | undefined;
  /** The ID token audience; '' for M2M and PAT. */
  audience: string;
  /** Where the token came from; '' for a PAT. */
  tokenEndpoint: string;
  /** Provider google with `googleAccessToken`: a cloud-platform access token of the service account. */
  googleAccessToken?: Credential | undefined;
}

/** A PAT's expiry cannot be read from the token: this date stands for "not known". */
export const PAT_EXPIRY_UNKNOWN = new Date('9999-12-31T23:59:59.000Z');

const DEFAULT_TIMEOUT_MS = 30_000;

/** Why a workspace refuses a Google ID token, and what to change. */
function googleVerifyHint(serviceAccount: string): string {
  return (
    `Google issued the ID token, but the workspace does not accept it. Add the service account to the workspace as a user, by its e-mail ${serviceAccount} ` +
    '(workspace settings, Identity and access, Users). Workspaces that use their own SSO do not accept Google ID tokens: use provider databricks ' +
    '(Databricks token federation, which also works on Google Cloud) there. Set verify: false to skip this check.'
  );
}

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
        metadata.oidcEndpoint && `oidc_endpoint ${metadata.oidcEndpoint}`,
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

/** Per-run tools shared by the steps of a login or a refresh. */
export interface LoginContext {
  idTokenSource: IdTokenSource;
  secrets: SecretRegistry;
  log: Logger;
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** An HTTP layer whose deadline covers one whole login or refresh: three per-request timeouts. */
export function httpForOneLogin(plan: LoginPlan, context: Pick<LoginContext, 'log' | 'sleep'>): HttpClient {
  return new HttpClient({
    timeoutMs: plan.timeoutMs,
    deadlineAt: Date.now() + 3 * plan.timeoutMs,
    sleep: context.sleep,
    log: context.log,
  });
}

/**
 * Fetches a fresh ID token and exchanges it: steps 3 and 4 of a login, and every refresh of
 * the metadata service. Secrets are registered the moment they exist.
 */
export async function obtainCredential(
  plan: LoginPlan,
  audience: { audience: string; source: string },
  context: LoginContext,
  http: HttpClient,
): Promise<{ credential: Credential; claims: IdTokenClaims; googleAccessToken?: Credential | undefined }> {
  const log = context.log;
  if (audience.audience) {
    log.info(
      `Requesting an ID token from ${context.idTokenSource.description} for audience ${audience.audience}`,
    );
    log.info(`  (audience from ${audience.source})`);
  } else {
    log.info(
      `Reading the ID token from ${context.idTokenSource.description} (audience from ${audience.source})`,
    );
  }
  const idToken = await context.idTokenSource.getIdToken(audience.audience, http);
  context.secrets.register(idToken);
  const claims = decodeIdToken(idToken, context.idTokenSource.description);
  log.info('ID token claims:');
  for (const line of describeClaims(claims)) log.info(`  ${line}`);
  if (claims.exp !== undefined && claims.exp * 1000 <= Date.now()) {
    throw new LoginError(
      'ID_TOKEN_EXPIRED',
      `Failed to use the ID token from ${context.idTokenSource.description}: it expired at ${new Date(claims.exp * 1000).toISOString()}, before it could be exchanged`,
      {
        hint: 'Check the runner clock (clock skew) and that the token is fetched right before this step runs.',
      },
    );
  }

  const endpointAccountId = plan.route ? plan.route.endpointAccountId : plan.accountId;
  if (isIssuedByDatabricksHost(claims.iss, plan.host, endpointAccountId)) {
    // Already a Databricks token (e.g. minted by an earlier step): exchanging it again would fail.
    log.info(
      `The ID token was issued by ${plan.host} itself (iss ${claims.iss}): using it as it is, no exchange.`,
    );
    const expiresAt = new Date(claims.exp !== undefined ? claims.exp * 1000 : Date.now() + 300_000);
    return { credential: { token: idToken, expiresAt }, claims };
  }

  if (plan.google)
    return {
      ...(await obtainGoogleCredential(plan.google, idToken, claims, audience, context, http)),
      claims,
    };
  if (plan.googleDirect) {
    log.info(
      `Using the Google ID token as it is: Databricks on Google Cloud accepts it for a service account that is a user of ${plan.host}.`,
    );
    const expiresAt = new Date(claims.exp !== undefined ? claims.exp * 1000 : Date.now() + 300_000);
    context.secrets.register(idToken);
    return { credential: { token: idToken, expiresAt }, claims };
  }

  const notes = context.idTokenSource.policyNotes?.(claims) ?? [];
  let credential: Credential;
  if (plan.provider === 'azure') {
    log.info(`Exchanging it with Microsoft Entra ID at ${plan.tokenEndpoint} (client_id ${plan.clientId})`);
    credential = await withSourceNotes(
      exchangeWithEntra(http, idToken, {
        authorityHost: plan.authorityHost,
        tenantId: plan.tenantId ?? '',
        clientId: plan.clientId ?? '',
        claims,
      }),
      notes,
    );
  } else {
    log.info(
      `Exchanging it at ${plan.tokenEndpoint} (${plan.clientId ? `service principal federation policy, client_id ${plan.clientId}` : 'account-wide federation policy, no client_id'})`,
    );
    credential = await withSourceNotes(
      exchangeForDatabricksToken(http, idToken, {
        claims,
        // A token minted elsewhere carries its own audience: that is what a policy must list.
        audience: audience.audience || claims.aud[0] || '',
        audienceSource: audience.source,
        audienceSetWhereMinted: !audience.audience,
        clientId: plan.clientId,
        accountId: endpointAccountId,
        tokenEndpoint: plan.tokenEndpoint,
      }),
      notes,
    );
  }
  context.secrets.register(credential.token);
  return { credential, claims };
}

/** Provider google: STS, then IAM Credentials; the Google ID token is the Databricks bearer token. */
async function obtainGoogleCredential(
  google: GooglePlan,
  idToken: string,
  claims: IdTokenClaims,
  audience: { audience: string; source: string },
  context: LoginContext,
  http: HttpClient,
): Promise<{ credential: Credential; googleAccessToken: Credential | undefined }> {
  context.log.info(
    `Exchanging it at Google STS ${google.stsUrl} for workload identity provider ${google.workloadIdentityProvider}`,
  );
  context.log.info(
    `  then asking IAM Credentials for a Google ID token of ${google.serviceAccount} for audience ${google.idTokenAudience}${google.accessToken ? ', and a Google access token' : ''}`,
  );
  const tokens = await exchangeWithGoogle(
    http,
    idToken,
    { plan: google, claims, audience: audience.audience, audienceSource: audience.source },
    context.secrets,
  );
  return { credential: tokens.idToken, googleAccessToken: tokens.accessToken };
}

/** OAuth M2M uses the Databricks token endpoint the host's metadata names, whatever the provider. */
function m2mTokenEndpoint(plan: LoginPlan): string {
  return plan.route?.tokenEndpoint ?? databricksTokenEndpoint(plan.host, plan.accountId);
}

/** OAuth M2M, at login and at every refresh of the metadata service. */
export async function obtainClientCredentialsToken(
  plan: LoginPlan,
  clientSecret: string,
  context: Pick<LoginContext, 'secrets' | 'log'>,
  http: HttpClient,
): Promise<Credential> {
  const clientId = plan.clientId ?? '';
  // A server that echoes the Authorization header must not get the secret printed, even encoded.
  context.secrets.register(basicCredential(clientId, clientSecret));
  const tokenEndpoint = m2mTokenEndpoint(plan);
  context.log.info(
    `Requesting a token with OAuth M2M at ${tokenEndpoint} (client_credentials, service principal ${clientId})`,
  );
  const credential = await requestClientCredentialsToken(http, {
    host: plan.host,
    accountId: plan.route ? plan.route.endpointAccountId : plan.accountId,
    clientId,
    clientSecret,
    tokenEndpoint,
  });
  context.secrets.register(credential.token);
  return credential;
}

/**
 * The whole login: validate, choose the method (OIDC, OAuth M2M or PAT), then for OIDC resolve
 * the audience, fetch and describe the ID token and exchange it; optionally verify the result
 * with SCIM Me.
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  // Secret inputs are masked before anything else happens, so nothing can print them.
  options.secrets.register(options.clientSecret?.trim());
  options.secrets.register(options.pat?.trim());
  const planned = planLogin(options);
  const log = redactingLogger(options.log, options.secrets);
  const choice = chooseAuthMethod(
    {
      ...options,
      clientId: planned.clientId,
      names: options.inputNames,
      idTokenSource: options.idTokenSource,
    },
    log,
  );
  const http = httpForOneLogin(planned, { log, sleep: options.sleep });
  log.info(`Databricks host: ${planned.host}${planned.accountId ? ` (account ${planned.accountId})` : ''}`);
  // One read per login, alongside the ID token: it decides the endpoint, the audience and the shape.
  const hostMetadata = readHostMetadata(http, planned.host);
  const route = async () => {
    const metadata = await hostMetadata;
    const plan = withHostMetadata(planned, metadata, log, options.inputNames);
    for (const line of describeHostRoute(plan, metadata)) log.info(line);
    return { plan, metadata };
  };
  if (choice.method !== 'oidc') {
    const { plan, metadata } = await route();
    return loginWithStoredSecret(plan, metadata, choice, { secrets: options.secrets, log }, http);
  }
  if (planned.googleDirect && !choice.idTokenSource.issuesGoogleIdTokens) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read the Google settings: provider google needs workload-identity-provider and service-account, since ${choice.idTokenSource.description} does not issue Google ID tokens`,
      {
        hint: 'Set workload-identity-provider and service-account (a keyless exchange through Google STS), or on GCE/GKE use the gcp-metadata token source, whose Google ID token is used as it is.',
      },
    );
  }
  const context: LoginContext = { ...options, idTokenSource: choice.idTokenSource, log };
  // Routed before the ID token is used: a unified host without a workspace fails first.
  const routed = route();
  routed.catch(() => {}); // awaited below; the audience waits for the same metadata
  const { audience, idTokenSource } = await resolveAudienceWithIdToken(
    (metadata) => {
      const plan = metadata === undefined ? planned : withHostMetadata(planned, metadata, silentLogger);
      return {
        explicit: plan.audienceInput,
        fixed: choice.idTokenSource.fixedAudience,
        setWhereMinted: choice.idTokenSource.audienceSetWhereMinted,
        provider: plan.provider,
        workloadIdentityProvider: plan.google?.workloadIdentityProvider,
        googleIdTokenFor: plan.googleDirect ? plan.host : undefined,
        host: plan.host,
        accountId: plan.route ? plan.route.endpointAccountId : plan.accountId,
        tokenEndpoint: plan.tokenEndpoint,
      };
    },
    routed.then(
      (r) => r.metadata,
      () => undefined,
    ),
    choice.idTokenSource,
    http,
    context.log,
  );
  const { plan, metadata } = await routed;
  const { credential, claims, googleAccessToken } = await obtainCredential(
    plan,
    audience,
    { ...context, idTokenSource },
    http,
  );
  const left = credential.expiresAt.getTime() - Date.now();
  context.log.info(
    `Got a ${plan.google || plan.googleDirect ? 'Google ID token for Databricks' : 'Databricks token'}; it expires at ${credential.expiresAt.toISOString()} (in ${describeDuration(left)}).`,
  );
  let principal: string | undefined;
  if (plan.verify) {
    principal = await verifyWorkspaceToken(http, plan.host, credential.token, {
      refusalHint: plan.google
        ? googleVerifyHint(plan.google.serviceAccount)
        : plan.googleDirect
          ? googleVerifyHint(String(claims.payload.email ?? "the VM's or pod's service account"))
          : undefined,
      headers: workspaceHeaders(plan),
      workspaceIdName: options.inputNames?.workspaceId,
    });
    context.log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  return {
    ...resultOfRoute(plan, metadata),
    authType: 'oidc',
    credential,
    principal,
    claims,
    audience: audience.audience || claims.aud[0] || '',
    tokenEndpoint: plan.tokenEndpoint,
    googleAccessToken,
  };
}

/** What every result says about the host: the account and workspace for later steps, and the shape. */
function resultOfRoute(
  plan: LoginPlan,
  metadata: HostMetadata | undefined,
): Pick<LoginResult, 'host' | 'accountId' | 'workspaceId' | 'hostShape' | 'hostMetadata'> {
  const shape = plan.route?.shape ?? (plan.level === 'account' ? 'account' : 'workspace');
  // The SDKs need the account on a unified host even for a workspace (it names the OIDC endpoint).
  const accountId =
    plan.level === 'account' ? plan.accountId : shape === 'unified' ? plan.route?.accountId : undefined;
  return {
    host: plan.host,
    accountId,
    workspaceId: plan.workspaceId,
    hostShape: shape,
    hostMetadata: metadata,
  };
}

/** OAuth M2M with a client secret, or a personal access token: the methods with a stored secret. */
async function loginWithStoredSecret(
  plan: LoginPlan,
  metadata: HostMetadata | undefined,
  choice: Exclude<AuthChoice, { method: 'oidc' }>,
  context: Pick<LoginContext, 'secrets' | 'log'>,
  http: HttpClient,
): Promise<LoginResult> {
  const log = context.log;
  const result = { ...resultOfRoute(plan, metadata), claims: undefined, audience: '' };
  const headers = workspaceHeaders(plan);
  if (choice.method === 'pat') {
    if (plan.level === 'account') {
      throw new LoginError(
        'INPUT_INVALID',
        'Failed to use the personal access token: personal access tokens are workspace tokens, but account-id is set',
        { hint: 'Remove account-id, or use OIDC or OAuth M2M for account-level APIs.' },
      );
    }
    log.info(
      'Using a personal access token. This is a legacy method: the token is exported as it is and never refreshed, and it is a long-lived secret to rotate. ' +
        'Prefer OIDC (auth-type oidc), which needs no stored secret.',
    );
    let principal: string | undefined;
    if (plan.verify) {
      principal = await verifyPersonalAccessToken(http, plan.host, choice.pat, headers);
      log.info(`Verified: the workspace knows this token as ${principal}.`);
    }
    const credential = { token: choice.pat, expiresAt: PAT_EXPIRY_UNKNOWN };
    return { ...result, authType: 'pat', credential, principal, tokenEndpoint: '' };
  }
  const credential = await obtainClientCredentialsToken(plan, choice.clientSecret, context, http);
  log.info(
    `Got a Databricks token with OAuth M2M; it expires at ${credential.expiresAt.toISOString()} (in ${describeDuration(credential.expiresAt.getTime() - Date.now())}).`,
  );
  let principal: string | undefined;
  if (plan.verify) {
    principal = await verifyWorkspaceToken(http, plan.host, credential.token, { headers });
    log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  return { ...result, authType: 'm2m', credential, principal, tokenEndpoint: m2mTokenEndpoint(plan) };
}
