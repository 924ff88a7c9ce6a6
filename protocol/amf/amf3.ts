/**
 * AMF3 codec (Adobe AMF 3 specification, January 2013): used for RTMP messages of
 * objectEncoding 3 clients, on its own (types 15/16/17 payloads after their leading byte)
 * and after the AMF0 AVM+ marker 0x11. Pure: bytes in, values out, and back.
 */

import { AmfError } from '../errors.ts';
import {
  AmfDictionary,
  AmfEcmaArray,
  AmfInput,
  AmfOutput,
  AmfTypedObject,
  AmfVector,
  AmfXml,
  describe,
  isPlainObject,
  setMember,
  type AmfDecodeOptions,
  type AmfObject,
  type AmfValue,
  type AmfVectorKind,
} from './types.ts';

const M = {
  Undefined: 0x00,
  Null: 0x01,
  False: 0x02,
  True: 0x03,
  Integer: 0x04,
  Double: 0x05,
  String: 0x06,
  XmlDocument: 0x07,
  Date: 0x08,
  Array: 0x09,
  Object: 0x0a,
  Xml: 0x0b,
  ByteArray: 0x0c,
  VectorInt: 0x0d,
  VectorUint: 0x0e,
  VectorDouble: 0x0f,
  VectorObject: 0x10,
  Dictionary: 0x11,
} as const;

const VECTOR_KINDS: Record<number, AmfVectorKind> = {
  [M.VectorInt]: 'int',
  [M.VectorUint]: 'uint',
  [M.VectorDouble]: 'double',
  [M.VectorObject]: 'object',
};
const VECTOR_MARKERS: Record<AmfVectorKind, number> = { int: M.VectorInt, uint: M.VectorUint, double: M.VectorDouble, object: M.VectorObject };

/** Range of the AMF3 integer type (29-bit two's complement); other numbers go as doubles. */
export const AMF3_INT_MIN = -(2 ** 28);
export const AMF3_INT_MAX = 2 ** 28 - 1;
const U29_MAX = 2 ** 29 - 1;

interface Traits {
  className: string;
  sealed: string[];
  dynamic: boolean;
}

/**
 * Reads AMF3 values one at a time. The string, object and traits reference tables live as
 * long as the reader, which is what lets consecutive values of one message refer to each other.
 */
export class Amf3Reader {
  private readonly input: AmfInput;
  private readonly strings: string[] = [];
  private readonly objects: AmfValue[] = [];
  private readonly traits: Traits[] = [];

  constructor(source: Uint8Array | AmfInput, options?: AmfDecodeOptions) {
    this.input = source instanceof AmfInput ? source : new AmfInput(source, options);
  }

  get remaining(): number {
    return this.input.remaining;
  }

  readValue(): AmfValue {
    const input = this.input;
    input.count(1);
    const marker = input.u8();
    switch (marker) {
      case M.Undefined:
        return undefined;
      case M.Null:
        return null;
      case M.False:
        return false;
      case M.True:
        return true;
      case M.Integer:
        return (this.u29() << 3) >> 3; // sign-extend the 29-bit value
      case M.Double:
        return input.f64();
      case M.String:
        return this.readString();
      case M.XmlDocument:
      case M.Xml:
        return this.inline((n) => this.keep(new AmfXml(input.utf8(n), marker === M.XmlDocument)));
      case M.Date:
        return this.inline(() => this.keep(new Date(input.f64())));
      case M.Array:
        return this.inline((n) => this.readArray(n));
      case M.Object:
        return this.inline((n) => this.readObject(n));
      case M.ByteArray:
        return this.inline((n) => this.keep(input.bytes(n)));
      case M.VectorInt:
      case M.VectorUint:
      case M.VectorDouble:
      case M.VectorObject:
        return this.inline((n) => this.readVector(VECTOR_KINDS[marker]!, n));
      case M.Dictionary:
        return this.inline((n) => this.readDictionary(n));
      default:
        throw new AmfError('amf.unknown_marker', `unknown AMF3 marker 0x${marker.toString(16)} at offset ${input.pos - 1}`);
    }
  }

