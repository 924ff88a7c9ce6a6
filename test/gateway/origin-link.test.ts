/**
 * The edge's link client against hand-made origins on loopback: it proves the secret without
 * sending it, refuses an origin that cannot prove the secret back, and when an origin is
 * unreachable moves on to the next configured one with backoff.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LINK_PROTOCOL_VERSION, LinkFrameDecoder, LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import { Logger } from '#common/logger.ts';
import { OriginLink } from '../../gateway/link/origin-link.ts';

const servers: Server[] = [];
const links: OriginLink[] = [];
after(() => {
  for (const link of links) link.close();
  for (const server of servers) server.close();
});

/** A fake origin: answers Hello with a challenge and Auth with `answer(proofOk, nonces)`. */
async function fakeOrigin(secret: string, honest: boolean): Promise<{ port: number; received: LinkFrame[] }> {
  const received: LinkFrame[] = [];
  const server = createServer((socket: Socket) => {
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
        }
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received };
}

function link(ports: number[], secret: string): OriginLink {
  const l = new OriginLink({
    origins: ports.map((port) => ({ host: '127.0.0.1', port })), secret, edgeName: 'edge-t', tls: false, caFile: null,
    pingIntervalMs: 1000, loadIntervalMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 200, loadReport: () => ({ clients: 0 }),
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
  const dead = createServer();
  dead.listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const deadPort = (dead.address() as AddressInfo).port;
  dead.close();
  const origin = await fakeOrigin('s3cret', true);
  const l = link([deadPort, origin.port], 's3cret');
  const up = once(l, 'up');
  l.start();
  const [address] = await up;
  assert.equal(address, `127.0.0.1:${origin.port}`);
  l.close();
});
