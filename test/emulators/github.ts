import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';
import type { TlsIdentity } from './test-ca.ts';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GitHubEmulatorOptions {
  /** Serve HTTPS with this certificate (see test-ca.ts) instead of plain HTTP. */
  tls?: TlsIdentity;
  /** The `iss` claim; defaults to GitHub's real issuer so policies look like production ones. */
  issuer?: string;
  /** Claims of the job; `sub` defaults to an environment-scoped subject. */
  claims?: JWTPayload;
  tokenLifetimeSeconds?: number;
}

/** The runner's ID-token endpoint: `GET <url>&audience=...` with the request token as Bearer. */
export class GitHubEmulator extends LoopbackServer {
  readonly requestToken = randomBytes(24).toString('base64url');
  claims: JWTPayload;
  tokenLifetimeSeconds: number;
  /** Every ID token handed out, newest last. */
  readonly issued: string[] = [];

  private constructor(
    readonly jwt: JwtIssuer,
    options: GitHubEmulatorOptions,
  ) {
    super();
    this.claims = {
      sub: 'repo:octo-org/octo-repo:environment:prod',
      repository: 'octo-org/octo-repo',
      repository_owner: 'octo-org',
      ref: 'refs/heads/main',
      environment: 'prod',
      event_name: 'push',
      job_workflow_ref: 'octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main',
      runner_environment: 'github-hosted',
      ...options.claims,
    };
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 300;
  }

  static async create(options: GitHubEmulatorOptions = {}): Promise<GitHubEmulator> {
    return new GitHubEmulator(await JwtIssuer.create(options.issuer ?? GITHUB_ISSUER), options).start(
      options.tls,
    );
  }

  /** What the runner puts in ACTIONS_ID_TOKEN_REQUEST_URL (it already carries a query). */
  get requestUrl(): string {
    return `${this.url}/idtoken/job?api-version=2.0`;
  }

  /** The runner-like variables a job with `id-token: write` gets. */
  get env(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: this.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken,
    };
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    if (request.method !== 'GET' || request.path !== '/idtoken/job')
      return { status: 404, body: { message: 'Not Found' } };
    if (request.headers.authorization !== `Bearer ${this.requestToken}`) {
      return { status: 401, body: { message: 'Unauthorized' } };
    }
    const audience =
      request.query.get('audience') || `https://github.com/${String(this.claims.repository_owner)}`;
    const token = await this.jwt.sign({ ...this.claims, aud: audience }, this.tokenLifetimeSeconds);
    this.issued.push(token);
    return { status: 200, body: { count: 1, value: token } };
  }
}
