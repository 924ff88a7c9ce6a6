/**
 * AMF value model shared by the AMF0 and AMF3 codecs, plus the bounds-checked byte
 * input/output both codecs use, so that every read is checked in exactly one place.
 */

import { AmfError } from '../errors.ts';

/** Every value the codecs decode or accept for encoding. */
export type AmfValue =
  | number
  | boolean
  | string
  | null
  | undefined
  | Date
  | AmfValue[]
  | AmfObject
  | AmfEcmaArray
  | AmfTypedObject
  | AmfXml
  | AmfByteArray
  | AmfVector
  | AmfDictionary;

/** Anonymous object: a plain JS object (prototype Object.prototype or null). */
export interface AmfObject {
  [key: string]: AmfValue;
}

/**
 * AMF0 ECMA array, or an AMF3 array with an associative part. Entries are own enumerable
 * properties so `meta.width` reads like on a plain object; the class only marks the kind,
 * which is what lets a decoded ECMA array re-encode to the same bytes.
 * AMF3 dense entries appear as the keys '0'..'n-1'.
 */
export class AmfEcmaArray {
  [key: string]: AmfValue;

  static from(entries: Readonly<Record<string, AmfValue>>): AmfEcmaArray {
    const out = new AmfEcmaArray();
    for (const key of Object.keys(entries)) setMember(out, key, entries[key]);
    return out;
  }
}

/** Instance of a named (registered) ActionScript class. AMF3 encodes `members` as sealed traits. */
export class AmfTypedObject {
  className: string;
  members: Record<string, AmfValue>;
  constructor(className: string, members: Record<string, AmfValue> = {}) {
    this.className = className;
    this.members = members;
  }
}

/**
 * XML text. `document: true` is the legacy XMLDocument (AMF0 0x0F, AMF3 0x07); false is the
 * E4X XML type (AMF3 0x0B; AMF0 has no such marker, so the AMF0 encoder switches to AMF3 for it).
 */
export class AmfXml {
  content: string;
  document: boolean;
  constructor(content: string, document = true) {
    this.content = content;
    this.document = document;
  }
}

/** AMF3 ByteArray. Decoders return a Buffer holding a copy of the bytes. */
export type AmfByteArray = Uint8Array;

export type AmfVectorKind = 'int' | 'uint' | 'double' | 'object';

/** AMF3 Vector.<int|uint|Number|Object>. Numeric vectors hold numbers in int32 / uint32 / double range. */
export class AmfVector {
  kind: AmfVectorKind;
  items: AmfValue[];
  fixed: boolean;
  /** Element class name of an object vector ('' for Vector.<Object> / `*`). */
  objectTypeName: string;
  constructor(kind: AmfVectorKind, items: AmfValue[], fixed = false, objectTypeName = '') {
    this.kind = kind;
    this.items = items;
    this.fixed = fixed;
    this.objectTypeName = objectTypeName;
  }
}

/** AMF3 flash.utils.Dictionary; keys may be any value, so entries are kept as pairs. */
export class AmfDictionary {
  weakKeys: boolean;
  entries: Array<[AmfValue, AmfValue]>;
  constructor(entries: Array<[AmfValue, AmfValue]> = [], weakKeys = false) {
    this.entries = entries;
    this.weakKeys = weakKeys;
  }
}

export interface AmfDecodeOptions {
  /** Deepest nesting of containers (objects, arrays, vectors, dictionaries). Default 64. */
  maxDepth?: number;
  /** Total values (members and elements included) one decode call may produce. Default 1_000_000. */
  maxItems?: number;
}

/**
 * Sets a decoded member. A key such as '__proto__' arrives from the peer; assigning it
 * would swap the prototype instead of adding a property, so it is defined instead.
 */
export function setMember(target: Record<string, AmfValue>, key: string, value: AmfValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** True for values encoded as anonymous objects: plain objects only, never class instances. */
export function isPlainObject(value: object): value is AmfObject {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Name of a value's kind for error messages. */
export function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

/**
 * Bounds-checked cursor over the bytes being decoded, plus the depth and item budget.
 * One instance is shared by the AMF0 reader and the AMF3 reader it switches to,
 * so the limits hold across the switch.
 */
export class AmfInput {
  readonly buf: Buffer;
  pos = 0;
  depth = 0;
  items = 0;
  readonly maxDepth: number;
  readonly maxItems: number;

  constructor(data: Uint8Array, options: AmfDecodeOptions = {}) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.maxDepth = options.maxDepth ?? 64;
    this.maxItems = options.maxItems ?? 1_000_000;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** Fails unless `n` more bytes exist; also used on declared counts before allocating for them. */
  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw new AmfError('amf.truncated', `${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
    }
  }

  u8(): number {
    this.need(1, 'byte');
    return this.buf[this.pos++]!;
  }

  peek(): number | undefined {
    return this.buf[this.pos];
  }

  u16(): number {
    this.need(2, 'u16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'u32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4, 'i32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  utf8(n: number): string {
    this.need(n, 'string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Copy, so a decoded ByteArray neither aliases nor retains the whole message. */
  bytes(n: number): Buffer {
    this.need(n, 'byte array');
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  /** Counts decoded values against maxItems. */
  count(n: number): void {
    this.items += n;
    if (this.items > this.maxItems) {
      throw new AmfError('amf.too_large', `more than ${this.maxItems} values in one message`);
    }
  }

  /** Enters a container; the limit keeps recursion shallow, whatever the input nests. */
  enter(): void {
    if (++this.depth > this.maxDepth) {
      throw new AmfError('amf.too_deep', `nesting deeper than ${this.maxDepth} at offset ${this.pos}`);
    }
  }

  leave(): void {
    this.depth--;
  }
}

/** Nesting limit when encoding: a deep acyclic value must fail cleanly, not overflow the stack. */
const MAX_ENCODE_DEPTH = 1000;

/**
 * Largest encoding: an AMF payload travels in one RTMP message or FLV tag, both with a 24-bit size.
 * The bound matters for relayed values: AMF0 has no references a writer may rely on, so a decoded
 * value that shares one object or string many times is written out in full each time it appears,
 * and a few hundred bytes in could otherwise make gigabytes out.
 */
export const MAX_AMF_ENCODED_BYTES = 0xffffff;

/** Growable output buffer shared by the AMF0 writer and the AMF3 writer it switches to. */
export class AmfOutput {
  private buf = Buffer.allocUnsafe(256);
  length = 0;
  private depth = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    if (this.length + n > MAX_AMF_ENCODED_BYTES) {
      throw new AmfError('amf.too_large', `encoding exceeds ${MAX_AMF_ENCODED_BYTES} bytes, the most one RTMP message or FLV tag holds`);
    }
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    this.length = this.buf.writeUInt16BE(v, this.length);
  }

  u32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeUInt32BE(v, this.length);
  }

  i32(v: number): void {
    this.reserve(4);
    this.length = this.buf.writeInt32BE(v, this.length);
  }

  f64(v: number): void {
    this.reserve(8);
    this.length = this.buf.writeDoubleBE(v, this.length);
  }

  /** Writes a string's UTF-8 bytes; `byteLength` must be Buffer.byteLength(s). */
  utf8(s: string, byteLength: number): void {
    this.reserve(byteLength);
    this.length += this.buf.write(s, this.length, byteLength, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  enter(): void {
    if (++this.depth > MAX_ENCODE_DEPTH) {
      throw new AmfError('amf.too_deep', `value nests deeper than ${MAX_ENCODE_DEPTH} levels`);
    }
  }

  leave(): void {
    this.depth--;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
