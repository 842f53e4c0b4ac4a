import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, type JWTPayload } from 'jose';
import { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';
import type { TlsIdentity } from './test-ca.ts';

/** The `oidc_policy` of a federation policy, with Databricks' field names and defaults. */
export interface OidcPolicy {
  issuer: string;
  /** Default: the account ID. */
  audiences?: string[];
  /** Required on service principal policies. */
  subject?: string;
  /** Default: sub. */
  subject_claim?: string;
  jwks_json?: JSONWebKeySet;
}

export interface ServicePrincipal {
  /** The numeric ID the policy API takes. */
  id: number;
  /** The UUID sent as client_id. */
  applicationId: string;
  displayName: string;
  policies: OidcPolicy[];
  /** false: the account knows it, but the workspace does not (SCIM Me answers 403). */
  inWorkspace?: boolean;
  /** OAuth secrets for OAuth M2M (client credentials). */
  oauthSecrets?: string[];
}

export interface DatabricksEmulatorOptions {
  /** Serve HTTPS with this certificate (see test-ca.ts) instead of plain HTTP. */
  tls?: TlsIdentity;
  accountId?: string;
  servicePrincipals?: ServicePrincipal[];
  /** Account-wide federation policies, used when no client_id is sent. */
  accountPolicies?: OidcPolicy[];
  /** Users of the account, by userName, for account-wide policies. */
  users?: string[];
  /** Upper bound of the issued tokens' lifetime; the federated JWT's expiry also bounds it. */
  maxTokenLifetimeSeconds?: number;
  /** Published in /.well-known/databricks-config as token_federation_default_oidc_audiences. */
  defaultAudiences?: string[];
  /**
   * The host's shape, as the SDKs' test profiles model it (databricks-sdk-go
   * `config/auth_profiles_test.go`): a workspace (default), an accounts console, or a unified
   * host that serves the account and its workspaces at one URL and routes workspace calls by
   * the X-Databricks-Workspace-Id header.
   */
  shape?: 'workspace' | 'account' | 'unified';
  /** This workspace's ID (default: a random 16-digit number). */
  workspaceId?: string;
  /** false: an older host with no /.well-known/databricks-config (404). */
  hostMetadata?: boolean;
}

/** What a unified host answers where it cannot route a call: its sign-in page, with 200. */
const SIGN_IN_PAGE: Reply = {
  status: 200,
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: '<!doctype html><html><head><title>Databricks - Sign In</title></head><body><div id="login">Sign in to continue ##vso[task.complete result=Succeeded]</div></body></html>',
};

/** Databricks on Google Cloud: which Google ID tokens it takes as bearer tokens. */
export interface GoogleIdentities {
  /** Google's signing keys. */
  jwks: JSONWebKeySet;
  /** Service accounts added as users, by e-mail. */
  users: string[];
  /** Checks X-Databricks-GCP-SA-Access-Token on account APIs that create Google Cloud resources. */
  isAccessToken: (token: string) => boolean;
  /** A workspace with its own SSO refuses Google ID tokens. */
  ownSso?: boolean;
}

interface IssuedToken {
  principal: string;
  expiresAt: number;
  level: 'workspace' | 'account';
}

/**
 * A Databricks workspace and its account: token federation (workspace and account endpoints),
 * SCIM Me for the tokens it issued, and the host metadata. Policies are checked the way
 * Databricks does (issuer, audiences, subject, subject_claim, signature, expiry), and a
 * rejection says only "Invalid credentials", as the real service does; the real reason is
 * kept in `rejections` for tests.
 */
export class DatabricksEmulator extends LoopbackServer {
  readonly accountId: string;
  readonly servicePrincipals: ServicePrincipal[];
  accountPolicies: OidcPolicy[];
  users: string[];
  maxTokenLifetimeSeconds: number;
  defaultAudiences: string[] | undefined;
  shape: 'workspace' | 'account' | 'unified';
  readonly workspaceId: string;
  /** false: no /.well-known/databricks-config. */
  hostMetadata: boolean;
  /** Replaces the oidc_endpoint the host metadata names (a hostile or misconfigured host). */
  oidcEndpointOverride: string | undefined;
  /** Why each rejected exchange was rejected. */
  readonly rejections: string[] = [];
  /** Every access token issued, newest last. */
  readonly issuedTokens: string[] = [];
  readonly #trusted = new Map<string, JSONWebKeySet>();
  readonly #tokens = new Map<string, IssuedToken>();
  google: GoogleIdentities | undefined;
  /** Signs the tokens this workspace issues; `iss` is `<url>/oidc`, as on a real workspace. */
  private signer!: JwtIssuer;

  private constructor(options: DatabricksEmulatorOptions) {
    super();
    this.accountId = options.accountId ?? randomUUID();
    this.servicePrincipals = options.servicePrincipals ?? [];
    this.accountPolicies = options.accountPolicies ?? [];
    this.users = options.users ?? [];
    this.maxTokenLifetimeSeconds = options.maxTokenLifetimeSeconds ?? 3600;
    this.defaultAudiences = options.defaultAudiences;
    this.shape = options.shape ?? 'workspace';
    this.workspaceId =
      options.workspaceId ?? String(1_000_000_000_000_000 + Math.floor(Math.random() * 8e15));
    this.hostMetadata = options.hostMetadata ?? true;
  }

  static async create(options: DatabricksEmulatorOptions = {}): Promise<DatabricksEmulator> {
    const emulator = await new DatabricksEmulator(options).start(options.tls);
    emulator.signer = await JwtIssuer.create(`${emulator.url}/oidc`);
    return emulator;
  }

  /** The `iss` of the tokens this workspace issues. */
  get issuer(): string {
    return this.signer.issuer;
  }

  /** Stands in for OIDC discovery: the keys Databricks would fetch from `<iss>/.well-known/...`. */
  trust(issuer: JwtIssuer): void {
    this.#trusted.set(issuer.issuer, issuer.jwks);
  }

  /** Accepts a token minted elsewhere (Entra ID for Azure Databricks) as a workspace token. */
  acceptExternalToken(token: string, principal: string, expiresAt: number): void {
    this.#tokens.set(token, { principal, expiresAt, level: 'workspace' });
  }

  get workspaceTokenEndpoint(): string {
    return `${this.url}/oidc/v1/token`;
  }

  /** `/.well-known/databricks-config`, with the fields the SDKs read (databricks-sdk-go `config/host_metadata.go`). */
  get metadata(): Record<string, unknown> {
    const accounts = `${this.url}/oidc/accounts/{account_id}`;
    const common = { cloud: 'AWS' };
    const audiences = this.defaultAudiences
      ? { token_federation_default_oidc_audiences: this.defaultAudiences }
      : {};
    if (this.shape === 'unified')
      return {
        ...common,
        host_type: 'UNIFIED_HOST',
        oidc_endpoint: this.oidcEndpointOverride ?? accounts,
        account_id: this.accountId,
        token_federation_default_oidc_audiences: this.defaultAudiences ?? [this.accountId],
      };
    if (this.shape === 'account')
      return {
        ...common,
        host_type: 'ACCOUNT_HOST',
        oidc_endpoint: this.oidcEndpointOverride ?? accounts,
        ...audiences,
      };
    return {
      ...common,
      host_type: 'WORKSPACE_HOST',
      oidc_endpoint: this.oidcEndpointOverride ?? `${this.url}/oidc`,
      account_id: this.accountId,
      workspace_id: this.workspaceId,
      ...audiences,
    };
  }

  /** On a unified host, whether a workspace call names this workspace (the legacy X-Databricks-Org-Id counts too). */
  #routedToWorkspace(request: RecordedRequest): boolean {
    if (this.shape !== 'unified') return true;
    const named = request.headers['x-databricks-workspace-id'] ?? request.headers['x-databricks-org-id'];
    return named === this.workspaceId;
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    if (request.method === 'GET' && request.path === '/.well-known/databricks-config') {
      if (!this.hostMetadata) return { status: 404, body: { error_code: 'NOT_FOUND', message: 'Not found' } };
      return { status: 200, body: this.metadata };
    }
    if (
      request.path === '/oidc/v1/token' ||
      request.path === '/oidc/.well-known/oauth-authorization-server'
    ) {
      // A unified host has no workspace-level OIDC endpoints: the path falls through to its web app.
      if (this.shape !== 'workspace') return SIGN_IN_PAGE;
      if (request.method === 'POST' && request.path === '/oidc/v1/token')
        return this.#exchange(request, 'workspace');
      if (request.method === 'GET') return { status: 200, body: this.#discovery(`${this.url}/oidc`) };
    }
    const account = /^\/oidc\/accounts\/([^/]+)\/(v1\/token|\.well-known\/oauth-authorization-server)$/.exec(
      request.path,
    );
    if (account) {
      if (account[1] !== this.accountId)
        return { status: 404, body: { error_code: 'NOT_FOUND', message: 'Account not found' } };
      if (request.method === 'POST' && account[2] === 'v1/token') return this.#exchange(request, 'account');
      if (request.method === 'GET' && account[2] !== 'v1/token')
        return { status: 200, body: this.#discovery(`${this.url}/oidc/accounts/${this.accountId}`) };
    }
    const workspaces = /^\/api\/2\.0\/accounts\/([^/]+)\/workspaces$/.exec(request.path);
    if (workspaces && this.google) return this.#googleAccountWorkspaces(request, workspaces[1] ?? '');
    if (request.path.startsWith('/api/2.0/') && !this.#routedToWorkspace(request)) return SIGN_IN_PAGE;
    if (request.method === 'GET' && request.path === '/api/2.0/preview/scim/v2/Me') return this.#me(request);
    return {
      status: 404,
      headers: { 'content-type': 'text/html' },
      body: '<html><body>Page not found</body></html>',
    };
  }

  /** RFC 8414 authorization server metadata, as the SDKs' OAuth M2M and U2M discover it. */
  #discovery(root: string): Record<string, unknown> {
    return {
      issuer: root,
      authorization_endpoint: `${root}/v1/authorize`,
      token_endpoint: `${root}/v1/token`,
      jwks_uri: `${root}/jwks.json`,
      grant_types_supported: ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    };
  }

  #reject(reason: string): Reply {
    this.rejections.push(reason);
    return { status: 401, body: { error: 'invalid_client', error_description: 'Invalid credentials' } };
  }

  async #exchange(request: RecordedRequest, level: IssuedToken['level']): Promise<Reply> {
    const form = request.form;
    if (form.get('grant_type') === 'client_credentials') return this.#clientCredentials(request, level);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') {
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'grant_type not supported' },
      };
    }
    if (
      form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:jwt' ||
      !form.get('subject_token')
    ) {
      return {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'subject_token and subject_token_type are required',
        },
      };
    }
    if (form.get('scope') !== 'all-apis') {
      return { status: 400, body: { error: 'invalid_scope', error_description: 'scope must be all-apis' } };
    }
    const subjectToken = form.get('subject_token') ?? '';
    let payload: JWTPayload;
    try {
      const alg = decodeProtectedHeader(subjectToken).alg;
      if (alg !== 'RS256' && alg !== 'ES256') return this.#reject(`unsupported alg ${alg}`);
      payload = decodeJwt(subjectToken);
    } catch {
      return this.#reject('subject_token is not a JWT');
    }

    const clientId = form.get('client_id');
    let candidates: Array<{ policy: OidcPolicy; sp?: ServicePrincipal }>;
    if (clientId) {
      const sp = this.servicePrincipals.find((s) => s.applicationId === clientId);
      if (!sp) return this.#reject(`no service principal with application ID ${clientId}`);
      candidates = sp.policies.map((policy) => ({ policy, sp }));
    } else {
      candidates = this.accountPolicies.map((policy) => ({ policy }));
    }
    if (candidates.length === 0) return this.#reject('no federation policy');

    const reasons: string[] = [];
    for (const { policy, sp } of candidates) {
      const reason = await this.#mismatch(policy, payload, subjectToken, sp);
      if (typeof reason === 'string') {
        reasons.push(reason);
        continue;
      }
      return this.#issue(reason.principal, payload, level);
    }
    return this.#reject(reasons.join('; '));
  }

  /** Returns why the policy does not accept the token, or the principal it maps to. */
  async #mismatch(
    policy: OidcPolicy,
    payload: JWTPayload,
    token: string,
    sp: ServicePrincipal | undefined,
  ): Promise<string | { principal: string }> {
    if (payload.iss !== policy.issuer) return `issuer mismatch: ${payload.iss} != ${policy.issuer}`;
    const allowed = policy.audiences ?? [this.accountId];
    const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [];
    if (!aud.some((a) => allowed.includes(a)))
      return `audience mismatch: ${aud.join(',')} not in ${allowed.join(',')}`;
    const subject = payload[policy.subject_claim ?? 'sub'];
    if (sp && subject !== policy.subject) return `subject mismatch: ${String(subject)} != ${policy.subject}`;
    const jwks = policy.jwks_json ?? this.#trusted.get(policy.issuer);
    if (!jwks) return `no keys for issuer ${policy.issuer}`;
    try {
      await JwtIssuer.verify(token, jwks);
    } catch (error) {
      return `signature or time check failed: ${(error as Error).message}`;
    }
    if (sp) return { principal: sp.applicationId };
    if (typeof subject === 'string' && this.users.includes(subject)) return { principal: subject };
    const byApplication = this.servicePrincipals.find((s) => s.applicationId === subject);
    return byApplication
      ? { principal: byApplication.applicationId }
      : `subject ${String(subject)} is no user of the account`;
  }

  // --- OAuth M2M (client credentials) and personal access tokens -------------------------------

  /** Token requests with grant_type=client_credentials, for counting in tests. */
  get clientCredentialsRequests(): RecordedRequest[] {
    return this.requestsTo(/\/v1\/token$/).filter((r) => r.form.get('grant_type') === 'client_credentials');
  }

  /** Creates a PAT (`dapi` + 32 hex) for a principal; SCIM Me accepts it until revoked. */
  createPersonalAccessToken(principal: string): string {
    const token = `dapi${randomBytes(16).toString('hex')}`;
    this.#tokens.set(token, { principal, expiresAt: Number.POSITIVE_INFINITY, level: 'workspace' });
    return token;
  }

  revokePersonalAccessToken(token: string): void {
    this.#tokens.delete(token);
  }

  /**
   * OAuth M2M as Databricks does it: HTTP Basic client_id:client_secret (form-encoded parts),
   * scope all-apis. An unknown client and a wrong secret get the same answer.
   */
  async #clientCredentials(request: RecordedRequest, level: IssuedToken['level']): Promise<Reply> {
    if (request.form.get('scope') !== 'all-apis') {
      return { status: 400, body: { error: 'invalid_scope', error_description: 'scope must be all-apis' } };
    }
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const [id, secret] = Buffer.from(basic ?? '', 'base64')
      .toString('utf8')
      .split(':')
      .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    const invalidClient = (reason: string): Reply => {
      this.rejections.push(reason);
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client authentication failed' },
      };
    };
    if (!basic || !id || secret === undefined) return invalidClient('no HTTP Basic client credentials');
    const sp = this.servicePrincipals.find((s) => s.applicationId === id);
    if (!sp) return invalidClient(`no service principal with application ID ${id}`);
    if (!sp.oauthSecrets?.includes(secret)) return invalidClient(`wrong secret for ${id}`);
    const now = Math.floor(Date.now() / 1000);
    return this.#issue(sp.applicationId, { exp: now + 3600 }, level);
  }

  // ----------------------------------------------------------------------------------------------

  async #issue(principal: string, federated: JWTPayload, level: IssuedToken['level']): Promise<Reply> {
    const now = Math.floor(Date.now() / 1000);
    const lifetime = Math.max(1, Math.min(this.maxTokenLifetimeSeconds, (federated.exp ?? now + 3600) - now));
    const token = await this.signer.sign(
      { sub: principal, aud: this.accountId, scope: 'all-apis' },
      lifetime,
    );
    this.#tokens.set(token, { principal, expiresAt: now + lifetime, level });
    this.issuedTokens.push(token);
    return {
      status: 200,
      body: { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: 'all-apis' },
    };
  }

  async #me(request: RecordedRequest): Promise<Reply> {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const issued = token ? this.#tokens.get(token) : undefined;
    const googleUser = !issued && token ? await this.#googleUser(token) : undefined;
    if (googleUser) {
      return {
        status: 200,
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          id: '4242',
          userName: googleUser,
          displayName: googleUser,
          active: true,
        },
      };
    }
    // On a unified host an account token, sent with the workspace's ID, is a workspace token too.
    const usable = issued?.level === 'workspace' || this.shape === 'unified';
    if (!issued || issued.expiresAt <= Date.now() / 1000 || !usable) {
      return {
        status: 401,
        body: {
          error_code: '401',
          message: 'Credential was not sent or was of an unsupported type for this API.',
        },
      };
    }
    const sp = this.servicePrincipals.find((s) => s.applicationId === issued.principal);
    if (sp?.inWorkspace === false) {
      return {
        status: 403,
        body: { error_code: 'PERMISSION_DENIED', message: 'User is not part of this workspace' },
      };
    }
    return {
      status: 200,
      body: {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        id: String(sp?.id ?? 1),
        userName: issued.principal,
        displayName: sp?.displayName ?? issued.principal,
        active: true,
      },
    };
  }

  // Databricks on Google Cloud: a Google ID token is a bearer token when its audience is this
  // host (workspace URL or accounts host) and its e-mail is a user here.

  /** Accepts Google ID tokens for the given service accounts. */
  acceptGoogleIdTokens(identities: GoogleIdentities): void {
    this.google = identities;
  }

  /** The service account a valid Google ID token stands for, or undefined. */
  async #googleUser(token: string): Promise<string | undefined> {
    const google = this.google;
    if (!google || google.ownSso) return undefined;
    try {
      const { payload } = await JwtIssuer.verify(token, google.jwks);
      const email = payload.email;
      if (payload.iss !== 'https://accounts.google.com' || payload.aud !== this.url) return undefined;
      return typeof email === 'string' && google.users.includes(email) ? email : undefined;
    } catch {
      return undefined;
    }
  }

  /** `GET|POST /api/2.0/accounts/<id>/workspaces`; creating one also needs the service account's access token. */
  async #googleAccountWorkspaces(request: RecordedRequest, accountId: string): Promise<Reply> {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const user = token ? await this.#googleUser(token) : undefined;
    if (!user || accountId !== this.accountId)
      return { status: 401, body: { error_code: 'UNAUTHENTICATED', message: 'Invalid Token' } };
    if (request.method === 'GET') return { status: 200, body: [] };
    const access = request.headers['x-databricks-gcp-sa-access-token'];
    if (typeof access !== 'string' || !this.google?.isAccessToken(access)) {
      return {
        status: 403,
        body: {
          error_code: 'PERMISSION_DENIED',
          message: 'Missing or invalid X-Databricks-GCP-SA-Access-Token',
        },
      };
    }
    return {
      status: 200,
      body: { workspace_id: 1234567890123456, workspace_status: 'PROVISIONING', created_by: user },
    };
  }
}
