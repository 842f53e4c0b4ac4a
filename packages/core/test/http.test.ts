import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabricksEmulator } from '../../../test/emulators/index.ts';
import { HttpClient, LoginError, parseRetryAfter } from '../src/index.ts';

let emu: DatabricksEmulator;
const sleeps: number[] = [];
const PATH = '/.well-known/databricks-config';

beforeEach(async () => {
  emu = await DatabricksEmulator.create({ defaultAudiences: ['a'] });
  sleeps.length = 0;
});
afterEach(async () => {
  await emu.stop();
});

/** An HTTP layer whose waits are recorded instead of slept. */
function client(settings: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}): HttpClient {
  return new HttpClient({
    timeoutMs: 2_000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...settings,
  });
}

const get = (http: HttpClient, url = `${emu.url}${PATH}`) =>
  http.send({ method: 'GET', url, step: 'read the test endpoint' });

async function failure(promise: Promise<unknown>): Promise<LoginError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LoginError) return error;
    throw error;
  }
  throw new Error('expected a LoginError');
}

describe('the HTTP layer', () => {
  it('retries 503, 503 then succeeds on the third attempt, with growing jittered backoff', async () => {
    emu.inject({ path: PATH, status: 503 }, { path: PATH, status: 503 });
    const response = await get(client());
    expect(response.status).toBe(200);
    expect(emu.requestsTo(PATH)).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]); // random 0.5 of 500 ms, then of 1000 ms
  });

  it('retries each of 429, 500, 502 and 504, and gives up after 4 attempts with the last answer', async () => {
    emu.inject(
      { path: PATH, status: 429 },
      { path: PATH, status: 500 },
      { path: PATH, status: 502 },
      { path: PATH, status: 504 },
    );
    const response = await get(client());
    expect(response.status).toBe(504);
    expect(emu.requestsTo(PATH)).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('never retries another 4xx', async () => {
    for (const status of [400, 401, 403, 404, 409]) {
      emu.inject({ path: PATH, status });
      const before = emu.requestsTo(PATH).length;
      expect((await get(client())).status).toBe(status);
      expect(emu.requestsTo(PATH).length - before).toBe(1);
    }
    expect(sleeps).toEqual([]);
  });

  it('honours Retry-After in seconds and as an HTTP date, capped at 30 s', async () => {
    emu.inject(
      { path: PATH, status: 503, headers: { 'retry-after': '2' } },
      { path: PATH, status: 429, headers: { 'retry-after': '3600' } },
    );
    await get(client());
    expect(sleeps).toEqual([2000, 30_000]);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('retries network errors, then names the host it could not reach', async () => {
    const port = Number(new URL(emu.url).port);
    await emu.stop();
    const error = await failure(get(client(), `http://127.0.0.1:${port}${PATH}`));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain(`cannot reach http://127.0.0.1:${port}${PATH} (ECONNREFUSED)`);
    expect(sleeps).toHaveLength(3);
  });

  it('retries a connection cut mid-answer', async () => {
    emu.inject({ path: PATH, truncate: true });
    expect((await get(client())).status).toBe(200);
    expect(emu.requestsTo(PATH)).toHaveLength(2);
  });

  it('times out a hanging server per attempt, and stops at the overall deadline', async () => {
    for (let i = 0; i < 4; i++) emu.inject({ path: PATH, hang: true });
    const started = Date.now();
    const error = await failure(
      get(client({ timeoutMs: 300, deadlineAt: Date.now() + 700, sleep: undefined, random: () => 0 })),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(emu.requestsTo(PATH).length).toBeGreaterThanOrEqual(2);
    expect(emu.requestsTo(PATH).length).toBeLessThanOrEqual(3);
  });

  it('refuses an answer larger than the cap, without retrying', async () => {
    emu.inject({ path: PATH, status: 200, body: 'x'.repeat(2 * 1024 * 1024) });
    const error = await failure(get(client()));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
    expect(emu.requestsTo(PATH)).toHaveLength(1);
  });

  it('does not retry when asked for a single attempt', async () => {
    emu.inject({ path: PATH, status: 503 });
    const response = await client().send({
      method: 'GET',
      url: `${emu.url}${PATH}`,
      step: 'x',
      retry: false,
    });
    expect(response.status).toBe(503);
    expect(emu.requestsTo(PATH)).toHaveLength(1);
  });
});

describe('the HTTP layer behind a proxy', () => {
  let proxy: Server;
  const tunnels: string[] = [];
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };

  beforeEach(async () => {
    tunnels.length = 0;
    // A CONNECT proxy that sends every tunnel to the emulator, whatever host was asked for.
    proxy = createServer();
    proxy.on('connect', (req, socket, head) => {
      tunnels.push(req.url ?? '');
      const upstream = connect(Number(new URL(emu.url).port), '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    process.env.HTTP_PROXY = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('sends requests through HTTP(S)_PROXY', async () => {
    const port = new URL(emu.url).port;
    const response = await get(client(), `http://workspace.example.test:${port}${PATH}`);
    expect(response.status).toBe(200);
    expect(tunnels).toEqual([`workspace.example.test:${port}`]);
  });

  it('goes direct for hosts in NO_PROXY, and for loopback hosts', async () => {
    process.env.NO_PROXY = '.example.test';
    const port = new URL(emu.url).port;
    const error = await failure(
      get(client({ maxAttempts: 1 }), `http://workspace.example.test:${port}${PATH}`),
    );
    expect(error.code).toBe('NETWORK_ERROR'); // no such host without the proxy
    expect((await get(client())).status).toBe(200);
    expect(tunnels).toEqual([]);
  });
});
