// Handshake codec tests: digests checked against HMACs computed here from the published
// scheme, captured ffmpeg/rtmpdump C1 packets, and live handshakes with ffmpeg and rtmpdump.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { HandshakeError } from '#protocol/errors.ts';
import { ClientHandshake, ServerHandshake, type HandshakeResult } from '#protocol/rtmp/handshake.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/rtmp/${name}`, import.meta.url));

// The published keys: a readable prefix and a 32-byte tail; C1/S1 are signed with the prefix only.
const TAIL = 'f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae';
const FP_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001'), Buffer.from(TAIL, 'hex')]);
const FMS_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001'), Buffer.from(TAIL, 'hex')]);
const hmac = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** Digest position in a 1536-byte C1/S1: scheme 0 sums bytes 8..11, scheme 1 bytes 772..775. */
function offsetOf(packet: Buffer, scheme: 0 | 1): number {
  const base = scheme === 0 ? 8 : 772;
  return ((packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!) % 728) + base + 4;
}
function expectedDigest(packet: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, packet.subarray(0, offset), packet.subarray(offset + 32));
}
function digestAt(packet: Buffer, scheme: 0 | 1): Buffer {
  const offset = offsetOf(packet, scheme);
  return packet.subarray(offset, offset + 32);
}
function hasDigest(packet: Buffer, scheme: 0 | 1, key: Buffer): boolean {
  return expectedDigest(packet, offsetOf(packet, scheme), key).equals(digestAt(packet, scheme));
}
/** Signature of a digest-handshake S2/C2: HMAC(HMAC(fullKey, peerDigest), first 1504 bytes). */
function responseSignature(packet: Buffer, peerDigest: Buffer, fullKey: Buffer): Buffer {
  return hmac(hmac(fullKey, peerDigest), packet.subarray(0, 1504));
}

/** Deterministic random source so that whole handshakes can be compared byte for byte. */
function seeded(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
}

/** A Flash Player style C0+C1 with its digest at the given scheme. */
function digestC0C1(scheme: 0 | 1, seed = 7): Buffer {
  const c1 = seeded(seed)(1536);
  c1.writeUInt32BE(1234, 0);
  c1.writeUInt32BE(0x0a002d02, 4);
  const offset = offsetOf(c1, scheme);
  expectedDigest(c1, offset, FP_KEY.subarray(0, 30)).copy(c1, offset);
  return Buffer.concat([Buffer.of(3), c1]);
}

function assertHandshakeError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof HandshakeError && e.code === code, code);
}

/** Checks a digest S0+S1+S2 against the client digest, independently of the codec. */
function assertDigestReply(send: Buffer, clientDigest: Buffer, scheme: 0 | 1): void {
  assert.equal(send.length, 3073);
  assert.equal(send[0], 3);
  const s1 = send.subarray(1, 1537);
  const s2 = send.subarray(1537);
  assert.equal(s1.readUInt32BE(4), 0x0d0e0a0d, 'server version');
  assert.ok(hasDigest(s1, scheme, FMS_KEY.subarray(0, 36)), `S1 digest at scheme ${scheme}`);
  assert.deepEqual(s2.subarray(1504), responseSignature(s2, clientDigest, FMS_KEY), 'S2 signature');
}

