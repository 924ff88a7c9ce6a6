/**
 * An independent check of our chunking: Wireshark's RTMP dissector (tshark) reads a capture of a
 * publish and plays on loopback, through an edge and directly at the origin, and must decode the
 * sessions (commands, status, media) with no malformed packet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { decodeFrames, publishTestStream, run, stop, stopAll, tempDir, track } from '../support/processes.ts';

let cluster: Cluster;
let capture: string;

before(async () => {
  cluster = await startCluster(['wireshark-edge']);
  capture = join(tempDir(), 'rtmp.pcapng');
});
after(stopAll);

test('tshark decodes a publish and plays on the edge and the origin with no malformed packet', { timeout: 180_000 }, async () => {
  const ports = [cluster.edges[0]!.port, cluster.origin.port];
  const tshark = track(spawn('tshark', ['-i', 'lo', '-f', ports.map((p) => `tcp port ${p}`).join(' or '), '-w', capture], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let tsharkLog = '';
  await new Promise<void>((resolve, reject) => {
    tshark.stderr!.on('data', (d) => { tsharkLog += d; if (/Capture started|Capturing on/.test(tsharkLog)) resolve(); });
    tshark.once('exit', () => reject(new Error(`tshark: ${tsharkLog}`)));
  });
  const publisher = publishTestStream(`${cluster.edges[0]!.base}/live/wire`, { seconds: 6 });
  await new Promise((r) => setTimeout(r, 1500));
  for (const base of [cluster.edges[0]!.base, `rtmp://127.0.0.1:${cluster.origin.port}`]) {
    const frames = await decodeFrames(`${base}/live/wire`, 2);
    assert.ok(frames.video >= 30, frames.stderr);
  }
  // The 6 s publisher may have ended while the players decoded: `once` would then wait forever.
  if (publisher.exitCode === null && publisher.signalCode === null) await once(publisher, 'exit');
  await new Promise((r) => setTimeout(r, 500));
  await stop(tshark, 'SIGINT');

  const decodeAs = ports.flatMap((p) => ['-d', `tcp.port==${p},rtmpt`]);
  const malformed = await run('tshark', ['-r', capture, ...decodeAs, '-Y', '_ws.malformed || _ws.expert.severity >= "error"', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info'], 60_000);
  assert.equal(malformed.code, 0, malformed.stderr);
  assert.equal(malformed.stdout.trim(), '', `frames Wireshark flags as malformed or in error:\n${malformed.stdout}`);

  const info = await run('tshark', ['-r', capture, ...decodeAs, '-Y', 'rtmpt', '-T', 'fields', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', '_ws.col.Info'], 60_000);
  assert.equal(info.code, 0, info.stderr);
  const lines = info.stdout.split('\n');
  const seen = (text: string) => lines.some((l) => l.includes(text));
  for (const text of ["connect('live')", "publish('wire')", "onStatus('NetStream.Publish.Start')", "play('wire')", "onStatus('NetStream.Play.Start')", 'Video Data', 'Audio Data']) {
    assert.ok(seen(text), `Wireshark decoded ${text}`);
  }
  // Both servers' own chunking was read: media from the edge's port and from the origin's port.
  for (const port of ports) {
    assert.ok(lines.some((l) => l.startsWith(`${port}\t`) && l.includes('Video Data')), `video chunked by the server on port ${port} decoded`);
  }
});
