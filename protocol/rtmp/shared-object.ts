/**
 * Remote shared object messages: RTMP type 19 (AMF0) and type 16 (the AMF3 variant, which starts
 * with a format byte of 0 like type 17 and carries values that may switch to AMF3 with 0x11).
 * Pure codec: a payload in, a name, version, persistence flag and list of events out, and back.
 *
 * Layout (as Red5's RTMPProtocolEncoder/Decoder and FMS use it):
 *   name (u16 length + UTF-8), version u32, flags u32 (2 = persistent), reserved u32,
 *   then events: type u8, body length u32, body.
 * Bodies: a slot name is a bare u16 string; a value is one AMF value; SendMessage starts with the
 * handler name as a full AMF0 string (marker 0x02) followed by the arguments; Status is the code
 * then the level, both bare strings.
 */
import { Amf0Reader, amfEncodeForPeer } from '../amf/amf0.ts';
import { AmfInput, type AmfDecodeOptions, type AmfValue } from '../amf/types.ts';
import { AmfError, CodedError, ProtocolError } from '../errors.ts';
import { MessageType, type RtmpMessage } from './message.ts';

/** Wire event type ids. */
export const SharedObjectEventType = {
  Use: 1,
  Release: 2,
  RequestChange: 3,
  Change: 4,
  Success: 5,
  SendMessage: 6,
  Status: 7,
  Clear: 8,
  Remove: 9,
  RequestRemove: 10,
  UseSuccess: 11,
} as const;

export type SharedObjectEvent =
  | { kind: 'use' | 'release' | 'clear' | 'useSuccess' }
  /** One slot per event (a client request with several pairs decodes to several events). */
  | { kind: 'requestChange' | 'change'; key: string; value: AmfValue }
  | { kind: 'success' | 'remove' | 'requestRemove'; key: string }
  | { kind: 'send'; handler: string; args: AmfValue[] }
  | { kind: 'status'; code: string; level: string }
  /** A type this codec does not know (kept so the caller can log it; never re-encoded). */
  | { kind: 'unknown'; type: number; body: Buffer };

export interface SharedObjectMessage {
  name: string;
  version: number;
  persistent: boolean;
  events: SharedObjectEvent[];
}

export interface SharedObjectDecodeOptions extends AmfDecodeOptions {
  /** Events one message may carry. Default 65536. */
  maxEvents?: number;
}

/**
 * A shared object message that cannot be decoded. `objectName` is set when the header was
 * readable, so the receiver can answer with a status on that object instead of dropping the peer.
 */
export class SharedObjectError extends ProtocolError {
  readonly objectName: string | null;
  constructor(code: string, message: string, objectName: string | null = null) {
    super(code, message);
    this.objectName = objectName;
  }
}

const PERSISTENT_FLAG = 2;

const KIND_BY_TYPE: Record<number, SharedObjectEvent['kind']> = {
  1: 'use', 2: 'release', 3: 'requestChange', 4: 'change', 5: 'success', 6: 'send',
  7: 'status', 8: 'clear', 9: 'remove', 10: 'requestRemove', 11: 'useSuccess',
};

const TYPE_BY_KIND: Record<Exclude<SharedObjectEvent['kind'], 'unknown'>, number> = {
  use: 1, release: 2, requestChange: 3, change: 4, success: 5, send: 6,
  status: 7, clear: 8, remove: 9, requestRemove: 10, useSuccess: 11,
};

/** True for the AMF3 variant (type 16), which has a leading format byte. */
function isAmf3(type: number): boolean {
  return type === MessageType.SharedObjectAmf3;
}

function bareString(input: AmfInput): string {
  return input.utf8(input.u16());
}

/** Decodes one event body; `room` is how many events it may still yield before the message is over its limit. */
function decodeEvent(type: number, body: Buffer, options: AmfDecodeOptions, room: number): SharedObjectEvent[] {
  const kind = KIND_BY_TYPE[type];
  if (!kind) return [{ kind: 'unknown', type, body: Buffer.from(body) }];
  const input = new AmfInput(body, options);
  switch (kind) {
    case 'use':
    case 'release':
    case 'clear':
    case 'useSuccess':
      return [{ kind }]; // a body, if any, carries nothing anyone defined
    case 'requestChange':
    case 'change': {
      // Red5 reads pairs until the body ends; Flash sends one pair per event.
      const events: SharedObjectEvent[] = [];
      const reader = new Amf0Reader(input);
      // One past `room` is enough for the caller to refuse the message; decoding on would only build garbage.
      do {
        const key = bareString(input);
        events.push({ kind, key, value: input.remaining > 0 ? reader.readValue() : null });
      } while (input.remaining > 0 && events.length <= room);
      return events;
    }
    case 'success':
    case 'remove':
    case 'requestRemove':
      return [{ kind, key: bareString(input) }];
    case 'send': {
      const reader = new Amf0Reader(input);
      const handler = reader.readValue();
      if (typeof handler !== 'string') throw new AmfError('amf.bad_handler', 'send event does not start with a handler name');
      const args: AmfValue[] = [];
      while (input.remaining > 0) args.push(reader.readValue());
      return [{ kind, handler, args }];
    }
    case 'status':
      return [{ kind, code: bareString(input), level: bareString(input) }];
  }
  return [];
}

