import { randomUUID } from 'node:crypto';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import type { DatabricksEmulator } from './databricks.ts';
import { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';

export const AZURE_DATABRICKS_SCOPE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';

export interface FederatedCredential {
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface EntraApp {
  clientId: string;
  federatedCredentials: FederatedCredential[];
}

export interface EntraEmulatorOptions {
  tenantId?: string;
  apps?: EntraApp[];
  tokenLifetimeSeconds?: number;
}

/**
 * Microsoft Entra ID's v2 token endpoint for workload identity federation
 * (client_credentials with a jwt-bearer client assertion), with AADSTS errors.
 * Tokens it issues for the Azure Databricks scope are accepted by the Databricks emulator.
 */
export class EntraEmulator extends LoopbackServer {
  readonly tenantId: string;
  readonly apps: EntraApp[];
  tokenLifetimeSeconds: number;
  /** The authority's path, as ADFS and Azure Stack have (`/adfs`); '' for login.microsoftonline.com. */
  authorityPath = '';
  readonly #trusted = new Map<string, JSONWebKeySet>();

  private constructor(
    private readonly signer: JwtIssuer,
    private readonly databricks: DatabricksEmulator | undefined,
    options: EntraEmulatorOptions,
  ) {
    super();
    this.tenantId = options.tenantId ?? randomUUID();
    this.apps = options.apps ?? [];
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3599;
  }

  static async create(
    databricks?: DatabricksEmulator,
    options: EntraEmulatorOptions = {},
  ): Promise<EntraEmulator> {
    const tenantId = options.tenantId ?? randomUUID();
    const signer = await JwtIssuer.create(`https://sts.windows.net/${tenantId}/`);
    return new EntraEmulator(signer, databricks, { ...options, tenantId }).start();
  }

  trust(issuer: JwtIssuer): void {
    this.#trusted.set(issuer.issuer, issuer.jwks);
  }

  #error(status: number, code: number, error: string, description: string): Reply {
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()}`,
        error_codes: [code],
        timestamp: new Date().toISOString(),
      },
    };
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    if (!request.path.startsWith(`${this.authorityPath}/`))
      return { status: 404, body: { error: 'not_found' } };
    const match = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(request.path.slice(this.authorityPath.length));
    if (request.method !== 'POST' || !match) return { status: 404, body: { error: 'not_found' } };
    if (decodeURIComponent(match[1] ?? '') !== this.tenantId) {
      return this.#error(400, 90002, 'invalid_request', `Tenant '${match[1]}' not found.`);
    }
    const form = request.form;
    if (form.get('grant_type') !== 'client_credentials') {
      return this.#error(
        400,
        70003,
        'unsupported_grant_type',
        'The app requested an unsupported grant type.',
      );
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return this.#error(400, 7000215, 'invalid_client', 'Invalid client assertion type.');
    }
    if (form.get('scope') !== AZURE_DATABRICKS_SCOPE) {
      return this.#error(
        400,
        70011,
        'invalid_scope',
        'The provided value for the input parameter scope is not valid.',
      );
    }
    const app = this.apps.find((a) => a.clientId === form.get('client_id'));
    if (!app) {
      return this.#error(
        400,
        700016,
        'unauthorized_client',
        `Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      );
    }
    const assertion = form.get('client_assertion') ?? '';
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(assertion);
    } catch {
      return this.#error(400, 50027, 'invalid_request', 'JWT token is invalid or malformed.');
    }
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const match2 = app.federatedCredentials.find(
      (fc) =>
        fc.issuer === claims.iss &&
        fc.subject === claims.sub &&
        aud.some((a) => a && fc.audiences.includes(a)),
    );
    if (!match2) {
      return this.#error(
        400,
        70021,
        'invalid_request',
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${claims.iss}'. Assertion Subject: '${claims.sub}'. Assertion Audience: '${aud.join(',')}'.`,
      );
    }
    const keys = this.#trusted.get(match2.issuer);
    try {
      if (!keys) throw new Error('no keys');
      await JwtIssuer.verify(assertion, keys);
    } catch (error) {
      if (String((error as Error).message).includes('exp')) {
        return this.#error(
          400,
          700024,
          'invalid_client',
          'Client assertion is not within its valid time range.',
        );
      }
      return this.#error(401, 700027, 'invalid_client', 'Client assertion failed signature validation.');
    }
    const token = await this.signer.sign(
      {
        aud: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d',
        sub: app.clientId,
        appid: app.clientId,
        tid: this.tenantId,
      },
      this.tokenLifetimeSeconds,
    );
    this.databricks?.acceptExternalToken(
      token,
      app.clientId,
      Math.floor(Date.now() / 1000) + this.tokenLifetimeSeconds,
    );
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: token,
      },
    };
  }
}
