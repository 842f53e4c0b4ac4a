import { resolveAudience } from './audience.ts';
import type { Credential } from './exchange/credential.ts';
import { databricksTokenEndpoint, exchangeForDatabricksToken } from './exchange/databricks.ts';
import { DEFAULT_AUTHORITY_HOST, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
import {
  exchangeWithGoogle,
  GCP_ACCOUNTS_HOST,
  type GooglePlan,
  planGoogleLogin,
} from './exchange/google.ts';
import { verifyWorkspaceToken } from './exchange/verify.ts';
import { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
import { LoginError } from './explain/errors.ts';
import { type Logger, redactingLogger } from './explain/logger.ts';
import type { SecretRegistry } from './explain/redaction.ts';
import { assertPrintable, DEFAULT_ACCOUNTS_HOST, normalizeHost, normalizeUuid } from './net/host.ts';
import { HttpClient } from './net/http.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

export type Provider = 'databricks' | 'azure' | 'google';
/** How to authenticate: OIDC first; M2M and PAT are explicit or explained fallbacks (issue 12). */
export type AuthType = 'auto' | 'oidc' | 'm2m' | 'pat';

/** Everything a login needs, as the adapters read it from their CI's inputs. */
export interface LoginOptions {
  host?: string | undefined;
  clientId?: string | undefined;
  accountId?: string | undefined;
  audience?: string | undefined;
  provider?: string | undefined;
  tenantId?: string | undefined;
  authorityHost?: string | undefined;
  verify?: boolean | undefined;
  timeoutMs?: number | undefined;
  /** Not yet implemented: reserved for OAuth M2M and PAT fallbacks. */
  authType?: AuthType | undefined;
  clientSecret?: string | undefined;
  pat?: string | undefined;
  /** Provider google: `projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
  workloadIdentityProvider?: string | undefined;
  /** Provider google: the e-mail of the service account that is a Databricks user. */
  serviceAccount?: string | undefined;
  /** Provider google: also mint a Google access token (for X-Databricks-GCP-SA-Access-Token). */
  googleAccessToken?: boolean | undefined;
  idTokenSource: IdTokenSource;
  secrets: SecretRegistry;
  log: Logger;
  /** Injectable for tests of the retry schedule. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** A validated login: no request has been made yet. */
export interface LoginPlan {
  host: string;
  accountId: string | undefined;
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
}

export interface LoginResult {
  host: string;
  accountId: string | undefined;
  credential: Credential;
  /** The principal's userName from SCIM Me; undefined when not verified. */
  principal: string | undefined;
  claims: IdTokenClaims;
  audience: string;
  tokenEndpoint: string;
  /** Provider google with `googleAccessToken`: a cloud-platform access token of the service account. */
  googleAccessToken?: Credential | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Why a workspace refuses a Google ID token, and what to change. */
function googleVerifyHint(serviceAccount: string): string {
  return (
    `Google issued the ID token, but the workspace does not accept it. Add the service account to the workspace as a user, by its e-mail ${serviceAccount} ` +
    '(workspace settings, Identity and access, Users). Workspaces that use their own SSO do not accept Google ID tokens: use provider databricks ' +
    '(Databricks token federation, which also works on Google Cloud) there. Set verify: false to skip this check.'
  );
}

/** Validates the options and works out the endpoints. Throws before any request is made. */
export function planLogin(options: Omit<LoginOptions, 'idTokenSource' | 'secrets' | 'log'>): LoginPlan {
  const provider = (options.provider ?? '').trim() || 'databricks';
  if (provider !== 'databricks' && provider !== 'azure' && provider !== 'google') {
    throw new LoginError('INPUT_INVALID', `Failed to read input provider: "${provider}" is not supported`, {
      hint: 'Set provider to databricks (Databricks token federation), azure (Microsoft Entra ID, for Azure Databricks) or google (Google ID tokens, for Databricks on Google Cloud).',
    });
  }
  const accountId = normalizeUuid('account-id', options.accountId);
  const clientId = normalizeUuid('client-id', options.clientId);
  const accountsHost = provider === 'google' ? GCP_ACCOUNTS_HOST : DEFAULT_ACCOUNTS_HOST;
  const host = normalizeHost(options.host || (accountId ? accountsHost : undefined));
  const audienceInput = options.audience?.trim() || undefined;
  if (audienceInput) assertPrintable('audience', audienceInput);
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
  if (provider === 'google') {
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
    if (!/^[A-Za-z0-9.-]+$/.test(tenantId)) {
      throw new LoginError(
        'INPUT_INVALID',
        `Failed to read input tenant-id: "${tenantId}" is not a tenant ID or domain`,
        {
          hint: 'Set tenant-id to the Directory (tenant) ID GUID, or a domain such as contoso.onmicrosoft.com.',
        },
      );
    }
    if (accountId) {
      throw new LoginError(
        'INPUT_INVALID',
        'Failed to read the inputs: provider azure gives workspace tokens only, but account-id is set',
        {
          hint: 'Remove account-id, or use provider databricks with an account federation policy.',
        },
      );
    }
    authorityHost = normalizeHost(options.authorityHost || DEFAULT_AUTHORITY_HOST, 'authority-host');
    tokenEndpoint = entraTokenEndpoint(authorityHost, tenantId);
  } else {
    tokenEndpoint = databricksTokenEndpoint(host, accountId);
  }
  return {
    host,
    accountId,
    clientId,
    audienceInput,
    provider,
    tenantId,
    authorityHost,
    tokenEndpoint,
    verify: (options.verify ?? true) && !accountId,
    timeoutMs,
    google,
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
export function httpForOneLogin(plan: LoginPlan, context: LoginContext): HttpClient {
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
  log.info(
    `Requesting an ID token from ${context.idTokenSource.description} for audience ${audience.audience}`,
  );
  log.info(`  (audience from ${audience.source})`);
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

  if (plan.google)
    return {
      ...(await obtainGoogleCredential(plan.google, idToken, claims, audience, context, http)),
      claims,
    };
  let credential: Credential;
  if (plan.provider === 'azure') {
    log.info(`Exchanging it with Microsoft Entra ID at ${plan.tokenEndpoint} (client_id ${plan.clientId})`);
    credential = await exchangeWithEntra(http, idToken, {
      authorityHost: plan.authorityHost,
      tenantId: plan.tenantId ?? '',
      clientId: plan.clientId ?? '',
      claims,
    });
  } else {
    log.info(
      `Exchanging it at ${plan.tokenEndpoint} (${plan.clientId ? `service principal federation policy, client_id ${plan.clientId}` : 'account-wide federation policy, no client_id'})`,
    );
    credential = await exchangeForDatabricksToken(http, idToken, {
      claims,
      audience: audience.audience,
      audienceSource: audience.source,
      clientId: plan.clientId,
      accountId: plan.accountId,
      tokenEndpoint: plan.tokenEndpoint,
    });
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

/**
 * The whole login: validate, resolve the audience, fetch and describe the ID token, exchange
 * it, and optionally verify the result with SCIM Me.
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  const plan = planLogin(options);
  const context: LoginContext = { ...options, log: redactingLogger(options.log, options.secrets) };
  const http = httpForOneLogin(plan, context);
  context.log.info(`Databricks host: ${plan.host}${plan.accountId ? ` (account ${plan.accountId})` : ''}`);
  const audience = await resolveAudience(
    {
      explicit: plan.audienceInput,
      fixed: options.idTokenSource.fixedAudience,
      provider: plan.provider,
      workloadIdentityProvider: plan.google?.workloadIdentityProvider,
      host: plan.host,
      accountId: plan.accountId,
      tokenEndpoint: plan.tokenEndpoint,
    },
    http,
  );
  const { credential, claims, googleAccessToken } = await obtainCredential(plan, audience, context, http);
  const left = credential.expiresAt.getTime() - Date.now();
  context.log.info(
    `Got a ${plan.google ? 'Google ID token for Databricks' : 'Databricks token'}; it expires at ${credential.expiresAt.toISOString()} (in ${describeDuration(left)}).`,
  );
  let principal: string | undefined;
  if (plan.verify) {
    principal = await verifyWorkspaceToken(
      http,
      plan.host,
      credential.token,
      plan.google && googleVerifyHint(plan.google.serviceAccount),
    );
    context.log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  return {
    host: plan.host,
    accountId: plan.accountId,
    credential,
    principal,
    claims,
    audience: audience.audience,
    tokenEndpoint: plan.tokenEndpoint,
    googleAccessToken,
  };
}
