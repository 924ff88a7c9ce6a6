/**
 * Fuzz targets of every decoder that takes outside bytes, shared by the short property run in the
 * suite (test/protocol/fuzz.test.ts) and the long one (bench/fuzz.ts). A target feeds one input to
 * its decoder, split at arbitrary points where the decoder is streaming; the property is that it
 * only ever returns a result or throws the decoder's typed error, and that no single allocation is
 * much larger than the input (a declared size must not buy memory the peer never sent).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { amf0Decode, amf0Encode, amfEncodeForPeer } from '#protocol/amf/amf0.ts';
import { amf3Decode, amf3Encode } from '#protocol/amf/amf3.ts';
import { AmfEcmaArray, AmfTypedObject, AmfVector, type AmfValue } from '#protocol/amf/types.ts';
import { CodedError } from '#protocol/errors.ts';
import { encodeFlvHeader, encodeFlvTag, FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { encodeLinkFrame, LinkFrameDecoder, LinkFrameKind } from '#protocol/link/link-frame.ts';
import { parseMp3Frames } from '#protocol/mp3/mp3.ts';
import { ChunkDecoder } from '#protocol/rtmp/chunk-decoder.ts';
import { encodeChunks } from '#protocol/rtmp/chunk-encoder.ts';
import { decodeCommand, decodeData, encodeCommand, encodeData } from '#protocol/rtmp/command.ts';
import { parseSetPeerBandwidth, parseUint32Control, parseUserControl, pingRequestMessage, setChunkSizeMessage } from '#protocol/rtmp/control.ts';
import { ClientHandshake, ServerHandshake } from '#protocol/rtmp/handshake.ts';
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { decodeSharedObject, encodeSharedObject } from '#protocol/rtmp/shared-object.ts';
import { chooseEgressCodecs, chooseIngestCodecs, decodeSdp, parseSdp } from '#protocol/sdp/sdp.ts';
import { amfToJson, jsonToAmf, JsonAmfError } from '../../gateway/browser/amf-json.ts';
import { BadMessage, callId, optStr, safeName, type Json } from '../../gateway/browser/browser-message.ts';
import { parseRtmptPath } from '../../gateway/rtmpt/rtmpt-server.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const fixture = (path: string): Buffer => readFileSync(new URL(path, FIXTURES));

/** Largest single allocation any target may make whatever its input: a few chunks' worth. */
const ALLOCATION_FLOOR = 64 * 1024;

export interface FuzzTarget {
  name: string;
  /** Real encoded messages (from the encoders in protocol/ or captured fixtures) to mutate. */
  seeds: Buffer[];
  /** Largest arbitrary input to generate. */
  maxLength: number;
  /** Feeds one input, cut into pieces at `splits` (fractions 0..1) where the decoder streams. */
  run(input: Buffer, splits: number[]): void;
  /** The decoder's own typed errors: anything else thrown is a failure. */
  isTypedError(error: unknown): boolean;
  /** Largest allocation allowed for an input of `length` bytes. */
  allocationLimit(length: number): number;
}

const codedOnly = (error: unknown): boolean => error instanceof CodedError;
const proportional = (length: number): number => ALLOCATION_FLOOR + 4 * length;

