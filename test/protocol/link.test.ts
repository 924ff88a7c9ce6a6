/** Edge-origin link framing and authentication: exact bytes, round trips, splits, hostile input. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LinkFrameDecoder, LinkFrameKind, LinkProtocolError, type LinkFrame } from '#protocol/link/link-frame.ts';
import { hex, prng, randomBytes } from '../support/bytes.ts';

const nonceA = Buffer.alloc(32, 0xaa);
const nonceB = Buffer.alloc(32, 0xbb);

const samples: LinkFrame[] = [
  { kind: LinkFrameKind.Hello, version: 1, edgeName: 'edge-a', edgeNonce: nonceA },
  { kind: LinkFrameKind.Challenge, version: 1, originNonce: nonceB },
  { kind: LinkFrameKind.Auth, proof: Buffer.alloc(32, 1) },
  { kind: LinkFrameKind.AuthOk, proof: Buffer.alloc(32, 2) },
  { kind: LinkFrameKind.AuthFailed, reason: 'wrong secret' },
  { kind: LinkFrameKind.SessionOpen, sessionId: 7, remoteAddress: '192.0.2.1', remotePort: 51000, protocol: 'rtmp' },
  { kind: LinkFrameKind.SessionClose, sessionId: 7, reason: 'client left' },
  { kind: LinkFrameKind.Message, sessionId: 0xffffffff, type: 20, timestamp: 0xfffffffe, streamId: 1, payload: Buffer.from('command') },
  { kind: LinkFrameKind.Message, sessionId: 1, type: 9, timestamp: 0, streamId: 0, payload: Buffer.alloc(0) },
  { kind: LinkFrameKind.Subscribe, subscriptionId: 3, streamKey: 'classroom/room42/teacher' },
  { kind: LinkFrameKind.Unsubscribe, subscriptionId: 3 },
  { kind: LinkFrameKind.StreamMessage, subscriptionId: 3, type: 8, timestamp: 1234, payload: Buffer.from([0xaf, 1, 2, 3]) },
  { kind: LinkFrameKind.StreamState, subscriptionId: 3, published: true },
  { kind: LinkFrameKind.StreamState, subscriptionId: 3, published: false },
  { kind: LinkFrameKind.PlayAttach, sessionId: 7, streamId: 1, subscriptionId: 3 },
  { kind: LinkFrameKind.PlayDetach, sessionId: 7, streamId: 1 },
  { kind: LinkFrameKind.PlayState, sessionId: 7, streamId: 1, paused: true, audio: false, video: true },
  { kind: LinkFrameKind.PlayState, sessionId: 7, streamId: 2, paused: false, audio: true, video: false },
  { kind: LinkFrameKind.Ping, id: 99 },
  { kind: LinkFrameKind.Pong, id: 99 },
  { kind: LinkFrameKind.Load, report: JSON.stringify({ clients: 12, streams: 3 }) },
];

describe('link frames', () => {
  test('exact bytes of a session message frame', () => {
    const bytes = encodeLinkFrame({ kind: LinkFrameKind.Message, sessionId: 5, type: 20, timestamp: 0x01020304, streamId: 1, payload: Buffer.from([0xde, 0xad]) });
    assert.deepEqual(bytes, hex('00000010 0c 00000005 14 01020304 00000001 dead'));
  });

  test('every kind round-trips, whole and split at every byte', () => {
    const stream = Buffer.concat(samples.map(encodeLinkFrame));
    assert.deepEqual(new LinkFrameDecoder().push(stream), samples);
    const decoder = new LinkFrameDecoder();
    const out: LinkFrame[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...decoder.push(stream.subarray(i, i + 1)));
    assert.deepEqual(out, samples);
  });

  test('a 16 MiB media payload fits; larger frames are refused before buffering them', () => {
    const big = { kind: LinkFrameKind.StreamMessage, subscriptionId: 1, type: 9, timestamp: 0, payload: Buffer.alloc(0xffffff, 7) } as const;
    const [decoded] = new LinkFrameDecoder().push(encodeLinkFrame(big));
    assert.equal((decoded as typeof big).payload.length, 0xffffff);
    assert.throws(() => new LinkFrameDecoder().push(hex('7fffffff 0c')), (e: unknown) => e instanceof LinkProtocolError && e.code === 'link.bad_frame_length');
    assert.throws(() => new LinkFrameDecoder().push(hex('00000000')), LinkProtocolError);
  });

  test('malformed frames: unknown kind, truncated fields, trailing bytes, wrong nonce size', () => {
    const expectCode = (bytes: Buffer, code: string) =>
      assert.throws(() => new LinkFrameDecoder().push(bytes), (e: unknown) => e instanceof LinkProtocolError && e.code === code, code);
    expectCode(hex('00000001 63'), 'link.unknown_frame');
    expectCode(hex('00000003 0b 0000'), 'link.truncated_frame');
    expectCode(hex('00000006 15 00000001 ff'), 'link.trailing_bytes');
    expectCode(hex('00000004 1e 000000'), 'link.truncated_frame');
    assert.throws(() => encodeLinkFrame({ kind: LinkFrameKind.Hello, version: 1, edgeName: 'e', edgeNonce: Buffer.alloc(5) }), LinkProtocolError);
    assert.throws(() => encodeLinkFrame({ kind: LinkFrameKind.AuthFailed, reason: 'x'.repeat(70_000) }), LinkProtocolError);
  });

  test('random bytes only ever throw LinkProtocolError', () => {
    const random = prng(7);
    for (let i = 0; i < 3000; i++) {
      const bytes = randomBytes(5 + Math.floor(random() * 80), i);
      if (random() < 0.7) bytes.writeUInt32BE(bytes.length - 4, 0); // a plausible length reaches the body parser
      try {
        new LinkFrameDecoder().push(bytes);
      } catch (error) {
        assert.ok(error instanceof LinkProtocolError, String(error));
      }
    }
  });
});

describe('link authentication', () => {
  test('proofs are HMAC-SHA256 over role, edge name and both nonces', () => {
    const expected = createHmac('sha256', 's3cret').update('classroom-gateway link v1 edge\nedge-a\n').update(nonceB).update(nonceA).digest();
    assert.deepEqual(edgeProof('s3cret', 'edge-a', nonceB, nonceA), expected);
  });

  test('the edge and the origin prove different things; a wrong secret or name fails', () => {
    const originNonce = newLinkNonce();
    const edgeNonce = newLinkNonce();
    assert.notDeepEqual(originNonce, edgeNonce);
    const fromEdge = edgeProof('secret', 'edge-a', originNonce, edgeNonce);
    assert.ok(proofMatches(fromEdge, edgeProof('secret', 'edge-a', originNonce, edgeNonce)));
    assert.ok(!proofMatches(fromEdge, edgeProof('other', 'edge-a', originNonce, edgeNonce)));
    assert.ok(!proofMatches(fromEdge, edgeProof('secret', 'edge-b', originNonce, edgeNonce)));
    assert.ok(!proofMatches(fromEdge, originProof('secret', 'edge-a', originNonce, edgeNonce)), 'an origin proof is not an edge proof');
    assert.ok(!proofMatches(fromEdge, edgeProof('secret', 'edge-a', newLinkNonce(), edgeNonce)), 'a replay against a fresh nonce fails');
    assert.ok(!proofMatches(fromEdge.subarray(0, 16), fromEdge));
  });
});
