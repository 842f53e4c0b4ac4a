import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeFailure } from '../explain/errors.ts';
import type { Logger } from '../explain/logger.ts';
import type { SecretRegistry } from '../explain/redaction.ts';
import { normalizeHost } from '../net/host.ts';
import type { TokenProvider } from './token-provider.ts';

/** The service stops by itself after this long, in case nothing ever stops it. */
export const METADATA_SERVICE_MAX_LIFETIME_MS = 6 * 60 * 60 * 1000;

export interface MetadataServer {
  /** `http://127.0.0.1:<port>/<random path>`: a secret, since it hands out tokens. */
  url: string;
  close(): Promise<void>;
}

export interface MetadataServerOptions {
  host: string;
  provider: TokenProvider;
  secrets: SecretRegistry;
  log: Logger;
  maxLifetimeMs?: number | undefined;
  /** A fixed port (a sidecar's); default any free one. The random path still guards it. */
  port?: number | undefined;
  /** Called once the server has closed, whatever closed it. */
  onClose?: (() => void) | undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sameHost(header: string | string[] | undefined, host: string): boolean {
  if (typeof header !== 'string') return false;
  try {
    return normalizeHost(header) === host;
  } catch {
    return false;
  }
}

/**
 * Serves the Databricks SDKs' `metadata-service` auth protocol on 127.0.0.1 under a random
 * 256-bit path: `GET` with `X-Databricks-Metadata-Version: 1` and the configured
 * `X-Databricks-Host` returns `{access_token, token_type, expires_on}`. It answers 400 for a
 * bad version, 403 for another host, 404 for another path, and 502 with a redacted reason when
 * the upstream refresh fails, and keeps running.
 */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  const path = `/${randomBytes(32).toString('base64url')}`;
  const { provider, secrets, log, host } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestPath = (req.url ?? '').split('?')[0];
    if (requestPath !== path) return reply(res, 404, { error: 'not_found' });
    if (req.method !== 'GET') return reply(res, 405, { error: 'method_not_allowed' });
    if (req.headers['x-databricks-metadata-version'] !== '1') {
      return reply(res, 400, {
        error: 'unsupported_version',
        error_description: 'X-Databricks-Metadata-Version must be 1',
      });
    }
    if (!sameHost(req.headers['x-databricks-host'], host)) {
      return reply(res, 403, {
        error: 'host_mismatch',
        error_description: `this service serves ${host} only`,
      });
    }
    try {
      const credential = await provider.getCredential();
      reply(res, 200, {
        access_token: credential.token,
        token_type: 'Bearer',
        expires_on: Math.floor(credential.expiresAt.getTime() / 1000),
      });
    } catch (error) {
      const reason = secrets.redact(describeFailure(error)).split('\n')[0] ?? 'refresh failed';
      log.warn(`Token refresh failed: ${reason}`);
      reply(res, 502, { error: 'upstream_failed', error_description: reason });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => reply(res, 500, { error: 'internal_error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  secrets.register(url);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      server.closeAllConnections();
      server.close(() => {
        options.onClose?.();
        resolve();
      });
    });
    return closing;
  };
  const lifetime = setTimeout(() => {
    log.info('The metadata service reached its maximum lifetime and stops.');
    void close();
  }, options.maxLifetimeMs ?? METADATA_SERVICE_MAX_LIFETIME_MS);
  return { url, close };
}
