import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createKeyfob } from '../src/index.js';

describe('kf.close()', () => {
  let server: Server;
  let url: string;
  let home: string;
  const open = new Set<Socket>();

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'keyfob-close-'));
    server = createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': 'text/plain',
        connection: 'keep-alive',
        'keep-alive': 'timeout=60',
      });
      res.end('ok');
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket: Socket) => {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    url = `http://127.0.0.1:${address.port}/`;
  });

  after(async () => {
    server.closeAllConnections();
    server.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('ends the idle keep-alive connections a request left open, and the instance still works after', async () => {
    const kf = createKeyfob({ home, environment: {} });
    const first = await kf.http(url);
    assert.equal(await first.text(), 'ok');
    assert.equal(open.size, 1, 'the request left its keep-alive connection open');

    await kf.close();
    const deadline = Date.now() + 5_000;
    while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(open.size, 0, 'close() ended the idle connection (the server saw it close)');

    const again = await kf.http(url);
    assert.equal(await again.text(), 'ok', 'a request after close() opens a new connection');
    await kf.close();
  });
});
