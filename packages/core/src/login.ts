import { readAudienceInput, resolveAudienceWithIdToken } from './audience.ts';
import {
  type AuthChoice,
  type AuthMethod,
  type AuthType,
  type CredentialInputNames,
  chooseAuthMethod,
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
import { basicCredential, formEncoded, requestClientCredentialsToken } from './exchange/m2m.ts';
import { verifyPersonalAccessToken } from './exchange/pat.ts';
import { verifyWorkspaceToken } from './exchange/verify.ts';
import { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
import { LoginError } from './explain/errors.ts';
import { withSourceNotes } from './explain/id-token-report.ts';
import { type Logger, redactingLogger } from './explain/logger.ts';
import { quoteInput } from './explain/printable.ts';
import type { SecretRegistry } from './explain/redaction.ts';
import {
  assertPrintable,
  DEFAULT_ACCOUNTS_HOST,
  isTenantId,
  normalizeAuthority,
  normalizeHost,
  normalizeUuid,
} from './net/host.ts';
import { HttpClient } from './net/http.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

export type Provider = 'databricks' | 'azure' | 'google';
export type { AuthMethod, AuthType };

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
  /**
   * Provider google without a workload identity provider: the source's own Google ID token (for
   * audience `host`) is the bearer token, no exchange (GCE/GKE metadata server).
   */
  googleDirect: boolean;
}

export interface LoginResult {
  host: string;
  accountId: string | undefined;
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
  const accountId = normalizeUuid('account-id', options.accountId);
  const clientId = normalizeUuid('client-id', options.clientId);
  const accountsHost = provider === 'google' ? GCP_ACCOUNTS_HOST : DEFAULT_ACCOUNTS_HOST;
  const host = normalizeHost(options.host || (accountId ? accountsHost : undefined));
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
    if (accountId) {
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

  if (isIssuedByDatabricksHost(claims.iss, plan.host, plan.accountId)) {
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
        accountId: plan.accountId,
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

/** OAuth M2M, at login and at every refresh of the metadata service. */
export async function obtainClientCredentialsToken(
  plan: LoginPlan,
  clientSecret: string,
  context: Pick<LoginContext, 'secrets' | 'log'>,
  http: HttpClient,
): Promise<Credential> {
  const clientId = plan.clientId ?? '';
  // A server that echoes the Authorization header, raw or decoded, must not get the secret
  // printed in any of its forms: raw, form-encoded (inside Basic) or base64.
  context.secrets.register(clientSecret);
  context.secrets.register(formEncoded(clientSecret));
  context.secrets.register(basicCredential(clientId, clientSecret));
  context.log.info(
    `Requesting a token with OAuth M2M at ${databricksTokenEndpoint(plan.host, plan.accountId)} (client_credentials, service principal ${clientId})`,
  );
  const credential = await requestClientCredentialsToken(http, {
    host: plan.host,
    accountId: plan.accountId,
    clientId,
    clientSecret,
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
  const plan = planLogin(options);
  const log = redactingLogger(options.log, options.secrets);
  const choice = chooseAuthMethod(
    { ...options, clientId: plan.clientId, names: options.inputNames, idTokenSource: options.idTokenSource },
    log,
  );
  const http = httpForOneLogin(plan, { log, sleep: options.sleep });
  log.info(`Databricks host: ${plan.host}${plan.accountId ? ` (account ${plan.accountId})` : ''}`);
  if (choice.method !== 'oidc')
    return loginWithStoredSecret(plan, choice, { secrets: options.secrets, log }, http);
  if (plan.googleDirect && !choice.idTokenSource.issuesGoogleIdTokens) {
    throw new LoginError(
      'INPUT_INVALID',
      `Failed to read the Google settings: provider google needs workload-identity-provider and service-account, since ${choice.idTokenSource.description} does not issue Google ID tokens`,
      {
        hint: 'Set workload-identity-provider and service-account (a keyless exchange through Google STS), or on GCE/GKE use the gcp-metadata token source, whose Google ID token is used as it is.',
      },
    );
  }
  const context: LoginContext = { ...options, idTokenSource: choice.idTokenSource, log };
  const { audience, idTokenSource } = await resolveAudienceWithIdToken(
    {
      explicit: plan.audienceInput,
      fixed: choice.idTokenSource.fixedAudience,
      setWhereMinted: choice.idTokenSource.audienceSetWhereMinted,
      provider: plan.provider,
      workloadIdentityProvider: plan.google?.workloadIdentityProvider,
      googleIdTokenFor: plan.googleDirect ? plan.host : undefined,
      host: plan.host,
      accountId: plan.accountId,
      tokenEndpoint: plan.tokenEndpoint,
    },
    choice.idTokenSource,
    http,
    context.log,
  );
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
    principal = await verifyWorkspaceToken(
      http,
      plan.host,
      credential.token,
      plan.google
        ? googleVerifyHint(plan.google.serviceAccount)
        : plan.googleDirect
          ? googleVerifyHint(String(claims.payload.email ?? "the VM's or pod's service account"))
          : undefined,
    );
    context.log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  return {
    host: plan.host,
    accountId: plan.accountId,
    authType: 'oidc',
    credential,
    principal,
    claims,
    audience: audience.audience || claims.aud[0] || '',
    tokenEndpoint: plan.tokenEndpoint,
    googleAccessToken,
  };
}

/** OAuth M2M with a client secret, or a personal access token: the methods with a stored secret. */
async function loginWithStoredSecret(
  plan: LoginPlan,
  choice: Exclude<AuthChoice, { method: 'oidc' }>,
  context: Pick<LoginContext, 'secrets' | 'log'>,
  http: HttpClient,
): Promise<LoginResult> {
  const log = context.log;
  const result = { host: plan.host, accountId: plan.accountId, claims: undefined, audience: '' };
  if (choice.method === 'pat') {
    if (plan.accountId) {
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
      principal = await verifyPersonalAccessToken(http, plan.host, choice.pat);
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
    principal = await verifyWorkspaceToken(http, plan.host, credential.token);
    log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  const tokenEndpoint = databricksTokenEndpoint(plan.host, plan.accountId);
  return { ...result, authType: 'm2m', credential, principal, tokenEndpoint };
}
