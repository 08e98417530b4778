/**
 * A forward HTTP proxy for tests. undici tunnels through a proxy with CONNECT even for http
 * targets; the tunnel's plain HTTP is served here by an inner server, so the proxy sees every
 * exchange and can act when a chosen one passes: forward it, or swallow the answer after the
 * server has already acted.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  url: URL;
  requestBody: string;
}

export interface TestProxy {
  url: string;
  /** Every request that went through. */
  seen: Exchange[];
  /** Decides per exchange, after the upstream answered: pass the answer on, or drop it. */
  decide: (exchange: Exchange) => 'forward' | 'drop';
  close(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const sockets = new Set<import('node:stream').Duplex>();
  const proxy: TestProxy = {
    url: '',
    seen: [],
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
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      const exchange = {
        method: req.method ?? 'GET',
        url,
        requestBody: Buffer.concat(chunks).toString('utf8'),
      };
      proxy.seen.push(exchange);
      const upstream = request(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host } },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            if (proxy.decide(exchange) === 'drop') {
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
  server.on('connect', (_req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    inner.emit('connection', socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
