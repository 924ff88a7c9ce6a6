/**
 * `npm start` (root main.ts): an origin and one edge in one process; the link secret is generated
 * once into <data-dir>/link-secret (mode 0600) and reused on the next start; clients connect
 * through the edge. Its ready report (`--ready-fd`) names every listener of both parts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { RtmpClient } from '#common/rtmp-client.ts';
import { repoRoot, run, selfSignedCertificate, stop, stopAll, tempDir } from '../support/processes.ts';
import { startLocalCluster } from '../support/cluster.ts';

after(stopAll);

async function startBoth(dataDir: string) {
  const { child, edgePort } = await startLocalCluster(dataDir);
  return { child, edgePort };
}

test('origin and edge start together; the generated secret is private and kept', async () => {
  const dataDir = tempDir();
  const first = await startBoth(dataDir);
  const file = join(dataDir, 'link-secret');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const secret = readFileSync(file, 'utf8');
  const { client, info } = await RtmpClient.connect(`rtmp://127.0.0.1:${first.edgePort}/live`);
  assert.equal(info.code, 'NetConnection.Connect.Success');
  client.close();
  await stop(first.child);
  const second = await startBoth(dataDir);
  assert.equal(readFileSync(file, 'utf8'), secret);
  await stop(second.child);
});

/** Resolves once a TCP (or, with `secure`, TLS) connection to 127.0.0.1:port is up, then closes it. */
async function reachable(port: number, secure = false): Promise<void> {
  const socket = secure ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : connect({ host: '127.0.0.1', port });
  await once(socket, secure ? 'secureConnect' : 'connect');
  socket.destroy();
}

test('the ready report (--ready-fd) names every listener of the process, each of them answering', async () => {
  const dataDir = tempDir();
  const { cert, key } = await selfSignedCertificate(dataDir);
  const { child, ready } = await startLocalCluster(dataDir, ['--rtmps-port', '0', '--edge-rtmps-port', '0', '--tls-cert', cert, '--tls-key', key, '--policy-port', '0']);
  assert.equal(ready.ready, true);
  assert.equal(ready.pid, child.pid);
  const { origin, edge } = ready;
  assert.deepEqual(Object.keys(origin!).sort(), ['http', 'link', 'rtmp', 'rtmps'], 'the origin\'s (the process has one policy port: the edge\'s)');
  assert.deepEqual(Object.keys(edge!).sort(), ['http', 'policy', 'rtmp', 'rtmps']);
  assert.equal(origin!.link!.tls, false);
  for (const address of [...Object.values(origin!), ...Object.values(edge!)]) {
    assert.equal(address.address, '127.0.0.1');
    assert.ok(address.port > 0);
  }
  const { client } = await RtmpClient.connect(`rtmp://127.0.0.1:${edge!.rtmp!.port}/live`);
  client.close();
  await reachable(origin!.rtmp!.port);
  await reachable(origin!.link!.port);
  await reachable(origin!.rtmps!.port, true);
  await reachable(edge!.rtmps!.port, true);
  assert.equal((await fetch(`http://127.0.0.1:${origin!.http!.port}/metrics`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${edge!.http!.port}/metrics`)).status, 200);
  const policy = connect({ host: '127.0.0.1', port: edge!.policy!.port });
  policy.end('<policy-file-request/>\0');
  let answer = '';
  policy.on('data', (d) => { answer += d; });
  await once(policy, 'close');
  assert.match(answer, /<cross-domain-policy>/);
  await stop(child);
});

test('--ready-fd takes a descriptor of 3 or more: anything else stops the start (exit 2)', async () => {
  const result = await run(process.execPath, [join(repoRoot, 'origin/main.ts'), '--ready-fd', '1', '--rtmp-port', '0', '--http-port', '0', '--data-dir', tempDir()]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--ready-fd takes a file descriptor number of 3 or more, got "1"/);
});
