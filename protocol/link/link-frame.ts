/**
 * The edge-origin link's framing: one TCP (or TLS) connection per edge carries every client
 * session of that edge, plus one copy of each live stream the edge's players watch. A frame is
 * `u32 length | u8 kind | fields`, big-endian; RTMP messages travel as messages (type,
 * timestamp, stream id, payload), never as a language-specific serialisation. Pure: bytes in,
 * frames out.
 *
 * The conversation:
 * 1. Edge: Hello. Origin: Challenge. Edge: Auth. Origin: AuthOk (or AuthFailed and close).
 *    Nothing else is accepted before AuthOk.
 * 2. Sessions: the edge terminates RTMP (handshake, chunking, acknowledgements, pings) and sends
 *    SessionOpen, then every other message of the client as Message; the origin runs the
 *    client's session and answers with Message frames; either side ends it with SessionClose.
 * 3. Live relay, driven by the origin: when a session of this edge plays a live stream, the
 *    origin opens a subscription for that stream on this edge (Subscribe, StreamState,
 *    then StreamMessage frames: first the stream's startup cache, then live packets), once
 *    per stream per edge, and attaches the client's NetStream to it (PlayAttach). The edge
 *    fans the subscription out to its attached clients. PlayState carries pause and
 *    receiveAudio/receiveVideo; PlayDetach and Unsubscribe end them.
 * 4. Ping/Pong both ways (round-trip time); Load from the edge (its registry entry). An edge that
 *    stops sends a Load with `draining: true` at once: the origin sends no new users to it, and
 *    its clients leave before its link closes.
 */
import { ProtocolError } from '../errors.ts';

/** The link protocol version an edge and an origin must share. */
export const LINK_PROTOCOL_VERSION = 1;
export const LINK_NONCE_BYTES = 32;
/** Largest frame accepted: an RTMP message (24-bit length) plus headers, with room to spare. */
export const MAX_LINK_FRAME_BYTES = 17 * 1024 * 1024;

export class LinkProtocolError extends ProtocolError {}

export const LinkFrameKind = {
  Hello: 1,
  Challenge: 2,
  Auth: 3,
  AuthOk: 4,
  AuthFailed: 5,
  SessionOpen: 10,
  SessionClose: 11,
  Message: 12,
  Subscribe: 20,
  Unsubscribe: 21,
  StreamMessage: 22,
  StreamState: 23,
  PlayAttach: 24,
  PlayDetach: 25,
  PlayState: 26,
  Ping: 30,
  Pong: 31,
  Load: 32,
} as const;

export type LinkFrame =
  /** Edge -> origin, first frame: who the edge is and its half of the nonces. */
  | { kind: typeof LinkFrameKind.Hello; version: number; edgeName: string; edgeNonce: Buffer }
  /** Origin -> edge: the origin's nonce; the edge must prove it knows the secret. */
  | { kind: typeof LinkFrameKind.Challenge; version: number; originNonce: Buffer }
  | { kind: typeof LinkFrameKind.Auth; proof: Buffer }
  /** Origin -> edge: the origin's own proof, so the edge knows it reached the real origin. */
  | { kind: typeof LinkFrameKind.AuthOk; proof: Buffer }
  | { kind: typeof LinkFrameKind.AuthFailed; reason: string }
  /** Edge -> origin: a client connected to the edge (address as the edge saw it). */
  | { kind: typeof LinkFrameKind.SessionOpen; sessionId: number; remoteAddress: string; remotePort: number; protocol: string }
  | { kind: typeof LinkFrameKind.SessionClose; sessionId: number; reason: string }
  /** One RTMP message of one session, either way. */
  | { kind: typeof LinkFrameKind.Message; sessionId: number; type: number; timestamp: number; streamId: number; payload: Buffer }
  /** Origin -> edge: subscription `subscriptionId` now carries one copy of live stream `streamKey`. */
  | { kind: typeof LinkFrameKind.Subscribe; subscriptionId: number; streamKey: string }
  /** Origin -> edge: the subscription ends (no client of the edge plays it any more). */
  | { kind: typeof LinkFrameKind.Unsubscribe; subscriptionId: number }
  /** Origin -> edge: a media or data message of a subscribed stream (sent once per edge). */
  | { kind: typeof LinkFrameKind.StreamMessage; subscriptionId: number; type: number; timestamp: number; payload: Buffer }
  /** Origin -> edge: the subscribed stream started (published) or stopped being published. */
  | { kind: typeof LinkFrameKind.StreamState; subscriptionId: number; published: boolean }
  /** Origin -> edge: session `sessionId`'s NetStream `streamId` plays subscription `subscriptionId`. */
  | { kind: typeof LinkFrameKind.PlayAttach; sessionId: number; streamId: number; subscriptionId: number }
  | { kind: typeof LinkFrameKind.PlayDetach; sessionId: number; streamId: number }
  /** Origin -> edge: what that NetStream wants now (pause, receiveAudio, receiveVideo). */
  | { kind: typeof LinkFrameKind.PlayState; sessionId: number; streamId: number; paused: boolean; audio: boolean; video: boolean }
  | { kind: typeof LinkFrameKind.Ping; id: number }
  | { kind: typeof LinkFrameKind.Pong; id: number }
  /** Edge -> origin: load report (JSON object: clients, streams, ..., `draining: true` once the edge is stopping). */
  | { kind: typeof LinkFrameKind.Load; report: string };

