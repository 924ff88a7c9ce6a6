/**
 * RTMP handshake codecs (C0/C1/C2 <-> S0/S1/S2), pure: bytes in, bytes to send out.
 * The server answers both the plain handshake of the RTMP spec and the "digest"
 * handshake of Flash Player 9+ / FMS (HMAC-SHA256 digests at a position derived
 * from the packet itself), which Flash Player needs to play H.264/AAC.
 */

import { createHmac, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { HandshakeError } from '../errors.ts';

/** Size of C1, C2, S1 and S2. */
export const HANDSHAKE_PACKET_SIZE = 1536;
const RTMP_VERSION = 3;
const DIGEST_SIZE = 32;
/** S2/C2 of the digest handshake: random bytes, then an HMAC of them. */
const RESPONSE_DATA_SIZE = HANDSHAKE_PACKET_SIZE - DIGEST_SIZE;
/** Version we announce in a digest S1 (the value FMS and most servers send). */
const SERVER_VERSION = 0x0d0e0a0d;
/** Version we announce in a digest C1: Flash Player 10.0.45.2, like librtmp. */
const CLIENT_VERSION = 0x0a002d02;

/** Public tail shared by both keys; only the first 30/36 bytes ("open parts") sign C1/S1. */
const KEY_TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
const FP_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'latin1'), KEY_TAIL]);
const FMS_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'latin1'), KEY_TAIL]);
const FP_KEY_OPEN = FP_KEY.subarray(0, 30);
const FMS_KEY_OPEN = FMS_KEY.subarray(0, 36);

/**
 * Where the digest sits: the 4 bytes at `base` are summed, taken mod 728 and added to
 * base+4. Scheme 0 (base 8) is what Flash Player 9 / ffmpeg / librtmp use for plain
 * RTMP, scheme 1 (base 772) what Flash Player 10+ uses; peers must accept both.
 */
const SCHEME_BASES = [8, 772] as const;

function digestOffset(packet: Buffer, scheme: number): number {
  const base = SCHEME_BASES[scheme]!;
  return ((packet[base]! + packet[base + 1]! + packet[base + 2]! + packet[base + 3]!) % 728) + base + 4;
}

/** HMAC-SHA256 of the packet with the 32 digest bytes at `offset` left out. */
function packetDigest(packet: Buffer, offset: number, key: Buffer): Buffer {
  return createHmac('sha256', key)
    .update(packet.subarray(0, offset))
    .update(packet.subarray(offset + DIGEST_SIZE))
    .digest();
}

interface FoundDigest {
  scheme: number;
  digest: Buffer;
}

/** Finds a valid digest in C1/S1, trying `preferred` scheme first. */
function findDigest(packet: Buffer, key: Buffer, preferred = 0): FoundDigest | null {
  for (const scheme of [preferred, 1 - preferred]) {
    const offset = digestOffset(packet, scheme);
    const digest = packet.subarray(offset, offset + DIGEST_SIZE);
    if (packetDigest(packet, offset, key).equals(digest)) return { scheme, digest: Buffer.from(digest) };
  }
  return null;
}

/** Writes the digest into `packet` (already filled) and returns it. */
function imprintDigest(packet: Buffer, scheme: number, key: Buffer): Buffer {
  const offset = digestOffset(packet, scheme);
  const digest = packetDigest(packet, offset, key);
  digest.copy(packet, offset);
  return digest;
}

/** The digest-handshake reply to a peer digest: HMAC keyed by HMAC(fullKey, peerDigest). */
function responseSignature(data: Buffer, peerDigest: Buffer, fullKey: Buffer): Buffer {
  const key = createHmac('sha256', fullKey).update(peerDigest).digest();
  return createHmac('sha256', key).update(data.subarray(0, RESPONSE_DATA_SIZE)).digest();
}

/** Random S2/C2 of the digest handshake, signed for the peer's digest. */
function signedResponse(peerDigest: Buffer, fullKey: Buffer, random: RandomSource): Buffer {
  const packet = random(HANDSHAKE_PACKET_SIZE);
  responseSignature(packet, peerDigest, fullKey).copy(packet, RESPONSE_DATA_SIZE);
  return packet;
}

