import { resolveAudience } from './audience.ts';
import type { Credential } from './exchange/credential.ts';
import { databricksTokenEndpoint, exchangeForDatabricksToken } from './exchange/databricks.ts';
import { DEFAULT_AUTHORITY_HOST, entraTokenEndpoint, exchangeWithEntra } from './exchange/entra.ts';
import { verifyWorkspaceToken } from './exchange/verify.ts';
import { decodeIdToken, describeClaims, describeDuration, type IdTokenClaims } from './explain/claims.ts';
import { LoginError } from './explain/errors.ts';
import { withSourceNotes } from './explain/id-token-report.ts';
import { type Logger, redactingLogger } from './explain/logger.ts';
import type { SecretRegistry } from './explain/redaction.ts';
import { assertPrintable, DEFAULT_ACCOUNTS_HOST, normalizeHost, normalizeUuid } from './net/host.ts';
import { HttpClient } from './net/http.ts';
import type { IdTokenSource } from './sources/id-token-source.ts';

export type Provider = 'databricks' | 'azure';
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
  /** Not yet implemented: reserved for provider google. */
  workloadIdentityProvider?: string | undefined;
  serviceAccount?: string | undefined;
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
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Validates the options and works out the endpoints. Throws before any request is made. */
export function planLogin(options: Omit<LoginOptions, 'idTokenSource' | 'secrets' | 'log'>): LoginPlan {
  const provider = (options.provider ?? '').trim() || 'databricks';
  if (provider !== 'databricks' && provider !== 'azure') {
    throw new LoginError('INPUT_INVALID', `Failed to read input provider: "${provider}" is not supported`, {
      hint: 'Set provider to databricks (Databricks token federation) or azure (Microsoft Entra ID, for Azure Databricks).',
    });
  }
  const accountId = normalizeUuid('account-id', options.accountId);
  const clientId = normalizeUuid('client-id', options.clientId);
  const host = normalizeHost(options.host || (accountId ? DEFAULT_ACCOUNTS_HOST : undefined));
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
  if (provider === 'azure') {
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
): Promise<{ credential: Credential; claims: IdTokenClaims }> {
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
      setWhereMinted: options.idTokenSource.audienceSetWhereMinted,
      provider: plan.provider,
      host: plan.host,
      accountId: plan.accountId,
      tokenEndpoint: plan.tokenEndpoint,
    },
    http,
  );
  const { credential, claims } = await obtainCredential(plan, audience, context, http);
  const left = credential.expiresAt.getTime() - Date.now();
  context.log.info(
    `Got a Databricks token; it expires at ${credential.expiresAt.toISOString()} (in ${describeDuration(left)}).`,
  );
  let principal: string | undefined;
  if (plan.verify) {
    principal = await verifyWorkspaceToken(http, plan.host, credential.token);
    context.log.info(`Verified: the workspace knows this token as ${principal}.`);
  }
  return {
    host: plan.host,
    accountId: plan.accountId,
    credential,
    principal,
    claims,
    audience: audience.audience || claims.aud[0] || '',
    tokenEndpoint: plan.tokenEndpoint,
  };
}