describe('ServerHandshake', () => {
  test('captured ffmpeg C1 carries a scheme 0 digest and gets a byte-exact digest reply', () => {
    const c0c1 = fixture('ffmpeg-c0c1.bin');
    const c1 = c0c1.subarray(1);
    assert.equal(c0c1[0], 3);
    assert.equal(c1.readUInt32BE(4), 0x09007c02, 'ffmpeg announces Flash Player 9.0.124.2');
    assert.ok(hasDigest(c1, 0, FP_KEY.subarray(0, 30)));
    assert.ok(!hasDigest(c1, 1, FP_KEY.subarray(0, 30)));

    const hs = new ServerHandshake({ randomBytes: seeded(42) });
    assert.equal(hs.scheme, null);
    const r = hs.push(c0c1);
    assert.equal(hs.scheme, 'digest');
    assert.equal(r.done, false);
    assert.ok(r.send);
    assertDigestReply(r.send, digestAt(c1, 0), 0);

    // Byte-exact: with the same random source the reply is rebuilt from the spec here.
    const rnd = seeded(42);
    const s1 = rnd(1536);
    s1.writeUInt32BE(0, 0);
    s1.writeUInt32BE(0x0d0e0a0d, 4);
    const offset = offsetOf(s1, 0);
    expectedDigest(s1, offset, FMS_KEY.subarray(0, 36)).copy(s1, offset);
    const s2 = rnd(1536);
    responseSignature(s2, digestAt(c1, 0), FMS_KEY).copy(s2, 1504);
    assert.deepEqual(r.send, Buffer.concat([Buffer.of(3), s1, s2]));
  });

  test('captured rtmpdump (librtmp FP9) C1 is recognised as digest', () => {
    const c0c1 = fixture('rtmpdump-fp9-c0c1.bin');
    assert.ok(hasDigest(c0c1.subarray(1), 0, FP_KEY.subarray(0, 30)));
    const hs = new ServerHandshake();
    const r = hs.push(c0c1);
    assert.equal(hs.scheme, 'digest');
    assertDigestReply(r.send!, digestAt(c0c1.subarray(1), 0), 0);
  });

  test('a scheme 1 (Flash Player 10+) digest is answered with scheme 1', () => {
    const c0c1 = digestC0C1(1);
    const hs = new ServerHandshake();
    const r = hs.push(c0c1);
    assert.equal(hs.scheme, 'digest');
    assertDigestReply(r.send!, digestAt(c0c1.subarray(1), 1), 1);
  });

  test('simple handshake: zero version, or a version without a valid digest', () => {
    for (const version of [0, 0x0a002d02]) {
      const c1 = seeded(3)(1536);
      c1.writeUInt32BE(99, 0);
      c1.writeUInt32BE(version, 4);
      const hs = new ServerHandshake();
      const r = hs.push(Buffer.concat([Buffer.of(3), c1]));
      assert.equal(hs.scheme, 'simple');
      assert.equal(r.send!.length, 3073);
      assert.equal(r.send![0], 3);
      assert.equal(r.send!.readUInt32BE(5), 0, 'S1 zero field');
      assert.deepEqual(r.send!.subarray(1537), c1, 'S2 echoes C1');
    }
  });

  test('any split of the input gives the same result; C2 is consumed and the rest returned', () => {
    const c0c1 = digestC0C1(0);
    const c2 = seeded(9)(1536);
    const tail = Buffer.from('0300000000001914', 'hex');
    const input = Buffer.concat([c0c1, c2, tail]);
    const whole = new ServerHandshake({ randomBytes: seeded(1) }).push(input);
    assert.equal(whole.done, true);
    assert.deepEqual(whole.rest, tail);
    assert.equal(whole.send!.length, 3073);

    for (const step of [1, 7, 1536, 1537, 1538, 3072, 3073, 3074]) {
      const hs = new ServerHandshake({ randomBytes: seeded(1) });
      const sends: Buffer[] = [];
      let last: HandshakeResult | null = null;
      const rests: Buffer[] = [];
      for (let i = 0; i < input.length; i += step) {
        last = hs.push(input.subarray(i, i + step));
        if (last.send) sends.push(last.send);
        if (last.done) rests.push(last.rest);
        else assert.equal(last.rest.length, 0);
      }
      assert.equal(sends.length, 1, `step ${step}`);
      assert.deepEqual(sends[0], whole.send);
      assert.equal(last!.done, true);
      assert.deepEqual(Buffer.concat(rests), tail, `step ${step}`);
    }
  });

  test('S0+S1+S2 comes right after C1, done right after C2; later input passes through', () => {
    const hs = new ServerHandshake();
    assert.deepEqual(hs.push(Buffer.of(3)), { send: null, done: false, rest: Buffer.alloc(0) });
    const r1 = hs.push(digestC0C1(0).subarray(1));
    assert.equal(r1.send!.length, 3073);
    assert.equal(r1.done, false);
    const r2 = hs.push(Buffer.alloc(1535));
    assert.equal(r2.done, false);
    const r3 = hs.push(Buffer.alloc(1));
    assert.deepEqual(r3, { send: null, done: true, rest: Buffer.alloc(0) });
    const more = Buffer.from('abc');
    assert.deepEqual(hs.push(more), { send: null, done: true, rest: more });
    hs.end();
  });

  test('bad and encrypted version bytes are rejected at the first byte', () => {
    for (const v of [6, 8, 9]) assertHandshakeError(() => new ServerHandshake().push(Buffer.of(v)), 'handshake.unsupported_encryption');
    for (const v of [0, 1, 2, 4, 0x16, 0x47, 0xff]) {
      assertHandshakeError(() => new ServerHandshake().push(Buffer.concat([Buffer.of(v), Buffer.alloc(1536)])), 'handshake.bad_version');
    }
  });

  test('truncated handshakes throw handshake.truncated on end()', () => {
    for (const length of [0, 1, 100, 1537, 1537 + 1535]) {
      const hs = new ServerHandshake();
      hs.push(Buffer.concat([digestC0C1(0), Buffer.alloc(1536)]).subarray(0, length));
      assertHandshakeError(() => hs.end(), 'handshake.truncated');
    }
  });
});