/** time (4 bytes), version/zero (4 bytes), random. */
function basePacket(version: number, random: RandomSource): Buffer {
  const packet = random(HANDSHAKE_PACKET_SIZE);
  packet.writeUInt32BE(0, 0);
  packet.writeUInt32BE(version, 4);
  return packet;
}

function checkVersion(version: number): void {
  if (version === RTMP_VERSION) return;
  if (version === 6 || version === 8 || version === 9) {
    throw new HandshakeError('handshake.unsupported_encryption', `RTMPE (version byte ${version}) is not supported`);
  }
  throw new HandshakeError('handshake.bad_version', `unsupported RTMP version byte ${version}`);
}

/** Source of random bytes; injectable so tests can make byte-exact handshakes. */
export type RandomSource = (size: number) => Buffer;

export interface HandshakeResult {
  /** Bytes to write to the peer now, if any. */
  send: Buffer | null;
  /** The handshake is complete; `rest` is the start of the chunk stream. */
  done: boolean;
  /** Input bytes past the end of the handshake (empty until done). */
  rest: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Collects a fixed number of bytes from arbitrarily split input without re-concatenating. */
class FixedReader {
  private buffer: Buffer;
  private filled = 0;
  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }
  get filledBytes(): number {
    return this.filled;
  }
  get firstByte(): number | undefined {
    return this.filled > 0 ? this.buffer[0] : undefined;
  }
  /** Takes what it still needs from `data`; returns the packet once full and the unused input. */
  take(data: Buffer): { packet: Buffer | null; rest: Buffer } {
    const n = Math.min(this.buffer.length - this.filled, data.length);
    data.copy(this.buffer, this.filled, 0, n);
    this.filled += n;
    return { packet: this.filled === this.buffer.length ? this.buffer : null, rest: data.subarray(n) };
  }
}

/** Shared state machine: read one fixed-size packet, react, read the next, then pass bytes through. */
abstract class HandshakeBase {
  protected readonly random: RandomSource;
  private reader: FixedReader;
  private stage = 0;
  private finished = false;

  constructor(random: RandomSource | undefined, firstSize: number) {
    this.random = random ?? cryptoRandomBytes;
    this.reader = new FixedReader(firstSize);
  }

  /** Handles a complete packet of stage `stage`; returns bytes to send and the next packet size (0: done). */
  protected abstract onPacket(stage: number, packet: Buffer): { send: Buffer | null; nextSize: number };

  push(data: Buffer): HandshakeResult {
    if (this.finished) return { send: null, done: true, rest: data };
    const sends: Buffer[] = [];
    let rest = data;
    for (;;) {
      const hadVersion = this.reader.filledBytes > 0;
      const { packet, rest: remaining } = this.reader.take(rest);
      rest = remaining;
      // Reject a bad version byte at once rather than after 1536 more bytes.
      if (this.stage === 0 && !hadVersion && this.reader.firstByte !== undefined) checkVersion(this.reader.firstByte);
      if (!packet) break;
      const { send, nextSize } = this.onPacket(this.stage++, packet);
      if (send) sends.push(send);
      if (nextSize === 0) {
        this.finished = true;
        break;
      }
      this.reader = new FixedReader(nextSize);
    }
    const send = sends.length === 0 ? null : sends.length === 1 ? sends[0]! : Buffer.concat(sends);
    return { send, done: this.finished, rest: this.finished ? rest : EMPTY };
  }

  /** Call when the peer closed the connection: throws if the handshake was cut short. */
  end(): void {
    if (!this.finished) {
      throw new HandshakeError(
        'handshake.truncated',
        `connection ended during the handshake (stage ${this.stage}, ${this.reader.filledBytes} bytes of the packet)`,
      );
    }
  }
}

export interface HandshakeOptions {
  /** Random byte source (default: node:crypto randomBytes). */
  randomBytes?: RandomSource;
}

