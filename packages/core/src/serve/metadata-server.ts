import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { normalizeHost } from '../net/host.ts';
import { describeFailure } from '../safe-output/errors.ts';
import type { Logger } from '../safe-output/logger.ts';
import { neutraliseRunnerCommands } from '../safe-output/printable.ts';
import type { SecretRegistry } from '../safe-output/redaction.ts';
import type { TokenProvider } from './token-cache.ts';

/**
 * The service stops by itself after this long, in case nothing ever stops it: 5 days, the
 * longest a GitHub job may run on a self-hosted runner, so it never cuts off a real job.
 */
export const METADATA_SERVICE_MAX_LIFETIME_MS = 5 * 24 * 60 * 60 * 1000;
/** Every answer comes within this, below the Databricks SDKs' 10-second client timeout. */
export const METADATA_ANSWER_WITHIN_MS = 8_000;
/** The header the post steps send to make the service prove it is theirs (it answers with its PID). */
export const IDENTIFY_HEADER = 'x-databricks-oidc-login-identify';

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
  /** Default 5 days; Infinity for no limit (a sidecar). */
  maxLifetimeMs?: number | undefined;
  /** Default 8 s: longer refreshes go on, but the client gets its answer (502) in time. */
  answerWithinMs?: number | undefined;
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

/**
 * The host check: the header names the same scheme, host and port as the service's host. Letter
 * case, an explicit default port (:443, :80), a path and a trailing slash do not matter, so a
 * bundle that spells the workspace host `https://ADB-1.2.azuredatabricks.net:443/` is served.
 */
export function sameHost(header: string | string[] | undefined, host: string): boolean {
  if (typeof header !== 'string') return false;
  try {
    return normalizeHost(header) === host;
  } catch {
    return false;
  }
}

/** setTimeout that also works beyond its 24.8-day limit; Infinity never fires. */
function setLongTimeout(callback: () => void, ms: number): { clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number) => {
    if (!Number.isFinite(left)) return;
    const step = Math.min(left, 2 ** 31 - 1);
    timer = setTimeout(() => (left > step ? arm(left - step) : callback()), Math.max(0, step));
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

const TIMED_OUT = Symbol('timed out');

/**
 * Serves the Databricks SDKs' `metadata-service` auth protocol on 127.0.0.1 under a random
 * 256-bit path: `GET` with `X-Databricks-Metadata-Version: 1` and the configured
 * `X-Databricks-Host` returns `{access_token, token_type, expires_on}`. It answers 400 for a
 * bad version, 403 for another host, 404 for another path, and, within 8 s whatever upstream
 * does, 502 with a redacted reason once no usable token is left; and keeps running.
 * A `GET` on its path with `X-Databricks-Oidc-Login-Identify: 1` answers `{pid}`, so a post
 * step can check that a PID is this service before it signals it.
 */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  const path = `/${randomBytes(32).toString('base64url')}`;
  const { provider, secrets, log, host } = options;
  const answerWithinMs = options.answerWithinMs ?? METADATA_ANSWER_WITHIN_MS;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestPath = (req.url ?? '').split('?')[0];
    if (requestPath !== path) return reply(res, 404, { error: 'not_found' });
    if (req.method !== 'GET') return reply(res, 405, { error: 'method_not_allowed' });
    if (req.headers[IDENTIFY_HEADER] === '1') {
      return reply(res, 200, { service: 'databricks-oidc-login', pid: process.pid });
    }
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
    let timer: NodeJS.Timeout | undefined;
    try {
      const credential = await Promise.race([
        provider.getCredential(),
        new Promise<typeof TIMED_OUT>((resolve) => {
          timer = setTimeout(() => resolve(TIMED_OUT), answerWithinMs);
        }),
      ]);
      if (credential === TIMED_OUT) {
        const reason = `the token refresh is taking longer than ${answerWithinMs / 1000} s and no usable token is cached; it goes on, ask again shortly`;
        log.warn(`Answered 502: ${reason}`);
        return reply(res, 502, { error: 'upstream_slow', error_description: reason });
      }
      reply(res, 200, {
        access_token: credential.token,
        token_type: 'Bearer',
        expires_on: Math.floor(credential.expiresAt.getTime() / 1000),
      });
    } catch (error) {
      // SDK clients and databricks-oidc-token print this reason: it must forge no runner command.
      const cause = neutraliseRunnerCommands(
        secrets.redact(describeFailure(error)).split('\n')[0] ?? 'refresh failed',
      );
      const retry =
        provider.retryInMs > 0 ? ` (next attempt in ${Math.ceil(provider.retryInMs / 1000)} s)` : '';
      const reason = `no usable token: the last refresh failed${retry}: ${cause}`;
      log.warn(`Answered 502: ${reason}`);
      reply(res, 502, { error: 'upstream_failed', error_description: reason });
    } finally {
      clearTimeout(timer);
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
      lifetime.clear();
      server.closeAllConnections();
      server.close(() => {
        options.onClose?.();
        resolve();
      });
    });
    return closing;
  };
  const lifetime = setLongTimeout(() => {
    log.info('The metadata service reached its maximum lifetime and stops.');
    void close();
  }, options.maxLifetimeMs ?? METADATA_SERVICE_MAX_LIFETIME_MS);
  return { url, close };
}