describe('ClientHandshake', () => {
  function roundTrip(digest: boolean) {
    const client = new ClientHandshake({ digest });
    const server = new ServerHandshake();
    const c0c1 = client.start();
    assert.equal(c0c1.length, 1537);
    const s = server.push(c0c1);
    const c = client.push(Buffer.concat([s.send!, Buffer.from('xyz')]));
    assert.equal(c.done, true);
    assert.deepEqual(c.rest, Buffer.from('xyz'));
    const done = server.push(c.send!);
    assert.equal(done.done, true);
    return { client, server, c0c1, s0s1s2: s.send!, c2: c.send! };
  }

  test('plain mode round trip: C2 echoes S1', () => {
    const { client, server, c0c1, s0s1s2, c2 } = roundTrip(false);
    assert.equal(c0c1.readUInt32BE(5), 0);
    assert.equal(server.scheme, 'simple');
    assert.equal(client.serverDigestValid, null);
    assert.deepEqual(c2, s0s1s2.subarray(1, 1537));
  });

  test('digest mode round trip: valid digests both ways', () => {
    const { client, server, c0c1, s0s1s2, c2 } = roundTrip(true);
    const c1 = c0c1.subarray(1);
    assert.ok(hasDigest(c1, 0, FP_KEY.subarray(0, 30)));
    assert.equal(server.scheme, 'digest');
    assert.equal(client.serverDigestValid, true);
    const s1 = s0s1s2.subarray(1, 1537);
    assert.deepEqual(c2.subarray(1504), responseSignature(c2, digestAt(s1, 0), FP_KEY), 'C2 signed for the server digest');
  });

  test('digest mode detects a forged S2 and a plain server', () => {
    const client = new ClientHandshake({ digest: true });
    const s = new ServerHandshake().push(client.start()).send!;
    s[3000] = s[3000]! ^ 1;
    client.push(s);
    assert.equal(client.serverDigestValid, false);

    const plainClient = new ClientHandshake({ digest: true });
    plainClient.start();
    const s1 = seeded(5)(1536);
    s1.writeUInt32BE(0, 4);
    const r = plainClient.push(Buffer.concat([Buffer.of(3), s1, Buffer.alloc(1536)]));
    assert.equal(plainClient.serverDigestValid, false);
    assert.deepEqual(r.send, s1, 'falls back to echoing S1');
  });

  test('bad S0 is rejected', () => {
    const client = new ClientHandshake();
    client.start();
    assertHandshakeError(() => client.push(Buffer.of(6)), 'handshake.unsupported_encryption');
    const other = new ClientHandshake();
    other.start();
    assertHandshakeError(() => other.push(Buffer.of(0x48)), 'handshake.bad_version');
  });
});