  /** Variable-length unsigned 29-bit integer (spec 1.3.1): 7 bits in each of 3 bytes, then 8. */
  private u29(): number {
    let v = 0;
    for (let i = 0; i < 3; i++) {
      const b = this.input.u8();
      if (b < 0x80) return (v << 7) | b;
      v = (v << 7) | (b & 0x7f);
    }
    return (v << 8) | this.input.u8();
  }

  private readString(): string {
    const h = this.u29();
    if ((h & 1) === 0) return this.lookup(this.strings, h >>> 1, 'string');
    const s = this.input.utf8(h >>> 1);
    if (s !== '') this.strings.push(s); // the empty string is never a reference
    return s;
  }

  /** Complex values start with a U29 whose low bit tells a reference (0) from an inline value (1). */
  private inline(read: (n: number) => AmfValue): AmfValue {
    const h = this.u29();
    return (h & 1) === 0 ? this.lookup(this.objects, h >>> 1, 'object') : read(h >>> 1);
  }

  private lookup<T>(table: T[], index: number, what: string): T {
    if (index >= table.length) {
      throw new AmfError('amf.bad_reference', `${what} reference ${index} but only ${table.length} known`);
    }
    return table[index]!;
  }

  /** Registers a complex value in the object table; done before its children so cycles resolve. */
  private keep<T extends AmfValue>(value: T): T {
    this.objects.push(value);
    return value;
  }

  private readArray(denseCount: number): AmfValue {
    const input = this.input;
    input.need(denseCount, 'array'); // every element takes at least one byte
    input.enter();
    // The first associative key decides the shape; it is read before any child value,
    // so the array still takes its object-table slot ahead of its children.
    let key = this.readString();
    let result: AmfValue;
    if (key === '') {
      const dense: AmfValue[] = this.keep([]);
      for (let i = 0; i < denseCount; i++) dense.push(this.readValue());
      result = dense;
    } else {
      const mixed = this.keep(new AmfEcmaArray());
      for (; key !== ''; key = this.readString()) setMember(mixed, key, this.readValue());
      for (let i = 0; i < denseCount; i++) mixed[i] = this.readValue();
      result = mixed;
    }
    input.leave();
    return result;
  }

  private readObject(flags: number): AmfValue {
    let traits: Traits;
    if ((flags & 1) === 0) {
      traits = this.lookup(this.traits, flags >>> 1, 'traits');
    } else if (flags & 2) {
      const className = this.readString();
      throw new AmfError('amf.externalizable', `externalizable class '${className}' has a private encoding and cannot be decoded`);
    } else {
      const sealedCount = flags >>> 3;
      const className = this.readString();
      this.input.need(sealedCount, 'sealed member names');
      const sealed: string[] = [];
      for (let i = 0; i < sealedCount; i++) sealed.push(this.readString());
      traits = { className, sealed, dynamic: (flags & 4) !== 0 };
      this.traits.push(traits);
    }
    const typed = traits.className === '' ? undefined : new AmfTypedObject(traits.className, {});
    const members: AmfObject = typed ? typed.members : {};
    this.keep(typed ?? members);
    this.input.enter();
    for (const name of traits.sealed) setMember(members, name, this.readValue());
    if (traits.dynamic) {
      for (let key = this.readString(); key !== ''; key = this.readString()) setMember(members, key, this.readValue());
    }
    this.input.leave();
    return typed ?? members;
  }

  private readVector(kind: AmfVectorKind, count: number): AmfVector {
    const input = this.input;
    input.need(1 + count * (kind === 'double' ? 8 : kind === 'object' ? 1 : 4), `vector of ${count}`);
    const fixed = input.u8() !== 0;
    const vector = this.keep(new AmfVector(kind, [], fixed));
    const items = vector.items;
    if (kind === 'object') {
      vector.objectTypeName = this.readString();
      input.enter();
      for (let i = 0; i < count; i++) items.push(this.readValue());
      input.leave();
    } else {
      input.count(count);
      const read = kind === 'int' ? () => input.i32() : kind === 'uint' ? () => input.u32() : () => input.f64();
      for (let i = 0; i < count; i++) items.push(read());
    }
    return vector;
  }

  private readDictionary(count: number): AmfDictionary {
    const input = this.input;
    input.need(1 + 2 * count, `dictionary of ${count}`);
    const dict = this.keep(new AmfDictionary([], input.u8() !== 0));
    input.enter();
    for (let i = 0; i < count; i++) dict.entries.push([this.readValue(), this.readValue()]);
    input.leave();
    return dict;
  }
}

