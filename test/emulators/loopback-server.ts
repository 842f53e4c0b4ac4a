import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A request as an emulator saw it, for tests to assert on. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  form: URLSearchParams;
  at: number;
}

/**
 * A fault to inject instead of the normal answer, consumed in order by matching requests.
 * `hang` accepts the request and never answers; `status`/`body`/`headers` answer as given.
 */
export interface Fault {
  path?: string | RegExp;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  hang?: boolean;
  /** Send the headers then stop, mid-body. */
  truncate?: boolean;
}

export interface Reply {
  status: number;
  /** JSON-encoded unless a string or raw bytes. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Accept the request and never answer (stop() closes the socket). */
  hang?: boolean;
}

/** A real HTTP server on 127.0.0.1 with request recording and fault injection. */
export abstract class LoopbackServer {
  readonly requests: RecordedRequest[] = [];
  readonly #faults: Fault[] = [];
  #server: Server | undefined;
  #url = '';

  /** The base URL, `http://127.0.0.1:<port>` (https with `start({ tls })`). */
  get url(): string {
    if (!this.#url) throw new Error('emulator not started');
    return this.#url;
  }

  /** Queues faults; each is used once, by the first request whose path matches. */
  inject(...faults: Fault[]): void {
    this.#faults.push(...faults);
  }

  /** Drops faults no request has used yet. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Requests whose path matches, for counting attempts. */
  requestsTo(path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  protected abstract handle(request: RecordedRequest): Promise<Reply> | Reply;

  /** Listens on 127.0.0.1; with `tls` (PEM key and certificate) over HTTPS. */
  async start(options: { tls?: { key: string; cert: string } } = {}): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#serve(req, res);
    const server: Server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = Buffer.concat(chunks).toString('utf8');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      form: new URLSearchParams(String(req.headers['content-type']).includes('form') ? body : ''),
      at: Date.now(),
    };
    this.requests.push(request);
    const index = this.#faults.findIndex(
      (f) =>
        f.path === undefined ||
        (typeof f.path === 'string' ? f.path === request.path : f.path.test(request.path)),
    );
    if (index >= 0) {
      const [fault] = this.#faults.splice(index, 1);
      if (fault?.hang) return; // never answer; stop() closes the socket
      if (fault?.truncate) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"access_token": "');
        res.socket?.destroy();
        return;
      }
      res.writeHead(fault?.status ?? 500, { 'content-type': 'application/json', ...fault?.headers });
      res.end(fault?.body ?? '');
      return;
    }
    let reply: Reply;
    try {
      reply = await this.handle(request);
    } catch (error) {
      reply = { status: 500, body: { error: 'emulator_error', error_description: String(error) } };
    }
    const text =
      typeof reply.body === 'string'
        ? reply.body
        : reply.body === undefined
          ? ''
          : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(text);
  }
}
