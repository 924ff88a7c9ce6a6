/**
 * Hostile input: every kind of bad bytes closes only the offending client, counted under the
 * codec's reason code in the origin's /metrics (classroom_origin_connections_closed_total), while an ffmpeg publish/play pair runs undisturbed throughout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { RtmpClient } from '#common/rtmp-client.ts';
import { randomBytes } from '../support/bytes.ts';
import { decodeFrames, eventually, publishTestStream, startOrigin, stopAll, type OriginProcess } from '../support/processes.ts';
import { waitForPublished } from '../support/observe.ts';
import { scrapeMetrics } from '../support/prometheus.ts';

let origin: OriginProcess;
let playback: Promise<{ video: number; audio: number; stderr: string }>;
const PLAY_SECONDS = 14;

before(async () => {
  origin = await startOrigin(['--handshake-timeout', '1500']);
  publishTestStream(`rtmp://127.0.0.1:${origin.port}/live/steady`);
  await waitForPublished(origin, 'live/steady');
  playback = decodeFrames(`rtmp://127.0.0.1:${origin.port}/live/steady`, PLAY_SECONDS);
});
after(stopAll);

function rawSocket(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: origin.port });
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

async function expectClosed(socket: Socket, timeoutMs = 5000): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return;
  const timer = setTimeout(() => socket.destroy(new Error('server did not close')), timeoutMs);
  socket.resume();
  await once(socket, 'close');
  clearTimeout(timer);
  assert.ok(!(socket as Socket & { errored?: Error }).errored?.message.includes('server did not close'), 'server closed the connection');
}

/** Handshaken connection: bytes written after this go straight into the chunk stream parser. */
async function handshaken(): Promise<RtmpClient> {
  return RtmpClient.open('127.0.0.1', origin.port);
}

/** Connections the origin closed for a reason whose code matches `reasons`, so far. */
async function closedFor(reasons: RegExp): Promise<number> {
  return (await scrapeMetrics(origin.httpPort)).samples('classroom_origin_connections_closed_total')
    .filter((sample) => reasons.test(sample.labels.reason ?? '')).reduce((sum, sample) => sum + sample.value, 0);
}

/** Runs `provoke` and waits until the origin counts one more connection closed for `reasons`. */
async function expectCloseCounted(reasons: RegExp, provoke: () => Promise<void>): Promise<void> {
  const before = await closedFor(reasons);
  await provoke();
  await eventually(async () => (await closedFor(reasons)) > before, 5000, `a close counted under ${reasons}`);
}

async function expectClientClosed(client: RtmpClient): Promise<void> {
  if (!client.closed) await Promise.race([once(client, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('not closed')), 5000))]);
}

/** A type-0 chunk header on csid 3: timestamp 0, given length and type, stream 0. */
function chunkHeader(length: number, type: number, csid = 3): Buffer {
  const header = Buffer.alloc(12);
  header[0] = csid;
  header.writeUIntBE(length, 4, 3);
  header[7] = type;
  return header;
}