/** Decodes a type 19 or 16 message. Throws SharedObjectError on anything malformed. */
export function decodeSharedObject(message: RtmpMessage, options: SharedObjectDecodeOptions = {}): SharedObjectMessage {
  const maxEvents = options.maxEvents ?? 65536;
  const input = new AmfInput(message.payload, options);
  let name: string | null = null;
  try {
    if (isAmf3(message.type)) {
      const format = input.u8();
      if (format !== 0) throw new SharedObjectError('so.bad_format', `shared object format byte ${format} (only 0 is defined)`);
    }
    name = bareString(input);
    const version = input.u32();
    const flags = input.u32();
    input.u32(); // reserved
    const events: SharedObjectEvent[] = [];
    while (input.remaining > 0) {
      const type = input.u8();
      const length = input.u32();
      if (length > input.remaining) {
        throw new SharedObjectError('so.truncated', `event type ${type} declares ${length} bytes, ${input.remaining} left`, name);
      }
      const body = input.buf.subarray(input.pos, input.pos + length);
      input.pos += length;
      try {
        // One by one: a body may hold more slots than a spread's argument list takes.
        for (const event of decodeEvent(type, body, options, maxEvents - events.length)) events.push(event);
      } catch (error) {
        if (error instanceof AmfError) throw new SharedObjectError('so.bad_amf', `${error.code}: ${error.message}`, name);
        throw error;
      }
      if (events.length > maxEvents) throw new SharedObjectError('so.too_many_events', `more than ${maxEvents} events in one message`, name);
    }
    return { name, version, persistent: (flags & PERSISTENT_FLAG) !== 0, events };
  } catch (error) {
    if (error instanceof SharedObjectError) throw error;
    // Outside event bodies the only way to fail is running out of bytes.
    if (error instanceof AmfError) throw new SharedObjectError('so.truncated', `${error.code}: ${error.message}`, name);
    throw error;
  }
}

function bareStringBytes(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0xffff) throw new CodedError('so.name_too_long', `shared object string of ${bytes.length} bytes exceeds 65535`);
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function eventBody(event: SharedObjectEvent, amf3: boolean): Buffer {
  switch (event.kind) {
    case 'use':
    case 'release':
    case 'clear':
    case 'useSuccess':
      return Buffer.alloc(0);
    case 'requestChange':
    case 'change':
      return Buffer.concat([bareStringBytes(event.key), amfEncodeForPeer([event.value], amf3)]);
    case 'success':
    case 'remove':
    case 'requestRemove':
      return bareStringBytes(event.key);
    case 'send':
      // The handler name is a full AMF0 string (marker and all), as Red5 writes it.
      return amfEncodeForPeer([event.handler, ...event.args], amf3);
    case 'status':
      return Buffer.concat([bareStringBytes(event.code), bareStringBytes(event.level)]);
    case 'unknown':
      throw new CodedError('so.unknown_event', `cannot encode unknown shared object event type ${event.type}`);
  }
}

/** Encodes the payload of a shared object message (type 16 when `amf3`, else 19). */
export function encodeSharedObject(message: SharedObjectMessage, amf3 = false): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32BE(message.version >>> 0, 0);
  header.writeUInt32BE(message.persistent ? PERSISTENT_FLAG : 0, 4);
  const parts: Buffer[] = amf3 ? [Buffer.of(0)] : [];
  parts.push(bareStringBytes(message.name), header);
  for (const event of message.events) {
    const body = eventBody(event, amf3);
    const head = Buffer.allocUnsafe(5);
    head[0] = TYPE_BY_KIND[event.kind as keyof typeof TYPE_BY_KIND];
    head.writeUInt32BE(body.length, 1);
    parts.push(head, body);
  }
  return Buffer.concat(parts);
}

/** The whole RTMP message, on NetConnection stream 0. */
export function sharedObjectMessage(message: SharedObjectMessage, amf3 = false, timestamp = 0): RtmpMessage {
  return {
    type: amf3 ? MessageType.SharedObjectAmf3 : MessageType.SharedObjectAmf0,
    streamId: 0,
    timestamp,
    payload: encodeSharedObject(message, amf3),
  };
}
