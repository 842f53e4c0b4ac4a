import { randomBytes, randomUUID } from 'node:crypto';
import type { CiIssuer } from './ci-issuers.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';

/**
 * Buildkite's agent API for OIDC: `POST /v3/jobs/<job>/oidc/tokens` with the job's agent token
 * (`Authorization: Token ...`) and `{audience}`, answered with `{token}`. The stand-in
 * `buildkite-agent` (buildkite-agent.mjs) calls it the way the real agent does.
 */
export class BuildkiteAgentApi extends LoopbackServer {
  readonly agentToken = randomBytes(24).toString('hex');
  readonly jobId = randomUUID();
  readonly issued: string[] = [];

  private constructor(readonly issuer: CiIssuer) {
    super();
  }

  static async create(issuer: CiIssuer): Promise<BuildkiteAgentApi> {
    return new BuildkiteAgentApi(issuer).start();
  }

  /** What the agent sets for every job. */
  get env(): Record<string, string> {
    return {
      BUILDKITE: 'true',
      BUILDKITE_AGENT_ACCESS_TOKEN: this.agentToken,
      BUILDKITE_AGENT_ENDPOINT: `${this.url}/v3`,
      BUILDKITE_JOB_ID: this.jobId,
    };
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    if (request.method !== 'POST' || request.path !== `/v3/jobs/${this.jobId}/oidc/tokens`) {
      return { status: 404, body: { message: 'Not Found' } };
    }
    if (request.headers.authorization !== `Token ${this.agentToken}`)
      return { status: 401, body: { message: 'Unauthorized' } };
    const audience =
      (JSON.parse(request.body || '{}') as { audience?: string }).audience || 'https://buildkite.com/octo';
    const token = await this.issuer.mint(audience, 300);
    this.issued.push(token);
    return { status: 201, body: { token } };
  }
}