/**
 * Writes AMF3 values, using string, object and traits references like Flash Player does,
 * so repeated strings and same-shaped objects stay compact and shared objects stay shared.
 */
export class Amf3Writer {
  readonly out: AmfOutput;
  private readonly strings = new Map<string, number>();
  private readonly objects = new Map<object, number>();
  private readonly traits = new Map<string, number>();

  constructor(out: AmfOutput = new AmfOutput()) {
    this.out = out;
  }

  finish(): Buffer {
    return this.out.finish();
  }

  writeValue(value: AmfValue): void {
    const out = this.out;
    switch (typeof value) {
      case 'undefined':
        return out.u8(M.Undefined);
      case 'boolean':
        return out.u8(value ? M.True : M.False);
      case 'number':
        if (Number.isInteger(value) && value >= AMF3_INT_MIN && value <= AMF3_INT_MAX && !Object.is(value, -0)) {
          out.u8(M.Integer);
          return this.u29(value & U29_MAX);
        }
        out.u8(M.Double);
        return out.f64(value);
      case 'string':
        out.u8(M.String);
        return this.writeString(value);
      case 'object':
        if (value === null) return out.u8(M.Null);
        return this.writeComplex(value);
      default:
        throw new AmfError('amf.unsupported_type', `cannot encode a ${typeof value} in AMF3`);
    }
  }

  private u29(v: number): void {
    const out = this.out;
    if (v > U29_MAX) throw new AmfError('amf.too_large', `${v} does not fit AMF3's 29-bit length/count field`);
    if (v < 0x80) {
      out.u8(v);
    } else if (v < 0x4000) {
      out.u8((v >>> 7) | 0x80);
      out.u8(v & 0x7f);
    } else if (v < 0x200000) {
      out.u8((v >>> 14) | 0x80);
      out.u8(((v >>> 7) & 0x7f) | 0x80);
      out.u8(v & 0x7f);
    } else {
      out.u8((v >>> 22) | 0x80);
      out.u8(((v >>> 15) & 0x7f) | 0x80);
      out.u8(((v >>> 8) & 0x7f) | 0x80);
      out.u8(v & 0xff);
    }
  }

  /** Inline header: a length or count with the low "inline" bit set. */
  private inline(n: number): void {
    if (n > U29_MAX >>> 1) throw new AmfError('amf.too_large', `length ${n} exceeds AMF3's 28-bit limit`);
    this.u29((n << 1) | 1);
  }

  private writeString(s: string): void {
    if (s === '') return this.u29(1);
    const ref = this.strings.get(s);
    if (ref !== undefined) return this.u29(ref << 1);
    this.strings.set(s, this.strings.size);
    const length = Buffer.byteLength(s, 'utf8');
    this.inline(length);
    this.out.utf8(s, length);
  }

  /** A member name in a dynamic section; the empty name would end the section, so it cannot be sent. */
  private writeKey(key: string): void {
    if (key === '') throw new AmfError('amf.unsupported_type', 'AMF3 cannot encode an empty dynamic property name');
    this.writeString(key);
  }

  private writeComplex(value: object): void {
    const out = this.out;
    out.u8(markerOf(value));
    const ref = this.objects.get(value);
    if (ref !== undefined) return this.u29(ref << 1);
    this.objects.set(value, this.objects.size); // before the children, as the reader expects
    out.enter();
    if (value instanceof Date) {
      this.inline(0);
      out.f64(value.getTime());
    } else if (Array.isArray(value)) {
      this.inline(value.length);
      this.u29(1); // no associative part
      for (let i = 0; i < value.length; i++) this.writeValue(value[i]);
    } else if (value instanceof AmfEcmaArray) {
      this.writeMixedArray(value);
    } else if (value instanceof AmfTypedObject) {
      const names = Object.keys(value.members);
      this.writeTraits(value.className, names, false);
      for (const name of names) this.writeValue(value.members[name]);
    } else if (value instanceof AmfXml) {
      const length = Buffer.byteLength(value.content, 'utf8');
      this.inline(length);
      out.utf8(value.content, length);
    } else if (value instanceof Uint8Array) {
      this.inline(value.length);
      out.bytes(value);
    } else if (value instanceof AmfVector) {
      this.writeVector(value);
    } else if (value instanceof AmfDictionary) {
      this.inline(value.entries.length);
      out.u8(value.weakKeys ? 1 : 0);
      for (const [k, v] of value.entries) {
        this.writeValue(k);
        this.writeValue(v);
      }
    } else {
      const object = value as AmfObject; // markerOf admitted only plain objects here
      this.writeTraits('', [], true);
      for (const key of Object.keys(object)) {
        this.writeKey(key);
        this.writeValue(object[key]);
      }
      this.u29(1);
    }
    out.leave();
  }