describe('live peers', () => {
  const children: ChildProcess[] = [];
  const servers: net.Server[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const server of servers) server.close();
  });

  /**
   * Runs a one-connection server with ServerHandshake, starts the peer and resolves with the
   * scheme and the first chunk stream bytes once the AMF string 'connect' has arrived.
   */
  function handshakeWith(command: string, args: (port: number) => string[]): Promise<{ scheme: string | null; stream: Buffer }> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        const hs = new ServerHandshake();
        let stream: Buffer | null = null;
        socket.on('error', () => {});
        socket.on('data', (data) => {
          try {
            if (stream) stream = Buffer.concat([stream, data]);
            else {
              const r = hs.push(data);
              if (r.send) socket.write(r.send);
              if (r.done) stream = r.rest;
            }
          } catch (err) {
            reject(err);
            socket.destroy();
            return;
          }
          if (stream && stream.includes(Buffer.from('\x00\x07connect', 'latin1'))) {
            resolve({ scheme: hs.scheme, stream });
            socket.destroy();
          }
        });
        socket.on('close', () => reject(new Error(`${command} closed before connect; done=${stream !== null}`)));
      });
      servers.push(server);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const child = spawn(command, args(port), { stdio: 'ignore' });
        children.push(child);
        child.on('error', reject);
      });
    });
  }

  const hasFfmpeg = existsSync('/usr/bin/ffmpeg');
  const hasRtmpdump = existsSync('/usr/bin/rtmpdump');
  const url = (port: number) => `rtmp://127.0.0.1:${port}/live/x`;
  const assertConnect = (stream: Buffer) => {
    assert.equal(stream[0], 0x03, 'type 0 chunk on chunk stream 3');
    assert.equal(stream[7], 20, 'AMF0 command message');
  };

  test('ffmpeg publishing: digest handshake, then connect', { skip: !hasFfmpeg, timeout: 30_000 }, async () => {
    const { scheme, stream } = await handshakeWith('ffmpeg', (port) => [
      '-loglevel', 'quiet', '-re', '-f', 'lavfi', '-i', 'testsrc', '-t', '1', '-f', 'flv', url(port),
    ]);
    assert.equal(scheme, 'digest');
    assertConnect(stream);
  });

  test('ffmpeg playing validates our S1 digest and S2 signature before connect', { skip: !hasFfmpeg, timeout: 30_000 }, async () => {
    // As a player, ffmpeg checks the server digest when S1's version byte is >= 3 and aborts on mismatch.
    const { scheme, stream } = await handshakeWith('ffmpeg', (port) => ['-loglevel', 'quiet', '-i', url(port), '-f', 'null', '-']);
    assert.equal(scheme, 'digest');
    assertConnect(stream);
  });

  test('rtmpdump with SWF verification (FP9 handshake) accepts our digests', { skip: !hasRtmpdump, timeout: 30_000 }, async () => {
    // librtmp returns failure ("Server not genuine Adobe!") if S1 or S2 do not verify.
    const { scheme, stream } = await handshakeWith('rtmpdump', (port) => [
      '-q', '-r', url(port), '-w', '00'.repeat(32), '-x', '1000', '-o', '/dev/null',
    ]);
    assert.equal(scheme, 'digest');
    assertConnect(stream);
  });

  test('rtmpdump without SWF verification uses the simple handshake', { skip: !hasRtmpdump, timeout: 30_000 }, async () => {
    const { scheme, stream } = await handshakeWith('rtmpdump', (port) => ['-q', '-r', url(port), '-o', '/dev/null']);
    assert.equal(scheme, 'simple');
    assertConnect(stream);
  });
});
