import { randomBytes } from 'node:crypto';
import { decodeJwt, type JSONWebKeySet, type JWTPayload } from 'jose';
import { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';

/** The issuer of Google ID tokens, as Databricks on Google Cloud expects it. */
export const GOOGLE_ISSUER = 'https://accounts.google.com';

/**
 * A workload identity pool provider (OIDC). `attributeMapping` and `attributeCondition` take
 * the subset of CEL people write: `assertion.CLAIM` mappings, and conditions of
 * `assertion.CLAIM == 'value'` or `attribute.NAME == 'value'` joined with `&&`.
 */
export interface PoolProvider {
  projectNumber: string;
  pool: string;
  provider: string;
  issuer: string;
  /** Default: `https://iam.googleapis.com/<provider name>` (and its `//` form). */
  allowedAudiences?: string[];
  attributeMapping: Record<string, string>;
  attributeCondition?: string;
  disabled?: boolean;
}

/** `projects/N/locations/global/workloadIdentityPools/P/providers/V`. */
export function providerName(p: PoolProvider): string {
  return `${poolName(p)}/providers/${p.provider}`;
}

export function poolName(p: PoolProvider): string {
  return `projects/${p.projectNumber}/locations/global/workloadIdentityPools/${p.pool}`;
}

/** What a federated token stands for: the pool and the attributes its provider mapped. */
interface FederatedIdentity {
  pool: string;
  subject: string;
  attributes: Record<string, string>;
  expiresAt: number;
}

function oauthError(error: string, description: string): Reply {
  return { status: 400, body: { error, error_description: description } };
}

/** Evaluates the condition subset; anything else is an emulator error, never a silent pass. */
function evaluateCondition(
  condition: string,
  assertion: JWTPayload,
  attributes: Record<string, string>,
): boolean {
  return condition.split('&&').every((term) => {
    const m = /^\s*(assertion|attribute)\.([A-Za-z0-9_]+)\s*==\s*'([^']*)'\s*$/.exec(term);
    if (!m) throw new Error(`unsupported attribute condition: ${term}`);
    const value = m[1] === 'assertion' ? assertion[m[2] ?? ''] : attributes[m[2] ?? ''];
    return value === m[3];
  });
}

/**
 * Google STS (`POST /v1/token`, JSON): exchanges an external OIDC token for a federated access
 * token, checking the provider's issuer, allowed audiences, signature, expiry, attribute mapping
 * and attribute condition, with the OAuth-style errors the real service gives.
 */
export class GoogleStsEmulator extends LoopbackServer {
  readonly providers: PoolProvider[] = [];
  /** Why each refused exchange was refused. */
  readonly rejections: string[] = [];
  readonly federatedTokens = new Map<string, FederatedIdentity>();
  readonly #trusted = new Map<string, JSONWebKeySet>();

  static async create(): Promise<GoogleStsEmulator> {
    return new GoogleStsEmulator().start();
  }

  /** Stands in for the provider fetching `<issuer>/.well-known/openid-configuration` and its JWKS. */
  trust(issuer: JwtIssuer): void {
    this.#trusted.set(issuer.issuer, issuer.jwks);
  }

  /** The full token URL, as GOOGLE_STS_URL takes it. */
  get tokenUrl(): string {
    return `${this.url}/v1/token`;
  }

