import * as http from 'node:http';
import * as https from 'node:https';
import { RELEASE_VERSION } from '../release.ts';
import { LoginError } from '../safe-output/errors.ts';
import { type Logger, silentLogger } from '../safe-output/logger.ts';
import { ProxyFailure, routeFor } from './agents.ts';

/** Statuses worth another attempt: throttling and transient server faults. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
const USER_AGENT = `databricks-oidc-login/${RELEASE_VERSION}`;

/** One request, described for people in `step` ("exchange the ID token at <host>"). */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  /** What this request is for; error messages read "Failed to <step>: ...". */
  step: string;
  headers?: Record<string, string> | undefined;
  body?: string | undefined;
  /** false: one attempt only (best-effort lookups). */
  retry?: boolean | undefined;
  /** Overrides the per-request timeout for this request. */
  timeoutMs?: number | undefined;
  /** PEM certificates to verify an https server with instead of the system's (a pod's ca.crt). */
  ca?: string | undefined;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpSettings {
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Absolute time (ms since epoch) after which no attempt starts and none runs on. */
  deadlineAt?: number | undefined;
  /** Attempts per request, first included. */
  maxAttempts?: number | undefined;
  maxResponseBytes?: number | undefined;
  /** Injectable for tests: waits between attempts. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Injectable for tests: a number in [0, 1) for jitter. */
  random?: (() => number) | undefined;
  now?: (() => number) | undefined;
  log?: Logger | undefined;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8_000;
const RETRY_AFTER_CAP_MS = 30_000;

/** Parses Retry-After (seconds or an HTTP date) into milliseconds, capped at 30 s. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const trimmed = raw.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

/** Why an attempt got no answer; `stale` is a kept-alive socket the server had closed. */
type FailureKind = 'timeout' | 'network' | 'too-large' | 'tls' | 'proxy' | 'proxy-refused' | 'stale';

class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    /** The proxy the attempt went through, named without credentials. */
    readonly proxy?: string | undefined,
  ) {
    super(message);
  }
}

/** Certificate problems: retrying cannot help, and the fix is on the runner (a CA) or the host name. */
const TLS_CERTIFICATE_ERROR =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT|DECODE)|HOSTNAME_MISMATCH|INVALID_CA/;
const STALE_SOCKET_ERROR = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * The one HTTP layer: every request of the project goes through `send`. It adds a per-attempt
 * timeout, an overall deadline, retries with exponential backoff and full jitter on network
 * errors, timeouts, 429 and 5xx (honouring Retry-After), a response-size cap, and the
 * HTTPS_PROXY/NO_PROXY rules of @actions/http-client. Connections are kept alive, per scheme and
 * proxy (see agents.ts). Other statuses come back as they are.
 */