/** Encodes frames into bytes; `LinkFrameWriter` keeps one growable scratch area. */
class FrameWriter {
  #buf: Buffer;
  #pos = 4; // the length prefix is filled in by finish()

  constructor(size: number) {
    this.#buf = Buffer.allocUnsafe(size);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
  }

  u8(v: number): this { this.#ensure(1); this.#buf[this.#pos++] = v; return this; }
  u16(v: number): this { this.#ensure(2); this.#buf.writeUInt16BE(v, this.#pos); this.#pos += 2; return this; }
  u32(v: number): this { this.#ensure(4); this.#buf.writeUInt32BE(v >>> 0, this.#pos); this.#pos += 4; return this; }
  bytes(b: Buffer): this { this.#ensure(b.length); b.copy(this.#buf, this.#pos); this.#pos += b.length; return this; }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw new LinkProtocolError('link.string_too_long', `a link string is limited to 65535 bytes, got ${b.length}`);
    return this.u16(b.length).bytes(b);
  }
  /** A fixed-size field: exactly `size` bytes or an error (nonces, proofs). */
  fixed(b: Buffer, size: number, what: string): this {
    if (b.length !== size) throw new LinkProtocolError('link.bad_field', `${what} must be ${size} bytes, got ${b.length}`);
    return this.bytes(b);
  }

  finish(): Buffer {
    this.#buf.writeUInt32BE(this.#pos - 4, 0);
    return this.#buf.subarray(0, this.#pos);
  }
}

export function encodeLinkFrame(frame: LinkFrame): Buffer {
  const payloadSize = 'payload' in frame ? frame.payload.length : 0;
  if (payloadSize > MAX_LINK_FRAME_BYTES - 64) throw new LinkProtocolError('link.frame_too_large', `payload of ${payloadSize} bytes is too large for a link frame`);
  const w = new FrameWriter(32 + payloadSize).u8(frame.kind);
  switch (frame.kind) {
    case LinkFrameKind.Hello:
      return w.u16(frame.version).string(frame.edgeName).fixed(frame.edgeNonce, LINK_NONCE_BYTES, 'edge nonce').finish();
    case LinkFrameKind.Challenge:
      return w.u16(frame.version).fixed(frame.originNonce, LINK_NONCE_BYTES, 'origin nonce').finish();
    case LinkFrameKind.Auth:
    case LinkFrameKind.AuthOk:
      return w.fixed(frame.proof, 32, 'proof').finish();
    case LinkFrameKind.AuthFailed:
      return w.string(frame.reason).finish();
    case LinkFrameKind.SessionOpen:
      return w.u32(frame.sessionId).string(frame.remoteAddress).u16(frame.remotePort).string(frame.protocol).finish();
    case LinkFrameKind.SessionClose:
      return w.u32(frame.sessionId).string(frame.reason).finish();
    case LinkFrameKind.Message:
      return w.u32(frame.sessionId).u8(frame.type).u32(frame.timestamp).u32(frame.streamId).bytes(frame.payload).finish();
    case LinkFrameKind.Subscribe:
      return w.u32(frame.subscriptionId).string(frame.streamKey).finish();
    case LinkFrameKind.Unsubscribe:
      return w.u32(frame.subscriptionId).finish();
    case LinkFrameKind.StreamMessage:
      return w.u32(frame.subscriptionId).u8(frame.type).u32(frame.timestamp).bytes(frame.payload).finish();
    case LinkFrameKind.StreamState:
      return w.u32(frame.subscriptionId).u8(frame.published ? 1 : 0).finish();
    case LinkFrameKind.PlayAttach:
      return w.u32(frame.sessionId).u32(frame.streamId).u32(frame.subscriptionId).finish();
    case LinkFrameKind.PlayDetach:
      return w.u32(frame.sessionId).u32(frame.streamId).finish();
    case LinkFrameKind.PlayState:
      return w.u32(frame.sessionId).u32(frame.streamId).u8((frame.paused ? 1 : 0) | (frame.audio ? 2 : 0) | (frame.video ? 4 : 0)).finish();
    case LinkFrameKind.Ping:
    case LinkFrameKind.Pong:
      return w.u32(frame.id).finish();
    case LinkFrameKind.Load:
      return w.bytes(Buffer.from(frame.report, 'utf8')).finish();
  }
}

/** Bounds-checked reads over one frame's body. */
class FrameReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #kind: number;

  constructor(buf: Buffer, kind: number) {
    this.#buf = buf;
    this.#pos = 1;
    this.#kind = kind;
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) throw new LinkProtocolError('link.truncated_frame', `link frame of kind ${this.#kind} ends early`);
  }

  u8(): number { this.#need(1); return this.#buf[this.#pos++]!; }
  u16(): number { this.#need(2); const v = this.#buf.readUInt16BE(this.#pos); this.#pos += 2; return v; }
  u32(): number { this.#need(4); const v = this.#buf.readUInt32BE(this.#pos); this.#pos += 4; return v; }
  bytes(n: number): Buffer { this.#need(n); const b = this.#buf.subarray(this.#pos, this.#pos + n); this.#pos += n; return b; }
  string(): string { return this.bytes(this.u16()).toString('utf8'); }
  rest(): Buffer { const b = this.#buf.subarray(this.#pos); this.#pos = this.#buf.length; return b; }
  end(): void {
    if (this.#pos !== this.#buf.length) throw new LinkProtocolError('link.trailing_bytes', `link frame of kind ${this.#kind} has ${this.#buf.length - this.#pos} bytes too many`);
  }
}

function decodeBody(body: Buffer): LinkFrame {
  const kind = body[0]!;
  const r = new FrameReader(body, kind);
  let frame: LinkFrame;
  switch (kind) {
    case LinkFrameKind.Hello:
      frame = { kind, version: r.u16(), edgeName: r.string(), edgeNonce: r.bytes(LINK_NONCE_BYTES) };
      break;
    case LinkFrameKind.Challenge:
      frame = { kind, version: r.u16(), originNonce: r.bytes(LINK_NONCE_BYTES) };
      break;
    case LinkFrameKind.Auth:
    case LinkFrameKind.AuthOk:
      frame = { kind, proof: r.bytes(32) };
      break;
    case LinkFrameKind.AuthFailed:
      frame = { kind, reason: r.string() };
      break;
    case LinkFrameKind.SessionOpen:
      frame = { kind, sessionId: r.u32(), remoteAddress: r.string(), remotePort: r.u16(), protocol: r.string() };
      break;
    case LinkFrameKind.SessionClose:
      frame = { kind, sessionId: r.u32(), reason: r.string() };
      break;
    case LinkFrameKind.Message:
      frame = { kind, sessionId: r.u32(), type: r.u8(), timestamp: r.u32(), streamId: r.u32(), payload: r.rest() };
      break;
    case LinkFrameKind.Subscribe:
      frame = { kind, subscriptionId: r.u32(), streamKey: r.string() };
      break;
    case LinkFrameKind.Unsubscribe:
      frame = { kind, subscriptionId: r.u32() };
      break;
    case LinkFrameKind.StreamMessage:
      frame = { kind, subscriptionId: r.u32(), type: r.u8(), timestamp: r.u32(), payload: r.rest() };
      break;
    case LinkFrameKind.StreamState:
      frame = { kind, subscriptionId: r.u32(), published: r.u8() === 1 };
      break;
    case LinkFrameKind.PlayAttach:
      frame = { kind, sessionId: r.u32(), streamId: r.u32(), subscriptionId: r.u32() };
      break;
    case LinkFrameKind.PlayDetach:
      frame = { kind, sessionId: r.u32(), streamId: r.u32() };
      break;
    case LinkFrameKind.PlayState: {
      const sessionId = r.u32();
      const streamId = r.u32();
      const flags = r.u8();
      frame = { kind, sessionId, streamId, paused: (flags & 1) !== 0, audio: (flags & 2) !== 0, video: (flags & 4) !== 0 };
      break;
    }
    case LinkFrameKind.Ping:
    case LinkFrameKind.Pong:
      frame = { kind, id: r.u32() };
      break;
    case LinkFrameKind.Load:
      frame = { kind, report: r.rest().toString('utf8') };
      break;
    default:
      throw new LinkProtocolError('link.unknown_frame', `unknown link frame kind ${kind}`);
  }
  r.end();
  return frame;
}

/** Reassembles frames from arbitrarily split input. Throws LinkProtocolError; unusable afterwards. */
export class LinkFrameDecoder {
  readonly #maxFrameBytes: number;
  #parts: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes = MAX_LINK_FRAME_BYTES) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  push(data: Buffer): LinkFrame[] {
    if (data.length) {
      this.#parts.push(data);
      this.#buffered += data.length;
    }
    const frames: LinkFrame[] = [];
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const length = head.readUInt32BE(0);
      if (length === 0 || length > this.#maxFrameBytes) {
        throw new LinkProtocolError('link.bad_frame_length', `link frame length ${length} is outside 1..${this.#maxFrameBytes}`);
      }
      if (this.#buffered < 4 + length) break;
      const frame = this.#take(4 + length).subarray(4);
      frames.push(decodeBody(frame));
    }
    return frames;
  }

  /** The first n buffered bytes (copies only when they span parts). */
  #peek(n: number): Buffer {
    const first = this.#parts[0]!;
    if (first.length >= n) return first;
    this.#parts = [Buffer.concat(this.#parts)];
    return this.#parts[0]!;
  }

  #take(n: number): Buffer {
    const first = this.#peek(n);
    const taken = first.subarray(0, n);
    if (first.length === n) this.#parts.shift();
    else this.#parts[0] = first.subarray(n);
    this.#buffered -= n;
    return taken;
  }
}
