import { resolveAudienceWithIdToken } from './audience.ts';
import { type AuthChoice, type AuthMethod, chooseAuthMethod } from './auth-type.ts';
import type { Credential } from './exchange/credential.ts';
import {
  databricksTokenEndpoint,
  exchangeForDatabricksToken,
  isIssuedByDatabricksHost,
} from './exchange/databricks.ts';
import { exchangeWithEntra } from './exchange/entra.ts';
import { exchangeWithGoogle } from './exchange/google.ts';
import type { GooglePlan } from './exchange/google-attempt.ts';
import { basicCredential, formEncoded, requestClientCredentialsToken } from './exchange/m2m.ts';
import { verifyPersonalAccessToken } from './exchange/pat.ts';
import { verifyWorkspaceToken } from './exchange/verify.ts';
import { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
import { withSourceNotes } from './explain/id-token-report.ts';
import {
  audienceQueryFor,
  describeHostRoute,
  type LoginOptions,
  type LoginPlan,
  planLogin,
  withHostMetadata,
  workspaceHeaders,
} from './login-plan.ts';
import { type HostMetadata, type HostShape, readHostMetadata } from './net/host-metadata.ts';
import { HttpClient } from './net/http.ts';
import { LoginError } from './safe-output/errors.ts';
import { type Logger, redactingLogger, silentLogger } from './safe-output/logger.ts';
import type { SecretRegistry } from './safe-output/redaction.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

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

/** Why a workspace refuses a Google ID token, and what to change. */
function googleVerifyHint(serviceAccount: string): string {
  return (
    `Google issued the ID token, but the workspace does not accept it. Add the service account to the workspace as a user, by its e-mail ${serviceAccount} ` +
    '(workspace settings, Identity and access, Users). Workspaces that use their own SSO do not accept Google ID tokens: use provider databricks ' +
    '(Databricks token federation, which also works on Google Cloud) there. Set verify: false to skip this check.'
  );
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
  // A server that echoes the Authorization header, raw or decoded, must not get the secret
  // printed in any of its forms: raw, form-encoded (inside Basic) or base64.
  context.secrets.register(clientSecret);
  context.secrets.register(formEncoded(clientSecret));
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
    (metadata) =>
      audienceQueryFor(
        metadata === undefined ? planned : withHostMetadata(planned, metadata, silentLogger),
        choice.idTokenSource,
      ),
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
