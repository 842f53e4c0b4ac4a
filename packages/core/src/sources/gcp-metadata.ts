import { assertPrintable, isLoopbackHostname } from '../net/host.ts';
import { LoginError } from '../safe-output/errors.ts';
import type { IdTokenSource } from './id-token-source.ts';

const DEFAULT_METADATA_HOST = 'metadata.google.internal';
/** The metadata server speaks plain http by design; it never leaves the VM or node. */
const METADATA_HOSTS = new Set([DEFAULT_METADATA_HOST, '169.254.169.254']);

/**
 * GCE and GKE: the metadata server's identity endpoint gives a Google-signed ID token of the
 * VM's or pod's service account for any audience. GCE_METADATA_HOST (`host:port`) overrides
 * the server, as in Google's own libraries; only the metadata addresses and loopback are allowed.
 */
export function gcpMetadataIdTokenSource(env: NodeJS.ProcessEnv = process.env): IdTokenSource {
  const hostPort = env.GCE_METADATA_HOST?.trim() || DEFAULT_METADATA_HOST;
  assertPrintable('GCE_METADATA_HOST', hostPort);
  let base: URL;
  try {
    base = new URL(`http://${hostPort}`);
  } catch {
    base = new URL('http://invalid.');
  }
  if (
    base.pathname !== '/' ||
    base.username ||
    !(METADATA_HOSTS.has(base.hostname) || isLoopbackHostname(base.hostname))
  ) {
    throw new LoginError(
      'HOST_INSECURE',
      `Failed to use GCE_METADATA_HOST ${hostPort}: only the metadata server (metadata.google.internal, 169.254.169.254) or a loopback host may be asked over plain http`,
      { hint: 'Unset GCE_METADATA_HOST on GCE and GKE, or set it to host:port of a local emulator.' },
    );
  }
  return {
    description: `the GCE metadata server (${base.host})`,
    issuesGoogleIdTokens: true,
    policyNotes: (claims) => [
      `Google's issuer is ${claims.iss}; the subject is the service account's numeric unique ID${typeof claims.payload.email === 'string' ? ` (${claims.payload.email})` : ''}.`,
    ],
    async getIdToken(audience, http) {
      const url = new URL('/computeMetadata/v1/instance/service-accounts/default/identity', base);
      url.searchParams.set('audience', audience);
      url.searchParams.set('format', 'full');
      const step = 'get an ID token from the GCE metadata server';
      const response = await http.send({
        method: 'GET',
        url: url.href,
        step,
        headers: { 'metadata-flavor': 'Google' },
      });
      const token = response.body.trim();
      if (response.status !== 200 || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
        throw new LoginError(
          response.status === 200 ? 'RESPONSE_MALFORMED' : 'ID_TOKEN_REQUEST_FAILED',
          `Failed to ${step}: ${base.host} answered HTTP ${response.status}${response.status === 200 ? ' without a token' : ''}`,
          {
            hint:
              response.status === 404
                ? 'The VM or node has no service account attached, or (GKE) the pod uses Workload Identity without a Google service account binding.'
                : 'Check that this runs on GCE or GKE and that GCE_METADATA_HOST, if set, names the metadata server.',
          },
        );
      }
      return token;
    },
  };
}