/** Server side: reads C0+C1, answers S0+S1+S2 at once, then reads C2 (not validated: clients vary). */
export class ServerHandshake extends HandshakeBase {
  private _scheme: 'simple' | 'digest' | null = null;

  constructor(options?: HandshakeOptions) {
    super(options?.randomBytes, 1 + HANDSHAKE_PACKET_SIZE);
  }

  /** Which handshake the client got; null until C1 arrived. */
  get scheme(): 'simple' | 'digest' | null {
    return this._scheme;
  }

  protected onPacket(stage: number, packet: Buffer): { send: Buffer | null; nextSize: number } {
    if (stage !== 0) return { send: null, nextSize: 0 };
    const c1 = packet.subarray(1);
    // A zero version means a client that only knows the plain handshake.
    const found = c1.readUInt32BE(4) !== 0 ? findDigest(c1, FP_KEY_OPEN) : null;
    let s1: Buffer;
    let s2: Buffer;
    if (found) {
      this._scheme = 'digest';
      s1 = basePacket(SERVER_VERSION, this.random);
      imprintDigest(s1, found.scheme, FMS_KEY_OPEN);
      s2 = signedResponse(found.digest, FMS_KEY, this.random);
    } else {
      this._scheme = 'simple';
      s1 = basePacket(0, this.random);
      s2 = c1;
    }
    const send = Buffer.allocUnsafe(1 + 2 * HANDSHAKE_PACKET_SIZE);
    send[0] = RTMP_VERSION;
    s1.copy(send, 1);
    s2.copy(send, 1 + HANDSHAKE_PACKET_SIZE);
    return { send, nextSize: HANDSHAKE_PACKET_SIZE };
  }
}

export interface ClientHandshakeOptions extends HandshakeOptions {
  /** Send a Flash Player style C1 with a digest and check the server's S1/S2 digests. */
  digest?: boolean;
}

/** Client side, for the project's own test client and benchmarks: start() gives C0+C1, then feed S0+S1+S2. */
export class ClientHandshake extends HandshakeBase {
  private readonly digest: boolean;
  private c1: Buffer | null = null;
  private clientDigest: Buffer | null = null;
  private _serverDigestValid: boolean | null = null;

  constructor(options?: ClientHandshakeOptions) {
    super(options?.randomBytes, 1 + 2 * HANDSHAKE_PACKET_SIZE);
    this.digest = options?.digest ?? false;
  }

  /** Digest mode: whether S1 carried a valid FMS digest and S2 signed ours; null before S2 or in plain mode. */
  get serverDigestValid(): boolean | null {
    return this._serverDigestValid;
  }

  /** C0+C1, to write first. */
  start(): Buffer {
    const c1 = basePacket(this.digest ? CLIENT_VERSION : 0, this.random);
    if (this.digest) this.clientDigest = imprintDigest(c1, 0, FP_KEY_OPEN);
    this.c1 = c1;
    return Buffer.concat([Buffer.of(RTMP_VERSION), c1]);
  }

  protected onPacket(_stage: number, packet: Buffer): { send: Buffer | null; nextSize: number } {
    if (!this.c1) throw new HandshakeError('handshake.not_started', 'ClientHandshake.start() was not called');
    const s1 = packet.subarray(1, 1 + HANDSHAKE_PACKET_SIZE);
    const s2 = packet.subarray(1 + HANDSHAKE_PACKET_SIZE);
    if (!this.clientDigest) return { send: Buffer.from(s1), nextSize: 0 };
    const found = findDigest(s1, FMS_KEY_OPEN);
    if (!found) {
      // A plain-handshake server: it echoes C1 and expects S1 echoed back.
      this._serverDigestValid = false;
      return { send: Buffer.from(s1), nextSize: 0 };
    }
    const expected = responseSignature(s2, this.clientDigest, FMS_KEY);
    this._serverDigestValid = expected.equals(s2.subarray(RESPONSE_DATA_SIZE));
    return { send: signedResponse(found.digest, FP_KEY, this.random), nextSize: 0 };
  }
}
