/**
 * Mutual challenge-response for the edge-origin link: each side proves it knows the shared
 * secret with an HMAC over both nonces, so the secret never crosses the wire and a recorded
 * exchange cannot be replayed (the other side's nonce is fresh every time).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LINK_NONCE_BYTES } from './link-frame.ts';

export function newLinkNonce(): Buffer {
  return randomBytes(LINK_NONCE_BYTES);
}

function proof(secret: string, role: 'edge' | 'origin', edgeName: string, first: Buffer, second: Buffer): Buffer {
  return createHmac('sha256', secret).update(`classroom-gateway link v1 ${role}\n${edgeName}\n`).update(first).update(second).digest();
}

/** What the edge sends: proof over the origin's nonce first (the challenge it answers). */
export function edgeProof(secret: string, edgeName: string, originNonce: Buffer, edgeNonce: Buffer): Buffer {
  return proof(secret, 'edge', edgeName, originNonce, edgeNonce);
}

/** What the origin sends back: proof over the edge's nonce first, with a different role label. */
export function originProof(secret: string, edgeName: string, originNonce: Buffer, edgeNonce: Buffer): Buffer {
  return proof(secret, 'origin', edgeName, edgeNonce, originNonce);
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(received: Buffer, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}