/** Cuts `input` at the given fractions of its length, for decoders fed by a socket. */
export function splitInput(input: Buffer, splits: number[]): Buffer[] {
  const cuts = [...new Set(splits.map((f) => Math.floor(f * input.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const cut of cuts) {
    if (cut <= start) continue;
    pieces.push(input.subarray(start, cut));
    start = cut;
  }
  pieces.push(input.subarray(start));
  return pieces;
}

/** The parsers a session applies to a reassembled message, as the edge and origin sessions do. */
function parseMessage(message: RtmpMessage): void {
  switch (message.type) {
    case MessageType.SetChunkSize:
    case MessageType.Abort:
    case MessageType.Acknowledgement:
    case MessageType.WindowAckSize:
      parseUint32Control(message.payload);
      return;
    case MessageType.SetPeerBandwidth:
      parseSetPeerBandwidth(message.payload);
      return;
    case MessageType.UserControl:
      parseUserControl(message.payload);
      return;
    case MessageType.CommandAmf0:
    case MessageType.CommandAmf3:
      decodeCommand(message);
      return;
    case MessageType.DataAmf0:
    case MessageType.DataAmf3:
      decodeData(message);
      return;
    case MessageType.SharedObjectAmf0:
    case MessageType.SharedObjectAmf3:
      decodeSharedObject(message);
      return;
  }
}

/**
 * What the gateway does with decoded AMF values besides reading them: relay them re-encoded to AMF0
 * and AMF3 peers and as JSON to browsers. Each must fail typed or stay within the allocation bound.
 */
function relayValues(values: AmfValue[]): void {
  for (const relay of [() => amfEncodeForPeer(values, false), () => amfEncodeForPeer(values, true), () => values.map((v) => amfToJson(v))]) {
    try {
      relay();
    } catch (error) {
      if (!(error instanceof CodedError || error instanceof JsonAmfError)) throw error;
    }
  }
}

const sampleValues: AmfValue[] = [
  'connect',
  1,
  { app: 'live', flashVer: 'FMLE/3.0', tcUrl: 'rtmp://localhost/live', objectEncoding: 3, nested: { list: [1, 'two', null, true] } },
  AmfEcmaArray.from({ duration: 12.5, width: 640, height: 480, '0': 'dense' }),
  new AmfTypedObject('flex.messaging.Ping', { id: 7, body: 'hello' }),
  new Date(1_700_000_000_000),
  new AmfVector('int', [1, -2, 3]),
  new AmfVector('object', [{ a: 1 }, 'b'], true, 'Object'),
  Buffer.from('bytes'),
  undefined,
];

const connect = encodeCommand({ name: 'connect', transactionId: 1, commandObject: sampleValues[2]!, args: [] }, 0);
const connectAmf3 = encodeCommand({ name: 'connect', transactionId: 1, commandObject: sampleValues[2]!, args: sampleValues.slice(3) }, 0, true);
const metadata = encodeData(['@setDataFrame', 'onMetaData', sampleValues[3]!], 1);
const soChange = encodeSharedObject({
  name: 'roster',
  version: 3,
  persistent: true,
  events: [
    { kind: 'requestChange', key: 'alice', value: { role: 'teacher', hand: false } },
    { kind: 'send', handler: 'onChat', args: ['hi', 2] },
    { kind: 'status', code: 'SharedObject.BadPersistence', level: 'error' },
    { kind: 'remove', key: 'bob' },
    { kind: 'use' },
  ],
});

function chunkSeed(): Buffer {
  const big = 4096;
  return Buffer.concat([
    encodeChunks(connect, 3, 128),
    encodeChunks(pingRequestMessage(99), 2, 128),
    encodeChunks(setChunkSizeMessage(big), 2, 128),
    encodeChunks({ ...metadata, payload: Buffer.concat([metadata.payload, Buffer.alloc(300, 7)]) }, 5, big),
    encodeChunks({ type: MessageType.Video, streamId: 1, timestamp: 0x1000000, payload: Buffer.alloc(5000, 0x17) }, 6, big),
    encodeChunks({ type: MessageType.SharedObjectAmf0, streamId: 0, timestamp: 0, payload: soChange }, 3, big),
  ]);
}

function flvSeed(): Buffer {
  return Buffer.concat([
    encodeFlvHeader({ audio: true, video: true }),
    encodeFlvTag({ type: FlvTagType.Script, timestamp: 0, data: metadata.payload }),
    encodeFlvTag({ type: FlvTagType.Video, timestamp: 40, data: Buffer.from([0x17, 0, 0, 0, 0, 1, 2, 3]) }),
    encodeFlvTag({ type: FlvTagType.Audio, timestamp: 0x1000000, data: Buffer.from([0xaf, 1, 9, 9]) }),
  ]);
}

function linkSeed(): Buffer {
  const nonce = Buffer.alloc(32, 1);
  return Buffer.concat([
    encodeLinkFrame({ kind: LinkFrameKind.Hello, version: 1, edgeName: 'edge-a', edgeNonce: nonce }),
    encodeLinkFrame({ kind: LinkFrameKind.SessionOpen, sessionId: 5, remoteAddress: '10.0.0.1', remotePort: 5000, protocol: 'rtmp' }),
    encodeLinkFrame({ kind: LinkFrameKind.Message, sessionId: 5, type: 20, timestamp: 1, streamId: 0, payload: connect.payload }),
    encodeLinkFrame({ kind: LinkFrameKind.PlayState, sessionId: 5, streamId: 1, paused: false, audio: true, video: true }),
    encodeLinkFrame({ kind: LinkFrameKind.Load, report: '{"clients":3}' }),
  ]);
}

function handshakeSeeds(): Buffer[] {
  const digest = new ClientHandshake({ digest: true }).start();
  return [fixture('rtmp/ffmpeg-c0c1.bin'), fixture('rtmp/rtmpdump-fp9-c0c1.bin'), digest].map((c0c1) =>
    Buffer.concat([c0c1, Buffer.alloc(1536, 0x5a), fixture('rtmp/ffmpeg-publish-connect.bin')]),
  );
}

const browserSeeds = [
  { type: 'join', room: 'math-101', name: 'Ada', token: 'x' },
  { type: 'call', id: 4, method: 'raiseHand', args: [true, { $date: '2024-01-01T00:00:00Z' }, { $class: 'Point', x: 1 }, { $ecma: { a: 1 } }] },
  { type: 'so.set', name: 'whiteboard', key: 'stroke1', value: { $vector: 'int', items: [1, 2], $$dollar: { $bytes: 'AAEC' } } },
  { type: 'so.send', name: 'chat', handler: 'onChat', args: [{ $dict: [['k', 'v']] }, { $xml: '<a/>' }] },
].map((m) => Buffer.from(JSON.stringify(m)));

/** What ws-session does with one text message before dispatch: JSON, the field checks, AMF values. */
function parseBrowserMessage(text: string): void {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
  const message = parsed as Json;
  for (const check of [() => callId(message), () => safeName(message, 'room'), () => optStr(message, 'name', 64)]) {
    try {
      check();
    } catch (error) {
      if (!(error instanceof BadMessage)) throw error;
    }
  }
  const values = [...(message.value === undefined ? [] : [message.value]), ...(Array.isArray(message.args) ? message.args : [])].map((v) => jsonToAmf(v));
  // A browser's values go on to Flash clients and other browsers.
  relayValues(values);
}

export const fuzzTargets: FuzzTarget[] = [
  {
    name: 'handshake',
    seeds: handshakeSeeds(),
    maxLength: 4000,
    run(input, splits) {
      const handshake = new ServerHandshake();
      let rest: Buffer = Buffer.alloc(0);
      for (const piece of splitInput(input, splits)) rest = handshake.push(piece).rest;
      handshake.end();
      const decoder = new ChunkDecoder();
      for (const message of decoder.push(rest)) parseMessage(message);
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'chunk-stream',
    seeds: [chunkSeed()],
    maxLength: 2048,
    run(input, splits) {
      const decoder = new ChunkDecoder();
      for (const piece of splitInput(input, splits)) for (const message of decoder.push(piece)) parseMessage(message);
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'amf0',
    seeds: [connect.payload, metadata.payload, amf0Encode(sampleValues), amf0Encode(sampleValues, { avmPlus: true })],
    maxLength: 1024,
    run(input) {
      relayValues(amf0Decode(input));
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'amf3',
    seeds: [amf3Encode(sampleValues), connectAmf3.payload.subarray(1)],
    maxLength: 1024,
    run(input) {
      relayValues(amf3Decode(input));
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'command',
    seeds: [connect.payload, connectAmf3.payload, metadata.payload],
    maxLength: 1024,
    run(input) {
      for (const type of [MessageType.CommandAmf0, MessageType.CommandAmf3, MessageType.DataAmf0, MessageType.DataAmf3]) {
        try {
          parseMessage({ type, streamId: 1, timestamp: 0, payload: input });
        } catch (error) {
          if (!codedOnly(error)) throw error;
        }
      }
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'shared-object',
    seeds: [soChange, Buffer.concat([Buffer.of(0), soChange]), fixture('rtmp/rtmp-client-so-change.bin'), fixture('rtmp/rtmp-client-so-use.bin')],
    maxLength: 1024,
    run(input) {
      for (const type of [MessageType.SharedObjectAmf0, MessageType.SharedObjectAmf3]) {
        try {
          const decoded = decodeSharedObject({ type, streamId: 0, timestamp: 0, payload: input });
          relayValues(decoded.events.flatMap((e) => ('value' in e ? [e.value] : 'args' in e ? e.args : [])));
        } catch (error) {
          if (!codedOnly(error)) throw error;
        }
      }
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'flv',
    seeds: [flvSeed(), fixture('flv/h264-aac.flv').subarray(0, 4096)],
    maxLength: 4096,
    run(input, splits) {
      const reader = new FlvReader();
      for (const piece of splitInput(input, splits)) reader.push(piece);
    },
    isTypedError: codedOnly,
    // The reader gathers a tag that arrives in pieces into one buffer of its declared size, up to
    // its maxTagSize (16 MiB): it reads recordings and ffmpeg's output, never a client's bytes.
    allocationLimit: (length) => proportional(length) + 16 * 1024 * 1024 + 4,
  },
  {
    name: 'mp3',
    seeds: [fixture('mp3/tone.mp3').subarray(0, 4096)],
    maxLength: 4096,
    run(input) {
      parseMp3Frames(input);
    },
    isTypedError: () => false,
    allocationLimit: proportional,
  },
  {
    name: 'link-frame',
    seeds: [linkSeed()],
    maxLength: 2048,
    run(input, splits) {
      const decoder = new LinkFrameDecoder();
      for (const piece of splitInput(input, splits)) decoder.push(piece);
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'sdp',
    seeds: [fixture('sdp/chromium-h264-opus-offer.sdp'), fixture('rtp/vp8.sdp'), fixture('rtp/opus.sdp')],
    maxLength: 8192,
    run(input) {
      const sections = parseSdp(decodeSdp(input));
      for (const choose of [chooseIngestCodecs, chooseEgressCodecs]) {
        try {
          choose(sections);
        } catch (error) {
          if (!codedOnly(error)) throw error;
        }
      }
    },
    isTypedError: codedOnly,
    allocationLimit: proportional,
  },
  {
    name: 'browser-json',
    seeds: browserSeeds,
    maxLength: 1024,
    run(input) {
      parseBrowserMessage(input.toString('utf8'));
    },
    // ws-session answers a SyntaxError from JSON.parse with 'bad_json'.
    isTypedError: (error) => error instanceof SyntaxError || error instanceof BadMessage || error instanceof JsonAmfError || error instanceof CodedError,
    allocationLimit: proportional,
  },
  {
    name: 'rtmpt-path',
    seeds: ['/open/1', '/send/0123456789abcdef01234567/12', '/idle/0123456789abcdef01234567/4294967295', '/close/x/1'].map((p) => Buffer.from(p)),
    maxLength: 512,
    run(input) {
      parseRtmptPath(input.toString('latin1'));
    },
    isTypedError: () => false,
    allocationLimit: proportional,
  },
];

/** One way of damaging a valid message. */
type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number };

const position = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: position, value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(seed);
  for (const m of mutations) {
    const at = Math.floor(m.at * bytes.length);
    if (m.kind === 'flip' && bytes.length > 0) bytes[at] = bytes[at]! ^ m.mask;
    else if (m.kind === 'set' && bytes.length > 0) bytes[at] = m.value;
    else if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    else if (m.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
    else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
  }
  return bytes;
}

/** Inputs for a target: arbitrary bytes, or one of its seeds damaged a few times. */
export function inputArbitrary(target: FuzzTarget): fc.Arbitrary<{ input: Buffer; splits: number[] }> {
  const arbitrary = fc.uint8Array({ maxLength: target.maxLength }).map((bytes) => Buffer.from(bytes));
  const mutated = fc.tuple(fc.constantFrom(...target.seeds), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([seed, ms]) => mutate(seed, ms));
  return fc.record({ input: fc.oneof({ weight: 1, arbitrary }, { weight: 3, arbitrary: mutated }), splits: fc.array(position, { maxLength: 4 }) });
}

/** Why an input broke the property, or null when it held. */
export function checkInput(target: FuzzTarget, input: Buffer, splits: number[]): string | null {
  const limit = target.allocationLimit(input.length);
  let largest = 0;
  const { allocUnsafe, alloc } = Buffer;
  // Every Buffer.concat and decoder buffer goes through these two.
  Buffer.allocUnsafe = (size) => {
    largest = Math.max(largest, size);
    return allocUnsafe(size);
  };
  Buffer.alloc = ((size: number, fill?: string | Uint8Array | number, encoding?: BufferEncoding) => {
    largest = Math.max(largest, size);
    return alloc(size, fill, encoding);
  }) as typeof Buffer.alloc;
  try {
    target.run(input, splits);
  } catch (error) {
    if (!target.isTypedError(error)) return `untyped ${(error as Error)?.name}: ${(error as Error)?.message ?? String(error)}`;
  } finally {
    Buffer.allocUnsafe = allocUnsafe;
    Buffer.alloc = alloc;
  }
  return largest > limit ? `allocated ${largest} bytes for ${input.length} bytes of input (limit ${limit})` : null;
}

/** The fast-check property of a target. */
export function fuzzProperty(target: FuzzTarget): fc.IProperty<[{ input: Buffer; splits: number[] }]> {
  return fc.property(inputArbitrary(target), ({ input, splits }) => {
    const failure = checkInput(target, input, splits);
    if (failure) throw new Error(`${target.name}: ${failure}`);
  });
}
