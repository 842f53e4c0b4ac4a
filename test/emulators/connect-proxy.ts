import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A forwarding proxy that speaks CONNECT, as corporate proxies do. Every tunnel goes to
 * 127.0.0.1 on the port that was asked for, so a test can use a non-loopback host name (which
 * the proxy rules do not bypass). `refuseWith` answers every CONNECT with that status instead.
 */
export class ConnectProxy {
  /** The `host:port` of each tunnel asked for, in order. */
  readonly tunnels: string[] = [];
  /** Proxy-Authorization headers received. */
  readonly authorizations: string[] = [];
  refuseWith: number | undefined;
  #server: Server | undefined;
  #url = '';
  /** Tunnels leave the HTTP server's books, so stop() closes them itself. */
  readonly #open = new Set<Duplex>();

  get url(): string {
    return this.#url;
  }

  async start(): Promise<this> {
    const server = createServer((_req, res) => res.writeHead(405).end());
    server.on('connect', (req, socket, head) => {
      this.tunnels.push(req.url ?? '');
      this.#open.add(socket);
      socket.on('close', () => this.#open.delete(socket));
      this.authorizations.push(String(req.headers['proxy-authorization'] ?? ''));
      if (this.refuseWith) {
        socket.end(`HTTP/1.1 ${this.refuseWith} Refused\r\ncontent-length: 0\r\n\r\n`);
        return;
      }
      const port = Number((req.url ?? '').split(':').pop());
      const upstream = connect(port, '127.0.0.1', () => {
        this.#open.add(upstream);
        upstream.on('close', () => this.#open.delete(upstream));
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const socket of this.#open) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
