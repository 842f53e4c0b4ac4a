import type { JwtIssuer } from './jwt-issuer.ts';
import { LoopbackServer, type RecordedRequest, type Reply } from './loopback-server.ts';
import type { TestCa } from './test-ca.ts';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * A Kubernetes API server over HTTPS (its certificate from a throwaway CA) that serves the
 * TokenRequest API: `POST /api/v1/namespaces/NS/serviceaccounts/SA/token`, authenticated by a
 * pod's service-account token, with RBAC (`create` on `serviceaccounts/token`) and answers in
 * the API server's own Status format.
 */
export class KubernetesApiServer extends LoopbackServer {
  readonly serviceAccounts: ServiceAccountRef[] = [];
  /** Which pod identity may mint tokens for which service account: "ns/pod-sa -> ns/target". */
  readonly grants = new Set<string>();
  /** Tokens of pods, by token: the identity they authenticate. */
  readonly #podTokens = new Map<string, ServiceAccountRef>();
  /** The longest lifetime it grants (the API server's --service-account-max-token-expiration). */
  maxTokenSeconds = 3600;
  readonly issued: string[] = [];

  private constructor(readonly issuer: JwtIssuer) {
    super();
  }

  static async create(issuer: JwtIssuer, ca: TestCa): Promise<KubernetesApiServer> {
    return new KubernetesApiServer(issuer).start({ key: ca.serverKey, cert: ca.serverCert });
  }

  /** A pod's own (default) service-account token. */
  async podToken(sa: ServiceAccountRef): Promise<string> {
    const token = await this.issuer.sign(
      { sub: `system:serviceaccount:${sa.namespace}:${sa.name}`, aud: ['https://kubernetes.default.svc'] },
      3600,
    );
    this.#podTokens.set(token, sa);
    return token;
  }

  /** Allows `from` to create tokens for `to` (a Role and RoleBinding). */
  grant(from: ServiceAccountRef, to: ServiceAccountRef): void {
    this.grants.add(`${from.namespace}/${from.name} -> ${to.namespace}/${to.name}`);
  }

  #status(code: number, reason: string, message: string): Reply {
    return {
      status: code,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
    };
  }

  protected async handle(request: RecordedRequest): Promise<Reply> {
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(request.path);
    if (request.method !== 'POST' || !match)
      return this.#status(404, 'NotFound', 'the server could not find the requested resource');
    const caller = this.#podTokens.get(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '');
    if (!caller) return this.#status(401, 'Unauthorized', 'Unauthorized');
    const [, namespace = '', name = ''] = match;
    const user = `system:serviceaccount:${caller.namespace}:${caller.name}`;
    if (!this.grants.has(`${caller.namespace}/${caller.name} -> ${namespace}/${name}`)) {
      return this.#status(
        403,
        'Forbidden',
        `serviceaccounts "${name}" is forbidden: User "${user}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${namespace}"`,
      );
    }
    if (!this.serviceAccounts.some((sa) => sa.namespace === namespace && sa.name === name)) {
      return this.#status(404, 'NotFound', `serviceaccounts "${name}" not found`);
    }
    const body = JSON.parse(request.body || '{}') as {
      spec?: { audiences?: string[]; expirationSeconds?: number };
    };
    const seconds = Math.min(body.spec?.expirationSeconds ?? 3600, this.maxTokenSeconds);
    const token = await this.issuer.sign(
      {
        sub: `system:serviceaccount:${namespace}:${name}`,
        aud: body.spec?.audiences ?? ['https://kubernetes.default.svc'],
        'kubernetes.io': { namespace, serviceaccount: { name } },
      },
      seconds,
    );
    this.issued.push(token);
    return {
      status: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace },
        spec: { ...body.spec, expirationSeconds: seconds },
        status: { token, expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString() },
      },
    };
  }
}
