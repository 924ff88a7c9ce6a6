/**
 * RTMPS and Flash's policy files on the edge and the origin: ffmpeg publishes and plays over
 * rtmps:// with a certificate the test makes; /crossdomain.xml on every HTTP port is well formed
 * (xmllint) and names the configured domains; the socket policy request is answered on the RTMP
 * ports and on the master policy port, while RTMP on the same port goes on working; a half policy
 * request or garbage closes only that socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { decodeFrames, publishTestStream, run, selfSignedCertificate, stop, stopAll, tempDir } from '../support/processes.ts';

let cluster: Cluster;
let work: string;

/** A free loopback port for the master policy listener (843 needs no privilege as root, but may be taken). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const policyPorts = { edge: 0, origin: 0 };

before(async () => {
  work = tempDir();
  const { cert, key } = await selfSignedCertificate(work);
  policyPorts.edge = await freePort();
  policyPorts.origin = await freePort();
  const tls = ['--rtmps-port', '0', '--tls-cert', cert, '--tls-key', key];
  cluster = await startCluster(['policy-edge'], {
    originArgs: [...tls, '--policy-port', String(policyPorts.origin)],
    edgeArgs: [...tls, '--policy-allow', 'school.example,*.school.example', '--policy-port', String(policyPorts.edge)],
  });
});
after(stopAll);

/** Sends `bytes` to a port and collects everything until the server closes. */
function exchange(port: number, bytes: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const parts: Buffer[] = [];
    socket.on('data', (d) => parts.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(parts)));
  });
}

async function wellFormed(xml: string): Promise<void> {
  const file = join(work, `policy-${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const lint = await run('xmllint', ['--noout', file]);
  assert.equal(lint.code, 0, `xmllint: ${lint.stderr}\n${xml}`);
}

const servers = () => ({
  edge: { rtmp: cluster.edges[0]!.port, rtmps: cluster.edges[0]!.rtmpsPort!, http: cluster.edges[0]!.httpPort, policy: policyPorts.edge },
  origin: { rtmp: cluster.origin.port, rtmps: cluster.origin.rtmpsPort!, http: cluster.origin.httpPort, policy: policyPorts.origin },
});

for (const which of ['edge', 'origin'] as const) {
  describe(`the ${which}`, () => {
    test('ffmpeg publishes and plays over rtmps://', async () => {
      const url = `rtmps://127.0.0.1:${servers()[which].rtmps}/live/secure-${which}`;
      const publisher = publishTestStream(url, { seconds: 8 });
      await new Promise((r) => setTimeout(r, 1500));
      const frames = await decodeFrames(url, 3);
      assert.ok(frames.video >= 60 && frames.audio >= 60, `decoded ${frames.video}/${frames.audio}: ${frames.stderr}`);
      // The same stream on the plain port: one stream whichever port it came through.
      const plain = await decodeFrames(`rtmp://127.0.0.1:${servers()[which].rtmp}/live/secure-${which}`, 1);
      assert.ok(plain.video >= 20, plain.stderr);
      await stop(publisher);
    });

    test('/crossdomain.xml is well formed and names the allowed domains, not *', async () => {
      const res = await fetch(`http://127.0.0.1:${servers()[which].http}/crossdomain.xml`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /x-cross-domain-policy|xml/);
      const xml = await res.text();
      await wellFormed(xml);
      const domains = [...xml.matchAll(/allow-access-from domain="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(domains, which === 'edge' ? ['school.example', '*.school.example'] : ['127.0.0.1']);
      assert.doesNotMatch(xml, /to-ports/, 'to-ports belongs to socket policies');
    });

    test('the socket policy is answered on the RTMP ports and the policy port; RTMP goes on', async () => {
      const { rtmp, rtmps, policy } = servers()[which];
      for (const port of [rtmp, policy]) {
        const answer = await exchange(port, '<policy-file-request/>\0');
        assert.equal(answer.at(-1), 0, 'ends with a NUL byte');
        const xml = answer.subarray(0, -1).toString('utf8');
        await wellFormed(xml);
        assert.match(xml, new RegExp(`to-ports="${[rtmp, rtmps].sort((a, b) => a - b).join(',')}"`));
      }
      // Split in pieces, as a slow network delivers it.
      const split = await new Promise<Buffer>((resolve) => {
        const socket = connect(rtmp, '127.0.0.1', () => {
          socket.write('<policy-');
          setTimeout(() => socket.write('file-request/>\0'), 100);
        });
        const parts: Buffer[] = [];
        socket.on('data', (d) => parts.push(d));
        socket.on('close', () => resolve(Buffer.concat(parts)));
      });
      assert.match(split.toString(), /cross-domain-policy/);
      // Something that starts like a request and is not one gets no policy; the port keeps serving RTMP.
      const bogus = await exchange(rtmp, '<policy-file-request/>X');
      assert.doesNotMatch(bogus.toString('latin1'), /cross-domain-policy/);
      const garbage = await exchange(policy, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(garbage.length, 0, 'the policy port answers nothing else');
      const publisher = publishTestStream(`rtmp://127.0.0.1:${rtmp}/live/after-policy-${which}`, { seconds: 6 });
      await new Promise((r) => setTimeout(r, 1500));
      const frames = await decodeFrames(`rtmp://127.0.0.1:${rtmp}/live/after-policy-${which}`, 1);
      assert.ok(frames.video >= 20, frames.stderr);
      await stop(publisher);
    });
  });
}