  #reject(reason: string, reply: Reply): Reply {
    this.rejections.push(reason);
    return reply;
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    if (request.method !== 'POST' || request.path !== '/v1/token') return { status: 404, body: 'Not Found' };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return oauthError('invalid_request', 'Invalid JSON payload received.');
    }
    if (body.grantType !== 'urn:ietf:params:oauth:grant-type:token-exchange')
      return oauthError('unsupported_grant_type', `Unsupported grant type: ${String(body.grantType)}`);
    if (body.subjectTokenType !== 'urn:ietf:params:oauth:token-type:jwt')
      return oauthError('invalid_request', 'Invalid value for "subject_token_type".');
    if (body.requestedTokenType !== 'urn:ietf:params:oauth:token-type:access_token')
      return oauthError('invalid_request', 'Invalid value for "requested_token_type".');
    if (body.scope !== 'https://www.googleapis.com/auth/cloud-platform')
      return oauthError('invalid_scope', 'Invalid value for "scope".');
    const audience = String(body.audience ?? '');
    const named =
      /^\/\/iam\.googleapis\.com\/(projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\/providers\/[^/]+)$/.exec(
        audience,
      );
    if (!named) {
      return this.#reject(
        `bad audience ${audience}`,
        oauthError(
          'invalid_request',
          'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
        ),
      );
    }
    const provider = this.providers.find((p) => providerName(p) === named[1]);
    if (!provider || provider.disabled) {
      return this.#reject(
        `no enabled provider ${named[1]}`,
        oauthError(
          'invalid_target',
          'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
        ),
      );
    }
    const subjectToken = String(body.subjectToken ?? '');
    let assertion: JWTPayload;
    try {
      assertion = decodeJwt(subjectToken);
    } catch {
      return this.#reject('not a JWT', oauthError('invalid_grant', 'Unable to parse the ID Token.'));
    }
    if (assertion.iss !== provider.issuer) {
      return this.#reject(
        `issuer ${assertion.iss} != ${provider.issuer}`,
        oauthError(
          'invalid_grant',
          `The issuer in ID Token ${String(assertion.iss)} does not match the expected ones: ${provider.issuer}.`,
        ),
      );
    }
    const name = providerName(provider);
    const allowed = provider.allowedAudiences ?? [
      `https://iam.googleapis.com/${name}`,
      `//iam.googleapis.com/${name}`,
    ];
    const aud = Array.isArray(assertion.aud) ? assertion.aud : assertion.aud ? [assertion.aud] : [];
    if (!aud.some((a) => allowed.includes(a))) {
      return this.#reject(
        `audience ${aud.join(',')} not in ${allowed.join(',')}`,
        oauthError(
          'invalid_grant',
          `The audience in ID Token [${aud.join(', ')}] does not match the expected audience ${allowed[0]}.`,
        ),
      );
    }
    const keys = this.#trusted.get(provider.issuer);
    try {
      if (!keys) throw new Error('no keys');
      await JwtIssuer.verify(subjectToken, keys);
    } catch (error) {
      return this.#reject(
        `signature or time: ${(error as Error).message}`,
        oauthError('invalid_grant', 'The ID Token is expired, not yet valid, or its signature is invalid.'),
      );
    }
    const attributes: Record<string, string> = {};
    for (const [target, expression] of Object.entries(provider.attributeMapping)) {
      const m = /^assertion\.([A-Za-z0-9_]+)$/.exec(expression);
      if (!m) throw new Error(`unsupported attribute mapping: ${expression}`);
      const value = assertion[m[1] ?? ''];
      if (typeof value === 'string') attributes[target.replace(/^attribute\./, '')] = value;
    }
    const subject = attributes['google.subject'];
    if (!subject) {
      return this.#reject(
        'google.subject is empty',
        oauthError('invalid_request', 'The mapped attribute google.subject must not be empty.'),
      );
    }
    if (
      provider.attributeCondition &&
      !evaluateCondition(provider.attributeCondition, assertion, attributes)
    ) {
      return this.#reject(`condition ${provider.attributeCondition} is false`, {
        status: 400,
        body: {
          error: 'unauthorized_client',
          error_description: 'The given credential is rejected by the attribute condition.',
        },
      });
    }
    const token = `ya29.d.${randomBytes(48).toString('base64url')}`;
    this.federatedTokens.set(token, {
      pool: poolName(provider),
      subject,
      attributes,
      expiresAt: Date.now() + 3_600_000,
    });
    return {
      status: 200,
      body: {
        access_token: token,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 3599,
      },
    };
  }
}

/** One IAM binding on a service account: a role and its members. */
export interface Binding {
  role: string;
  members: string[];
}

export interface ServiceAccount {
  email: string;
  uniqueId: string;
  bindings: Binding[];
}

/** The permissions of the roles that matter here (from Google's predefined roles). */
const ROLE_PERMISSIONS: Record<string, string[]> = {
  'roles/iam.workloadIdentityUser': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
  ],
  'roles/iam.serviceAccountOpenIdTokenCreator': ['iam.serviceAccounts.getOpenIdToken'],
  'roles/iam.serviceAccountTokenCreator': [
    'iam.serviceAccounts.getAccessToken',
    'iam.serviceAccounts.getOpenIdToken',
  ],
};

function googleApiError(
  code: number,
  status: string,
  message: string,
  reason?: string,
  permission?: string,
): Reply {
  const details = reason
    ? [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason,
          domain: 'iam.googleapis.com',
          metadata: permission ? { permission } : {},
        },
      ]
    : undefined;
  return { status: code, body: { error: { code, message, status, ...(details ? { details } : {}) } } };
}

/**
 * IAM Credentials (`POST /v1/projects/-/serviceAccounts/EMAIL:generateIdToken` and
 * `:generateAccessToken`), authorised by a federated token from the STS emulator. It checks the
 * service account's bindings against the caller's principal and principal sets, and signs Google
 * ID tokens (RS256, issuer https://accounts.google.com, with `email`).
 */
export class GoogleIamCredentialsEmulator extends LoopbackServer {
  readonly serviceAccounts: ServiceAccount[] = [];
  /** Lifetime of the Google ID tokens it signs (Google's is one hour). */
  idTokenLifetimeSeconds = 3600;
  /** Every Google ID token and access token handed out, newest last. */
  readonly idTokens: string[] = [];
  readonly accessTokens: string[] = [];
  readonly #accessTokenExpiry = new Map<string, number>();