describe('hostile input closes only the offending client', () => {
  test('a bad version byte (HTTP on the RTMP port)', async () => {
    await expectCloseCounted(/^handshake\.bad_version$/, async () => {
      const socket = await rawSocket();
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await expectClosed(socket);
    });
  });

  test('RTMPE (encrypted) handshake is refused clearly', async () => {
    await expectCloseCounted(/^handshake\.unsupported_encryption$/, async () => {
      const socket = await rawSocket();
      socket.write(Buffer.concat([Buffer.of(6), Buffer.alloc(1536)]));
      await expectClosed(socket);
    });
  });

  test('a truncated handshake times out', async () => {
    await expectCloseCounted(/^handshake\.timeout$/, async () => {
      const socket = await rawSocket();
      socket.write(Buffer.concat([Buffer.of(3), Buffer.alloc(700)]));
      await expectClosed(socket, 6000);
    });
  });

  test('random bytes after the handshake', async () => {
    await expectCloseCounted(/^(chunk|amf|command)\./, async () => {
      const client = await handshaken();
      client.sendRaw(randomBytes(64 * 1024, 12345));
      await expectClientClosed(client);
    });
  });

  test('a message longer than the limit (16 MiB declared)', async () => {
    await expectCloseCounted(/^chunk\.message_too_large$/, async () => {
      const client = await handshaken();
      client.sendRaw(chunkHeader(0xffffff, 20));
      await expectClientClosed(client);
    });
  });

  test('an AMF long string claiming 4 GiB', async () => {
    // The connect's arguments fail to decode (amf.truncated): the command is refused as malformed.
    await expectCloseCounted(/^(command\.bad_arguments|amf\.(truncated|too_large))$/, async () => {
      const client = await handshaken();
      const body = Buffer.concat([Buffer.from([0x02, 0x00, 0x07]), Buffer.from('connect'), Buffer.from([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff, 0x41])]);
      client.sendRaw(Buffer.concat([chunkHeader(body.length, 20), body]));
      await expectClientClosed(client);
    });
  });

  for (const size of [0, 0x80000000]) {
    test(`a chunk size of ${size}`, async () => {
      await expectCloseCounted(/^chunk\.bad_chunk_size$/, async () => {
        const client = await handshaken();
        const payload = Buffer.alloc(4);
        payload.writeUInt32BE(size);
        client.sendRaw(Buffer.concat([chunkHeader(4, 1, 2), payload]));
        await expectClientClosed(client);
      });
    });
  }

  test('10,000 chunk streams', async () => {
    await expectCloseCounted(/^chunk\.too_many_streams$/, async () => {
      const client = await handshaken();
      const parts: Buffer[] = [];
      for (let csid = 3; csid < 10_003; csid++) {
        // One- or three-byte basic header, a 200-byte message of which only the first 128-byte chunk arrives.
        const basic = csid < 64 ? Buffer.of(csid) : Buffer.from([1, (csid - 64) & 0xff, (csid - 64) >> 8]);
        const header = chunkHeader(200, 9).subarray(1);
        parts.push(basic, header, Buffer.alloc(128, 0x17));
      }
      client.sendRaw(Buffer.concat(parts));
      await expectClientClosed(client);
    });
  });

  test('AMF nesting 100,000 deep', async () => {
    await expectCloseCounted(/^(command\.bad_arguments|amf\.too_deep)$/, async () => {
      const client = await handshaken();
      const head = Buffer.concat([Buffer.from([0x02, 0x00, 0x07]), Buffer.from('connect'), Buffer.from([0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0])]);
      const level = Buffer.from([0x03, 0x00, 0x01, 0x61]); // object { a: object { a: ... } }
      const body = Buffer.concat([head, ...Array.from({ length: 100_000 }, () => level)]);
      client.setChunkSize(65536);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < body.length; offset += 65536) {
        chunks.push(offset === 0 ? chunkHeader(body.length, 20) : Buffer.of(0xc3), body.subarray(offset, offset + 65536));
      }
      client.sendRaw(Buffer.concat(chunks));
      await expectClientClosed(client);
    });
  });

  test('a command before connect', async () => {
    await expectCloseCounted(/^session\.before_connect$/, async () => {
      const client = await handshaken();
      await assert.rejects(client.call('createStream'));
    });
  });

  test('meanwhile the publish/play pair carried on undisturbed', async () => {
    const result = await playback;
    // 30 fps for PLAY_SECONDS; allow for start-up, not for stalls.
    assert.ok(result.video >= PLAY_SECONDS * 30 * 0.9, `video frames decoded: ${result.video}; ${result.stderr}`);
    assert.ok(result.audio >= PLAY_SECONDS * 43 * 0.9, `audio frames decoded: ${result.audio}`);
    assert.equal(await closedFor(/^internal_error$/), 0, 'no client was closed for an internal error');
  });
});
