/**
 * A forward HTTP proxy for tests. undici tunnels through a proxy with CONNECT even for http
 * targets; the tunnel's plain HTTP is served here by an inner server, so the proxy sees every
 * exchange and can act when a chosen one passes: hold or drop it before the server sees it, or
 * swallow the answer after the server has already acted.
 *
 * With `tunnel: true` the proxy only pipes bytes between the client and the CONNECT target, as
 * a real proxy does for https: it cannot read the exchanges then, but it counts the tunnels.
 */
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface Exchange {
  method: string;
  url: URL;
  requestBody: string;
}

export interface TestProxy {
  url: string;
  /** Every request that went through (not in `tunnel` mode: the bytes are opaque there). */
  seen: Exchange[];
  /** The target (`host:port`) of every CONNECT request, in order. */
  connects: string[];
  /** Decides per exchange, before it goes upstream: send it on, or drop it unseen (may wait). */
  before: (exchange: Exchange) => 'forward' | 'drop' | Promise<'forward' | 'drop'>;
  /** Decides per exchange, after the upstream answered: pass the answer on, or drop it (may wait). */
  decide: (exchange: Exchange) => 'forward' | 'drop' | Promise<'forward' | 'drop'>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Pipe every CONNECT tunnel to its target unread (for https targets). */
  tunnel?: boolean;
}

export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const sockets = new Set<Duplex>();
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const proxy: TestProxy = {
    url: '',
    seen: [],
    connects: [],
    before: () => 'forward',
    decide: () => 'forward',
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const inner: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const exchange = {
        method: req.method ?? 'GET',
        url,
        requestBody: Buffer.concat(chunks).toString('utf8'),
      };
      proxy.seen.push(exchange);
      if ((await proxy.before(exchange)) === 'drop') {
        req.socket.destroy();
        return;
      }
      const upstream = request(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host } },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', async () => {
            if ((await proxy.decide(exchange)) === 'drop') {
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  const server: Server = createServer((req, res) => inner.emit('request', req, res));
  server.on('connect', (req, socket, head) => {
    track(socket);
    proxy.connects.push(req.url ?? '');
    if (options.tunnel) {
      pipeTunnel(req.url ?? '', socket, head);
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    inner.emit('connection', socket);
  });
  /** Connects to the CONNECT target and pipes both ways; a refused target is a 502. */
  function pipeTunnel(authority: string, socket: Duplex, head: Buffer): void {
    const target = URL.parse(`http://${authority}`);
    if (!target?.port) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const upstream: Socket = connect(Number(target.port), target.hostname.replace(/^\[|\]$/g, ''), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
