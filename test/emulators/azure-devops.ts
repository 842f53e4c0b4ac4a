import { randomBytes, randomUUID } from 'node:crypto';
import { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';

export interface ServiceConnection {
  id: string;
  name: string;
  /** false: it exists but this pipeline may not use it. */
  authorized: boolean;
}

/**
 * An Azure DevOps organization's OIDC token endpoint for one running job:
 * `POST {collection}{projectId}/_apis/distributedtask/hubs/build/plans/{planId}/jobs/{jobId}/oidctoken`,
 * authorised by the job access token, optionally for a service connection.
 */
export class AzureDevOpsEmulator extends LoopbackServer {
  readonly orgName = 'octo-org';
  readonly projectName = 'octo-project';
  readonly projectId = randomUUID();
  readonly pipelineName = 'deploy-pipeline';
  readonly planId = randomUUID();
  readonly jobId = randomUUID();
  readonly jobAccessToken = randomBytes(32).toString('base64url');
  readonly serviceConnections: ServiceConnection[] = [];
  tokenLifetimeSeconds = 300;
  readonly issued: string[] = [];

  private constructor(
    readonly jwt: JwtIssuer,
    /** System.CollectionId: the GUID in the issuer. */
    readonly orgId: string,
  ) {
    super();
  }

  static async create(): Promise<AzureDevOpsEmulator> {
    const orgId = randomUUID();
    return new AzureDevOpsEmulator(
      await JwtIssuer.create(`https://vstoken.dev.azure.com/${orgId}`),
      orgId,
    ).start();
  }

  get issuer(): string {
    return this.jwt.issuer;
  }

  /** System.CollectionUri, with its trailing slash as the agent sets it. */
  get collectionUri(): string {
    return `${this.url}/${this.orgName}/`;
  }

  get pipelineSubject(): string {
    return `p://${this.orgName}/${this.projectName}/${this.pipelineName}`;
  }

  serviceConnectionSubject(name: string): string {
    return `sc://${this.orgName}/${this.projectName}/${name}`;
  }

  /** The System.* variables of the job, as the agent sets them for a task. */
  get systemEnv(): Record<string, string> {
    return {
      SYSTEM_COLLECTIONURI: this.collectionUri,
      SYSTEM_TEAMFOUNDATIONCOLLECTIONURI: this.collectionUri,
      SYSTEM_TEAMPROJECTID: this.projectId,
      SYSTEM_TEAMPROJECT: this.projectName,
      SYSTEM_HOSTTYPE: 'build',
      SYSTEM_PLANID: this.planId,
      SYSTEM_JOBID: this.jobId,
      SYSTEM_COLLECTIONID: this.orgId,
      SYSTEM_DEFINITIONNAME: this.pipelineName,
    };
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    const expected = `/${this.orgName}/${this.projectId}/_apis/distributedtask/hubs/build/plans/${this.planId}/jobs/${this.jobId}/oidctoken`;
    if (request.method !== 'POST' || request.path !== expected)
      return { status: 404, body: { message: 'Not found' } };
    if (request.headers.authorization !== `Bearer ${this.jobAccessToken}`) {
      return {
        status: 401,
        body: { message: 'TF400813: The user is not authorized to access this resource.' },
      };
    }
    if (request.query.get('api-version') !== '7.1')
      return { status: 400, body: { message: 'api-version 7.1 is required' } };
    const connectionId = request.query.get('serviceConnectionId');
    let sub = this.pipelineSubject;
    if (connectionId) {
      const connection = this.serviceConnections.find((c) => c.id === connectionId);
      if (!connection)
        return { status: 404, body: { message: `Service connection ${connectionId} was not found.` } };
      if (!connection.authorized) {
        return {
          status: 403,
          body: { message: `Pipeline is not authorized to use service connection ${connection.name}.` },
        };
      }
      sub = this.serviceConnectionSubject(connection.name);
    }
    const token = await this.jwt.sign({ sub, aud: 'api://AzureADTokenExchange' }, this.tokenLifetimeSeconds);
    this.issued.push(token);
    return { status: 200, body: { oidcToken: token } };
  }
}