  private constructor(
    readonly sts: GoogleStsEmulator,
    readonly signer: JwtIssuer,
  ) {
    super();
  }

  static async create(sts: GoogleStsEmulator): Promise<GoogleIamCredentialsEmulator> {
    return new GoogleIamCredentialsEmulator(sts, await JwtIssuer.create(GOOGLE_ISSUER)).start();
  }

  /** Google's published keys (https://www.googleapis.com/oauth2/v3/certs), for relying parties. */
  get jwks(): JSONWebKeySet {
    return this.signer.jwks;
  }

  addServiceAccount(email: string, bindings: Binding[] = []): ServiceAccount {
    const account = {
      email,
      uniqueId: String(100_000_000_000_000_000_000n + BigInt(this.serviceAccounts.length)),
      bindings,
    };
    this.serviceAccounts.push(account);
    return account;
  }

  /** True for an access token this emulator issued that has not expired. */
  isAccessToken(token: string): boolean {
    return (this.#accessTokenExpiry.get(token) ?? 0) > Date.now();
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):(generateIdToken|generateAccessToken)$/.exec(
      request.path,
    );
    if (request.method !== 'POST' || !m) return { status: 404, body: 'Not Found' };
    const caller = this.sts.federatedTokens.get(
      /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '',
    );
    if (!caller || caller.expiresAt <= Date.now()) {
      return googleApiError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      );
    }
    const email = decodeURIComponent(m[1] ?? '');
    const method = m[2];
    const permission =
      method === 'generateIdToken'
        ? 'iam.serviceAccounts.getOpenIdToken'
        : 'iam.serviceAccounts.getAccessToken';
    const members = new Set([
      `principal://iam.googleapis.com/${caller.pool}/subject/${caller.subject}`,
      `principalSet://iam.googleapis.com/${caller.pool}/*`,
      ...Object.entries(caller.attributes).map(
        ([name, value]) => `principalSet://iam.googleapis.com/${caller.pool}/attribute.${name}/${value}`,
      ),
    ]);
    const account = this.serviceAccounts.find((a) => a.email === email);
    const allowed = account?.bindings.some(
      (b) =>
        ROLE_PERMISSIONS[b.role]?.includes(permission) && b.members.some((member) => members.has(member)),
    );
    // Google does not tell a caller without permission whether the account exists.
    if (!account || !allowed) {
      return googleApiError(
        403,
        'PERMISSION_DENIED',
        `Permission '${permission}' denied on resource (or it may not exist).`,
        'IAM_PERMISSION_DENIED',
        permission,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.body) as Record<string, unknown>;
    } catch {
      return googleApiError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    }
    if (method === 'generateIdToken') {
      if (typeof body.audience !== 'string' || body.audience === '')
        return googleApiError(400, 'INVALID_ARGUMENT', 'Audience is required.');
      const claims: JWTPayload = { aud: body.audience, azp: account.uniqueId, sub: account.uniqueId };
      if (body.includeEmail === true) Object.assign(claims, { email: account.email, email_verified: true });
      const token = await this.signer.sign(claims, this.idTokenLifetimeSeconds);
      this.idTokens.push(token);
      return { status: 200, body: { token } };
    }
    if (!Array.isArray(body.scope) || body.scope.length === 0)
      return googleApiError(400, 'INVALID_ARGUMENT', 'Scope required.');
    const seconds = Number(/^(\d+)s$/.exec(String(body.lifetime ?? '3600s'))?.[1] ?? Number.NaN);
    if (!(seconds > 0 && seconds <= 3600))
      return googleApiError(400, 'INVALID_ARGUMENT', 'Lifetime must be between 1s and 3600s.');
    const accessToken = `ya29.c.${randomBytes(64).toString('base64url')}`;
    this.accessTokens.push(accessToken);
    this.#accessTokenExpiry.set(accessToken, Date.now() + seconds * 1000);
    return {
      status: 200,
      body: {
        accessToken,
        expireTime: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
  }
}

/** Google STS and IAM Credentials wired together, with the variables that point the login at them. */
export interface GoogleCloud {
  sts: GoogleStsEmulator;
  iam: GoogleIamCredentialsEmulator;
  env: { GOOGLE_STS_URL: string; GOOGLE_IAM_CREDENTIALS_URL: string };
  stop(): Promise<void>;
}

/** Starts Google STS and IAM Credentials on 127.0.0.1. */
export async function startGoogleCloud(): Promise<GoogleCloud> {
  const sts = await GoogleStsEmulator.create();
  const iam = await GoogleIamCredentialsEmulator.create(sts);
  return {
    sts,
    iam,
    env: { GOOGLE_STS_URL: sts.tokenUrl, GOOGLE_IAM_CREDENTIALS_URL: iam.url },
    async stop() {
      await Promise.all([sts.stop(), iam.stop()]);
    },
  };
}
