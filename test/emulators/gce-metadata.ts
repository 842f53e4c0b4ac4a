import type { CiIssuer } from './ci-issuers.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';

/**
 * The GCE/GKE metadata server's identity endpoint: `GET /computeMetadata/v1/instance/
 * service-accounts/default/identity?audience=...&format=full` with `Metadata-Flavor: Google`
 * returns a Google-signed ID token as plain text.
 */
export class GceMetadataServer extends LoopbackServer {
  readonly issued: string[] = [];

  private constructor(readonly google: CiIssuer) {
    super();
  }

  static async create(google: CiIssuer): Promise<GceMetadataServer> {
    return new GceMetadataServer(google).start();
  }

  /** What GCE_METADATA_HOST holds: host:port. */
  get hostPort(): string {
    return new URL(this.url).host;
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    const text = { 'content-type': 'text/html' };
    if (request.headers['metadata-flavor'] !== 'Google') {
      return { status: 403, headers: text, body: 'Missing required header "Metadata-Flavor": "Google"' };
    }
    if (
      request.method !== 'GET' ||
      request.path !== '/computeMetadata/v1/instance/service-accounts/default/identity'
    ) {
      return { status: 404, headers: text, body: 'Not Found' };
    }
    const audience = request.query.get('audience');
    if (!audience) return { status: 400, headers: text, body: 'non-empty audience parameter required' };
    const extra =
      request.query.get('format') === 'full'
        ? { google: { compute_engine: { project_id: 'octo-project', zone: 'us-central1-a' } } }
        : {};
    const token = await this.google.mint(audience, 3600, extra);
    this.issued.push(token);
    return {
      status: 200,
      headers: { 'content-type': 'application/text', 'metadata-flavor': 'Google' },
      body: token,
    };
  }
}
