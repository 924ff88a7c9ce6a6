/**
 * The edge's HTTP server (gateway/http/edge-http-server.ts) on its own: routes (exact, longest
 * prefix, upgrade), static files resolved inside their folder only (traversal, encoded traversal,
 * NUL, symlinks out), GET/HEAD only, and close() running the route owners' closers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Logger } from '#common/logger.ts';
import { EdgeHttpServer, resolveInside, staticFiles } from '../../gateway/http/edge-http-server.ts';
import { tempDir } from '../support/processes.ts';

test('resolveInside keeps every path inside its folder', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'index.html'), 'sub index');
  writeFileSync(join(root, 'a.js'), 'a');
  const outside = tempDir();
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link.txt'));
  symlinkSync(outside, join(root, 'linkdir'));
  assert.equal(await resolveInside(root, 'a.js'), join(root, 'a.js'));
  assert.equal(await resolveInside(root, 'sub/'), join(root, 'sub', 'index.html'));
  for (const bad of ['../a.js', '%2e%2e/a.js', 'sub/../../a.js', 'a.js%00', 'sub%5c..%5ca.js', '%E0%A4%A', 'link.txt', 'linkdir/secret.txt', 'missing.js']) {
    assert.equal(await resolveInside(root, bad), null, bad);
  }
});

test('routes: exact before prefix, longest prefix, upgrades, 404/405, closers on close', async () => {
  const root = tempDir();
  writeFileSync(join(root, 'x.txt'), 'static x');
  const http = new EdgeHttpServer(new Logger('test-http'));
  http.route('/files/', staticFiles(root, '/files/'), { prefix: true });
  http.route('/files/special', (_req, res) => { res.end('exact'); });
  http.route('/live/', (_req, res, url) => { res.end(`live ${url.pathname}`); }, { prefix: true });
  http.upgrade('/echo', (_req, socket) => { socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n'); });
  let closed = 0;
  http.onClose(() => { closed++; });
  const { port } = await http.start(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  try {
    assert.equal(await (await fetch(`${base}/files/x.txt`)).text(), 'static x');
    assert.equal(await (await fetch(`${base}/files/special`)).text(), 'exact');
    assert.equal(await (await fetch(`${base}/live/a/b.flv`)).text(), 'live /live/a/b.flv');
    assert.equal((await fetch(`${base}/files/x.txt`, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}/files/nope`)).status, 404);
    const upgrade = async (path: string) => new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`));
      let text = '';
      socket.on('data', (d) => { text += d; });
      socket.on('close', () => resolve(text));
    });
    assert.match(await upgrade('/echo'), /^HTTP\/1.1 101/);
    assert.match(await upgrade('/elsewhere'), /^HTTP\/1.1 404/);
  } finally {
    await http.close();
  }
  assert.equal(closed, 1);
});
