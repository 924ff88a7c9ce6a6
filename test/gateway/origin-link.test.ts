/**
 * The edge's link client against hand-made origins on loopback: it proves the secret without
 * sending it, refuses an origin that cannot prove the secret back, and when an origin is
 * unreachable moves on to the next configured one with backoff. A link that worked is redialled at
 * once when lost; attempts an origin's host refuses at once are retried within reconnectRefusedMaxMs,
 * other failures back off towards reconnectMaxMs (the delays the link chose, from its events).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LINK_PROTOCOL_VERSION, LinkFrameDecoder, LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { Logger } from '#common/logger.ts';
import { OriginLink, STABLE_LINK_MS, type OriginLinkOptions } from '../../gateway/link/origin-link.ts';

const servers: Server[] = [];
const links: OriginLink[] = [];
after(() => {
  for (const link of links) link.close();
  for (const server of servers) server.close();
});

/**
 * A fake origin: answers Hello with a challenge and Auth with its proof (a wrong one unless
 * `honest`); `dropOnAuth`: it closes each link right after AuthOk. `sockets`: its edges' connections.
 */
async function fakeOrigin(secret: string, honest: boolean, dropOnAuth = false): Promise<{ port: number; received: LinkFrame[]; sockets: Set<Socket> }> {
  const received: LinkFrame[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const decoder = new LinkFrameDecoder();
    const originNonce = newLinkNonce();
    let hello: Extract<LinkFrame, { kind: typeof LinkFrameKind.Hello }> | null = null;
    socket.on('data', (data) => {
      for (const frame of decoder.push(data)) {
        received.push(frame);
        if (frame.kind === LinkFrameKind.Hello) {
          hello = frame;
          socket.write(encodeLinkFrame({ kind: LinkFrameKind.Challenge, version: LINK_PROTOCOL_VERSION, originNonce }));
        } else if (frame.kind === LinkFrameKind.Auth && hello) {
          assert.ok(proofMatches(frame.proof, edgeProof(secret, hello.edgeName, originNonce, hello.edgeNonce)));
          const proof = honest ? originProof(secret, hello.edgeName, originNonce, hello.edgeNonce) : newLinkNonce();
          socket.write(encodeLinkFrame({ kind: LinkFrameKind.AuthOk, proof }));
          if (dropOnAuth) socket.end();
        }
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received, sockets };
}

/** A port nothing listens on (connections to it are refused). */
async function deadPort(): Promise<number> {
  const dead = createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const port = (dead.address() as AddressInfo).port;
  dead.close();
  await once(dead, 'close');
  return port;
}

function link(ports: number[], secret: string, reconnect: Partial<Pick<OriginLinkOptions, 'reconnectMinMs' | 'reconnectRefusedMaxMs' | 'reconnectMaxMs'>> = {}): OriginLink {
  const l = new OriginLink({
    origins: ports.map((port) => ({ host: '127.0.0.1', port })), secret, edgeName: 'edge-t', tls: false, caFile: null,
    pingIntervalMs: 1000, loadIntervalMs: 1000, reconnectMinMs: 50, reconnectRefusedMaxMs: 100, reconnectMaxMs: 200, ...reconnect, loadReport: () => ({ clients: 0 }),
  }, new Logger('test-link'));
  links.push(l);
  return l;
}

test('the secret is proven, never sent; a Load report follows AuthOk', async () => {
  const origin = await fakeOrigin('s3cret', true);
  const l = link([origin.port], 's3cret');
  const up = once(l, 'up');
  l.start();
  await up;
  assert.ok(l.isUp);
  await new Promise((r) => setTimeout(r, 50));
  const wire = Buffer.concat(origin.received.map(encodeLinkFrame));
  assert.equal(wire.includes(Buffer.from('s3cret')), false, 'the secret never crosses the wire');
  assert.ok(origin.received.some((f) => f.kind === LinkFrameKind.Load));
  l.close();
});

test('an origin that cannot prove the secret is refused', async () => {
  const origin = await fakeOrigin('s3cret', false);
  const l = link([origin.port], 's3cret');
  let up = false;
  l.on('up', () => { up = true; });
  l.start();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(up, false);
  assert.ok(origin.received.filter((f) => f.kind === LinkFrameKind.Hello).length >= 2, 'it retried, and refused again');
  assert.ok(!origin.received.some((f) => f.kind === LinkFrameKind.Load), 'nothing but the handshake went to it');
  l.close();
});

test('an unreachable origin: the link moves on to the next configured one', async () => {
  const origin = await fakeOrigin('s3cret', true);
  const l = link([await deadPort(), origin.port], 's3cret');
  const up = once(l, 'up');
  l.start();
  const [address] = await up;
  assert.equal(address, `127.0.0.1:${origin.port}`);
  l.close();
});

/** The retry delays the link chose after its next `count` failed attempts. */
async function retryDelays(l: OriginLink, count: number): Promise<number[]> {
  const delays: number[] = [];
  const done = new Promise<void>((resolve) => l.on('attemptFailed', (_reason, retryInMs) => { if (delays.push(retryInMs) === count) resolve(); }));
  l.start();
  await done;
  l.close();
  return delays;
}

test('a link that worked is redialled at once when lost, whatever the back-off; its recovery\'s moments are kept in order', async () => {
  const origin = await fakeOrigin('s3cret', true);
  // Any delay at all would be a minute: only the immediate redial brings the link back within the test.
  const l = link([origin.port], 's3cret', { reconnectMinMs: 60_000, reconnectRefusedMaxMs: 60_000, reconnectMaxMs: 60_000 });
  const up = once(l, 'up');
  l.start();
  await up;
  const before = l.lastRecovery;
  assert.equal(before, null, 'no recovery before a loss');
  await new Promise((r) => setTimeout(r, STABLE_LINK_MS + 50)); // the link has worked long enough to count as stable
  const down = once(l, 'down');
  const upAgain = once(l, 'up');
  for (const socket of origin.sockets) socket.destroy();
  await down;
  await upAgain;
  const recovery = l.lastRecovery;
  assert.ok(recovery, 'the recovery is reported');
  assert.equal(recovery.failedAttempts, 0);
  assert.ok(recovery.lostAt <= recovery.dialedAt && recovery.dialedAt <= recovery.connectedAt && recovery.connectedAt <= recovery.upAt, JSON.stringify(recovery));
  l.close();
});

test('attempts refused at once are retried within reconnectRefusedMaxMs; an origin that fails its proof backs off towards reconnectMaxMs', async () => {
  // Each delay is 50..100 % of its step (jitter), the step doubling from 10 ms up to its cap.
  const withinStep = (delays: number[], capMs: number) => delays.every((ms, i) => {
    const step = Math.min(capMs, 10 * 2 ** i);
    return ms >= Math.floor(step / 2) && ms <= step;
  });
  const refused = await retryDelays(link([await deadPort()], 's3cret', { reconnectMinMs: 10, reconnectRefusedMaxMs: 40, reconnectMaxMs: 60_000 }), 8);
  assert.ok(withinStep(refused, 40), `refused: steps capped at 40 ms (${refused.join(', ')} ms)`);

  const liar = await fakeOrigin('s3cret', false);
  const mismatched = await retryDelays(link([liar.port], 's3cret', { reconnectMinMs: 10, reconnectRefusedMaxMs: 40, reconnectMaxMs: 60_000 }), 5);
  assert.ok(withinStep(mismatched, 60_000), `proof mismatch: steps doubling past the refused cap (${mismatched.join(', ')} ms)`);
  assert.ok(mismatched[4]! > 40, `proof mismatch: the fifth delay is above the refused cap (${mismatched.join(', ')} ms)`);
});

test('a link lost as soon as it was made is not redialled at once: it backs off as a failed attempt', async () => {
  const dropper = await fakeOrigin('s3cret', true, true);
  const l = link([dropper.port], 's3cret', { reconnectMinMs: 10, reconnectRefusedMaxMs: 10, reconnectMaxMs: 60_000 });
  const delays: Array<number | null> = [];
  const lost = new Promise<void>((resolve) => l.on('down', (_reason, retryInMs) => { if (delays.push(retryInMs) === 5) resolve(); }));
  l.start();
  await lost;
  l.close();
  assert.ok(delays.every((ms) => ms !== null && ms > 0), `every redial waited (${delays.join(', ')} ms)`);
  assert.ok(delays[4]! >= 80, `the steps kept doubling past the refused cap, not reset by the short-lived links (${delays.join(', ')} ms)`);
});