export class HttpClient {
  readonly #settings: {
    timeoutMs: number;
    deadlineAt: number | undefined;
    maxAttempts: number;
    maxResponseBytes: number;
    sleep: (ms: number) => Promise<void>;
    random: () => number;
    now: () => number;
    log: Logger;
  };

  constructor(settings: HttpSettings) {
    this.#settings = {
      timeoutMs: settings.timeoutMs,
      deadlineAt: settings.deadlineAt,
      maxAttempts: settings.maxAttempts ?? 4,
      maxResponseBytes: settings.maxResponseBytes ?? 1024 * 1024,
      sleep: settings.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: settings.random ?? Math.random,
      now: settings.now ?? Date.now,
      log: settings.log ?? silentLogger,
    };
  }

  get timeoutMs(): number {
    return this.#settings.timeoutMs;
  }

  /** Sends a request, retrying transient failures; throws LoginError when no answer came. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const s = this.#settings;
    const attempts = request.retry === false ? 1 : s.maxAttempts;
    const where = describeUrl(request.url);
    let reopened = false;
    for (let attempt = 1; ; attempt++) {
      const remaining = (s.deadlineAt ?? Number.POSITIVE_INFINITY) - s.now();
      if (remaining <= 0) throw this.#timeoutError(request, where);
      const timeoutMs = Math.min(request.timeoutMs ?? s.timeoutMs, remaining);
      let delayMs: number;
      let reason: string;
      try {
        const started = s.now();
        const response = await this.#attempt(request, timeoutMs);
        s.log.debug(`${request.method} ${where}: HTTP ${response.status} in ${s.now() - started} ms`);
        if (!RETRYABLE_STATUSES.has(response.status) || attempt >= attempts) return response;
        reason = `HTTP ${response.status}`;
        delayMs = parseRetryAfter(response.headers['retry-after'], s.now()) ?? this.#backoff(attempt);
        if (!this.#hasTimeFor(delayMs)) return response;
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw asRequestRefusal(error, request, where);
        // A kept-alive socket the server closed meanwhile: one immediate new connection, not an attempt.
        if (error.kind === 'stale' && !reopened) {
          reopened = true;
          attempt--;
          continue;
        }
        const failure = this.#failure(error, request, where);
        if (attempt >= attempts || !isTransient(error.kind)) throw failure;
        reason = error.kind === 'timeout' ? 'a timeout' : error.message;
        delayMs = this.#backoff(attempt);
        if (!this.#hasTimeFor(delayMs)) throw failure;
      }
      s.log.debug(
        `Retrying: ${request.step} failed with ${reason}; attempt ${attempt + 1} of ${attempts} in ${delayMs} ms.`,
      );
      await s.sleep(delayMs);
    }
  }

  /** The LoginError for an attempt that got no answer, naming the proxy when there was one. */
  #failure(error: AttemptFailure, request: HttpRequest, where: string): LoginError {
    const failed = `Failed to ${request.step}`;
    switch (error.kind) {
      case 'timeout':
        return this.#timeoutError(request, where);
      case 'too-large':
        return new LoginError('RESPONSE_TOO_LARGE', `${failed}: ${error.message}`, {
          hint: `Check that ${where} is a Databricks or identity-provider endpoint; a proxy or captive portal may be answering instead.`,
        });
      case 'tls':
        return new LoginError(
          'TLS_CERTIFICATE_REJECTED',
          `${failed}: the TLS certificate of ${where} is not trusted or not issued for this host name (${error.message})`,
          {
            hint:
              'If a proxy or firewall inspects TLS, or the host uses a private CA, give Node that CA: set NODE_EXTRA_CA_CERTS to the path of a PEM file in the step environment. ' +
              'If the name does not match, use the host name the certificate is issued for.',
          },
        );
      case 'proxy':
      case 'proxy-refused': {
        return new LoginError(
          'PROXY_FAILED',
          `${failed}: cannot reach ${where} through the proxy ${error.proxy ?? '(HTTPS_PROXY)'} (${error.message})`,
          {
            hint: 'Check HTTPS_PROXY (and HTTP_PROXY): the proxy address, port and credentials, and that it allows CONNECT to this host. Add the host to NO_PROXY if it must be reached directly.',
          },
        );
      }
      default:
        return new LoginError('NETWORK_ERROR', `${failed}: cannot reach ${where} (${error.message})`, {
          hint: 'Check the host name and that the runner can reach it (firewall, private link, HTTPS_PROXY/NO_PROXY).',
        });
    }
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    return Math.floor(this.#settings.random() * ceiling);
  }

  #hasTimeFor(delayMs: number): boolean {
    const { deadlineAt, now } = this.#settings;
    return deadlineAt === undefined || now() + delayMs < deadlineAt;
  }

  #timeoutError(request: HttpRequest, where: string): LoginError {
    const seconds = Math.round((request.timeoutMs ?? this.#settings.timeoutMs) / 100) / 10;
    return new LoginError(
      'TIMEOUT',
      `Failed to ${request.step}: ${where} did not answer within ${seconds} s`,
      {
        hint: 'Check that the host is reachable from the runner and not overloaded, or raise the request timeout (timeout-seconds on GitHub, timeoutSeconds on Azure DevOps).',
      },
    );
  }

  #attempt(request: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
    const url = new URL(request.url);
    const transport = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      accept: 'application/json',
      ...request.headers,
    };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const limit = this.#settings.maxResponseBytes;
    const route = routeFor(url, this.#settings.timeoutMs);
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const options: https.RequestOptions = { method: request.method, headers, agent: route.agent };
      // A private CA (the Kubernetes API's ca.crt): agents pool connections per TLS options.
      if (request.ca !== undefined) options.ca = request.ca;
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            abort(new AttemptFailure(`the answer is larger than ${limit} bytes`, 'too-large'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          finish(() =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          ),
        );
        res.on('error', (error) => finish(() => reject(asAttemptFailure(error, false, route.proxy))));
        res.on('aborted', () =>
          finish(() => reject(new AttemptFailure('the connection closed mid-answer', 'network'))),
        );
      });
      // Settle first, then tear down, so the reason we chose is the one reported.
      const abort = (failure: AttemptFailure) => {
        finish(() => reject(failure));
        req.destroy();
      };
      const timer = setTimeout(() => abort(new AttemptFailure('timeout', 'timeout')), timeoutMs);
      req.on('error', (error) =>
        finish(() => reject(asAttemptFailure(error, req.reusedSocket, route.proxy))),
      );
      req.end(request.body);
    });
  }
}

/** Node's refusals to send a header or URL it considers invalid: no request left the runner. */
const UNSENDABLE = new Set([
  'ERR_INVALID_CHAR',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_URL',
]);

/**
 * Turns Node's "Invalid character in header content" and the like into the one error type, so
 * no raw Node message reaches a user. Tokens are token-shaped by the time they are sent, so this
 * is what is left: a setting or a value that holds characters HTTP cannot carry.
 */
function asRequestRefusal(error: unknown, request: HttpRequest, where: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof LoginError || !code || !UNSENDABLE.has(code)) return error;
  return new LoginError(
    'INPUT_INVALID',
    `Failed to ${request.step}: the request to ${where} was not sent, because a header or the URL holds characters HTTP does not allow (${code})`,
    {
      hint: 'Check the settings of this step for quotes, spaces, control or non-ASCII characters (host, IDs, tokens and secrets are plain ASCII), and that no earlier step handed it a garbled value.',
    },
  );
}

/** Which failures another attempt may cure. */
function isTransient(kind: FailureKind): boolean {
  return kind === 'timeout' || kind === 'network' || kind === 'proxy' || kind === 'stale';
}

function asAttemptFailure(error: unknown, reusedSocket = false, proxy?: string): AttemptFailure {
  if (error instanceof AttemptFailure) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ProxyFailure)
    return new AttemptFailure(message, code ? 'proxy' : 'proxy-refused', proxy);
  if (code && TLS_CERTIFICATE_ERROR.test(code)) return new AttemptFailure(`${code}: ${message}`, 'tls');
  if (reusedSocket && code && STALE_SOCKET_ERROR.has(code)) return new AttemptFailure(code, 'stale');
  return new AttemptFailure(code ?? message, proxy ? 'proxy' : 'network', proxy);
}

/** Origin and path only: query strings may carry request IDs we do not want in logs. */
export function describeUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Parses a JSON object body, or returns undefined for anything else. */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Encodes a form body for OAuth endpoints. */
export function formBody(fields: Record<string, string | undefined>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) form.set(key, value);
  return form.toString();
}