  /** Keys '0'..'n-1' form the dense part; every other key goes to the associative part. */
  private writeMixedArray(value: AmfEcmaArray): void {
    let dense = 0;
    while (Object.hasOwn(value, dense)) dense++;
    this.inline(dense);
    for (const key of Object.keys(value)) {
      if (isDenseIndex(key, dense)) continue;
      this.writeKey(key);
      this.writeValue(value[key]);
    }
    this.u29(1);
    for (let i = 0; i < dense; i++) this.writeValue(value[i]);
  }

  private writeTraits(className: string, sealed: string[], dynamic: boolean): void {
    const key = `${dynamic ? 'd' : 's'}${className}\u0000${sealed.join('\u0000')}`;
    const ref = this.traits.get(key);
    if (ref !== undefined) return this.u29((ref << 2) | 1);
    this.traits.set(key, this.traits.size);
    if (sealed.length > U29_MAX >>> 4) throw new AmfError('amf.too_large', `${sealed.length} sealed members`);
    this.u29((sealed.length << 4) | (dynamic ? 0b1000 : 0) | 0b0011);
    this.writeString(className);
    for (const name of sealed) this.writeString(name);
  }

  private writeVector(vector: AmfVector): void {
    const out = this.out;
    const { kind, items } = vector;
    this.inline(items.length);
    out.u8(vector.fixed ? 1 : 0);
    if (kind === 'object') {
      this.writeString(vector.objectTypeName);
      for (const item of items) this.writeValue(item);
      return;
    }
    for (const item of items) {
      if (typeof item !== 'number' || (kind !== 'double' && !fitsVector(kind, item))) {
        throw new AmfError('amf.unsupported_type', `Vector.<${kind}> cannot hold ${String(item)}`);
      }
      if (kind === 'int') out.i32(item);
      else if (kind === 'uint') out.u32(item);
      else out.f64(item);
    }
  }
}

function markerOf(value: object): number {
  if (value instanceof Date) return M.Date;
  if (Array.isArray(value) || value instanceof AmfEcmaArray) return M.Array;
  if (value instanceof AmfXml) return value.document ? M.XmlDocument : M.Xml;
  if (value instanceof Uint8Array) return M.ByteArray;
  if (value instanceof AmfVector) return VECTOR_MARKERS[value.kind];
  if (value instanceof AmfDictionary) return M.Dictionary;
  if (value instanceof AmfTypedObject || isPlainObject(value)) return M.Object;
  throw new AmfError('amf.unsupported_type', `cannot encode a ${describe(value)} in AMF3`);
}

function isDenseIndex(key: string, dense: number): boolean {
  const i = Number(key);
  return Number.isInteger(i) && i >= 0 && i < dense && String(i) === key;
}

function fitsVector(kind: 'int' | 'uint', n: number): boolean {
  return Number.isInteger(n) && (kind === 'int' ? n >= -(2 ** 31) && n < 2 ** 31 : n >= 0 && n < 2 ** 32);
}

/** Encodes values one after another with one set of reference tables. */
export function amf3Encode(values: readonly AmfValue[]): Buffer {
  const writer = new Amf3Writer();
  for (const value of values) writer.writeValue(value);
  return writer.finish();
}

/** Decodes every value up to the end of `data`, sharing reference tables between them. */
export function amf3Decode(data: Uint8Array, options?: AmfDecodeOptions): AmfValue[] {
  const reader = new Amf3Reader(data, options);
  const values: AmfValue[] = [];
  while (reader.remaining > 0) values.push(reader.readValue());
  return values;
}
