import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { getProxyUrl } from '@actions/http-client/lib/proxy';

/**
 * Connection pools for the HTTP layer: one keep-alive agent per scheme, and one per scheme and
 * proxy when HTTPS_PROXY/HTTP_PROXY applies (NO_PROXY and loopback bypass it, by the rules of
 * @actions/http-client). Node unrefs idle keep-alive sockets, so a pool never delays exit.
 * Picking the agent per request scheme is what lets one login mix https and http endpoints.
 */

/** Idle sockets close after this, so a long-lived process (the metadata service) keeps none stale. */
const IDLE_SOCKET_MS = 30_000;

/** Where a request goes: straight to the host, or through a proxy (named without credentials). */
export interface Route {
  agent: http.Agent;
  /** `http://proxy.example:3128`, without user name or password; undefined when direct. */
  proxy: string | undefined;
}

const pools = new Map<string, http.Agent>();

/** The agent for a URL, created once per scheme and proxy and then reused. */
export function routeFor(url: URL, connectTimeoutMs: number): Route {
  const secure = url.protocol === 'https:';
  const proxyUrl = getProxyUrl(url);
  const proxy = proxyUrl?.hostname ? `${proxyUrl.protocol}//${proxyUrl.host}` : undefined;
  const key = `${url.protocol}${proxy ?? ''}`;
  let agent = pools.get(key);
  if (!agent) {
    const options = { keepAlive: true, timeout: IDLE_SOCKET_MS };
    agent =
      proxyUrl && proxy
        ? tunnelingAgent(secure, proxyUrl, connectTimeoutMs, options)
        : secure
          ? new https.Agent(options)
          : new http.Agent(options);
    pools.set(key, agent);
  }
  return { agent, proxy };
}

/** Raised when the proxy itself cannot be reached or refuses the tunnel. */
export class ProxyFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

type ConnectOptions = http.ClientRequestArgs & tls.ConnectionOptions & { host?: string; port?: number };
type Callback = (error: Error | null, socket?: Duplex) => void;

/**
 * An agent whose connections are CONNECT tunnels through the proxy, wrapped in TLS for https.
 * The tunnels are ordinary pooled sockets, so keep-alive works through the proxy too.
 */
function tunnelingAgent(
  secure: boolean,
  proxy: URL,
  connectTimeoutMs: number,
  options: http.AgentOptions,
): http.Agent {
  const openTunnel = (target: ConnectOptions, callback: Callback) => {
    const authority = `${target.host}:${target.port}`;
    const headers: Record<string, string> = { host: authority };
    if (proxy.username || proxy.password) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const request = (proxy.protocol === 'https:' ? https : http).request({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      timeout: connectTimeoutMs,
    });
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        callback(
          new ProxyFailure(
            `it refused the tunnel to ${authority} with HTTP ${response.statusCode}`,
            undefined,
          ),
        );
        return;
      }
      if (!secure) return callback(null, socket);
      const { agent: _agent, ...tlsOptions } = target;
      callback(null, tls.connect({ ...tlsOptions, socket, servername: target.servername ?? target.host }));
    });
    request.once('timeout', () => request.destroy(new ProxyFailure('it did not answer', 'ETIMEDOUT')));
    request.once('error', (error: NodeJS.ErrnoException) =>
      callback(
        error instanceof ProxyFailure ? error : new ProxyFailure(error.code ?? error.message, error.code),
      ),
    );
    request.end();
  };
  // Node's Agent accepts an asynchronous createConnection: return nothing, call back later.
  const Base = secure ? https.Agent : http.Agent;
  const agent = new Base(options);
  Object.assign(agent, {
    createConnection(target: ConnectOptions, callback: Callback): undefined {
      openTunnel(target, callback);
      return undefined;
    },
  });
  return agent;
}
