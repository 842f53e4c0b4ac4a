import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertPrintable } from '../net/host.ts';
import { parseJsonObject } from '../net/http.ts';
import { LoginError } from '../safe-output/errors.ts';
import { quoteInput } from '../safe-output/printable.ts';
import { excerpt } from '../safe-output/server-answer.ts';
import type { IdTokenSource } from './id-token-source.ts';
import { kubernetesPolicyNotes, SERVICE_ACCOUNT_DIR } from './kubernetes.ts';

/** The lifetime asked for; the API server may shorten it (its --service-account-max-token-expiration). */
const REQUESTED_SECONDS = 3600;
const TLS_FAILURE =
  /\b(?:UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID)\b/;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** A namespace is a DNS-1123 label: it goes into the request path, so nothing else may pass. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface KubernetesTokenRequestOptions {
  /** `NAMESPACE/NAME`, or `NAME` for the pod's own namespace. */
  serviceAccount: string;
  /** The pod's service-account folder: token, ca.crt, namespace. */
  serviceAccountDir?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

async function readSetting(dir: string, file: string, why: string): Promise<string> {
  const path = join(dir, file);
  try {
    const value = (await readFile(path, 'utf8')).trim();
    if (value) return value;
  } catch {
    // reported below
  }
  throw new LoginError('ID_TOKEN_UNAVAILABLE', `Failed to read ${path}: it is missing or empty (${why})`, {
    hint: `Run in a pod with a mounted service-account token, or point --k8s-sa-dir at the folder holding token, ca.crt and namespace.`,
  });
}

/** The pod's namespace file, checked before it becomes part of a URL. */
function podNamespace(dir: string, value: string): string {
  if (NAMESPACE.test(value)) return value;
  const path = join(dir, 'namespace');
  throw new LoginError(
    'INPUT_INVALID',
    `Failed to read ${path}: ${quoteInput(value)} is not a Kubernetes namespace (a DNS-1123 label)`,
    {
      hint: `A namespace is at most 63 lowercase letters, digits and -. Check what wrote ${path}, point --k8s-sa-dir at the pod's service-account folder, or name the namespace: --k8s-service-account NAMESPACE/NAME.`,
    },
  );
}

function invalidServiceAccount(value: string): LoginError {
  return new LoginError(
    'INPUT_INVALID',
    `Failed to read --k8s-service-account: "${value}" is not NAMESPACE/NAME or NAME`,
    { hint: 'Set --k8s-service-account to a service account, e.g. data-jobs/databricks-deployer.' },
  );
}

/**
 * Kubernetes TokenRequest: mints a token for another service account with
 * `POST /api/v1/namespaces/NS/serviceaccounts/SA/token`, authenticated by the pod's own
 * token and verified against the pod's ca.crt. One identity per namespace, no secret.
 */
export function kubernetesTokenRequestIdTokenSource(options: KubernetesTokenRequestOptions): IdTokenSource {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir || SERVICE_ACCOUNT_DIR;
  const raw = options.serviceAccount.trim();
  assertPrintable('k8s-service-account', raw);
  const parts = raw.split('/');
  if (parts.length > 2 || parts.some((p) => !NAME.test(p))) throw invalidServiceAccount(raw);
  if (parts.length === 2 && !NAMESPACE.test(parts[0] as string)) throw invalidServiceAccount(raw);
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim() || '443';
  if (!host) {
    throw new LoginError(
      'ID_TOKEN_UNAVAILABLE',
      'Failed to find the Kubernetes API server: KUBERNETES_SERVICE_HOST is not set',
      { hint: 'Run in a pod (Kubernetes sets KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT).' },
    );
  }
  const apiServer = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    description: `Kubernetes TokenRequest for the service account ${raw}`,
    policyNotes: kubernetesPolicyNotes,
    async getIdToken(audience, http) {
      const namespace =
        parts.length === 2
          ? (parts[0] as string)
          : podNamespace(dir, await readSetting(dir, 'namespace', "the pod's namespace"));
      const name = parts[parts.length - 1] as string;
      const podToken = await readSetting(dir, 'token', "the pod's own token authenticates the request");
      const ca = await readSetting(dir, 'ca.crt', 'it verifies the API server');
      const url = `${apiServer}/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`;
      const step = `mint a token for the service account ${namespace}/${name} with the TokenRequest API`;
      const response = await http
        .send({
          method: 'POST',
          url,
          step,
          ca,
          headers: { authorization: `Bearer ${podToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { audiences: [audience], expirationSeconds: REQUESTED_SECONDS },
          }),
        })
        .catch((error: unknown) => {
          const tls = error instanceof LoginError && TLS_FAILURE.exec(error.message);
          if (!tls) throw error;
          throw new LoginError(
            'NETWORK_ERROR',
            `Failed to ${step}: the API server's certificate does not verify against ${join(dir, 'ca.crt')} (${tls[0]})`,
            {
              hint: `Check that ${join(dir, 'ca.crt')} is the cluster's CA and that KUBERNETES_SERVICE_HOST is the cluster's API server; no token was requested.`,
            },
          );
        });
      const body = parseJsonObject(response.body);
      const says = typeof body?.message === 'string' ? `: ${excerpt(body.message, 300)}` : '';
      if (response.status === 403) {
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the API server refused (HTTP 403${says})`,
          {
            hint: `Grant the pod's service account the verb create on the resource serviceaccounts/token for ${name} in namespace ${namespace}: a Role with rules [{apiGroups: [""], resources: ["serviceaccounts/token"], resourceNames: ["${name}"], verbs: ["create"]}] and a RoleBinding to the pod's service account.`,
          },
        );
      }
      if (response.status === 404) {
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the service account ${namespace}/${name} was not found (HTTP 404${says})`,
          {
            hint: `Check --k8s-service-account: create it with kubectl create serviceaccount ${name} -n ${namespace}, or fix the namespace or name.`,
          },
        );
      }
      if (response.status === 401) {
        throw new LoginError(
          'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the API server did not accept the pod's token (HTTP 401${says})`,
          {
            hint: `Check that ${join(dir, 'token')} is the pod's current service-account token.`,
          },
        );
      }
      const status = body?.status as Record<string, unknown> | undefined;
      const token = response.status === 201 || response.status === 200 ? status?.token : undefined;
      if (typeof token !== 'string' || token === '') {
        throw new LoginError(
          response.status < 300 ? 'RESPONSE_MALFORMED' : 'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: the API server answered HTTP ${response.status}${says || ' without status.token'}`,
          {
            hint: 'Check that KUBERNETES_SERVICE_HOST points at the cluster API server (Kubernetes 1.22 or later).',
          },
        );
      }
      return token;
    },
  };
}
