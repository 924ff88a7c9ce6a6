/**
 * AMF0 codec (Adobe AMF 0 specification, December 2007): the encoding of RTMP command and
 * data messages (types 18/19/20), including the 0x11 switch to AMF3 that objectEncoding 3
 * clients use. Pure: bytes in, values out, and back.
 */

import { AmfError } from '../errors.ts';
import { Amf3Reader, Amf3Writer } from './amf3.ts';
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
} from './types.ts';

const M = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  MovieClip: 0x04,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  RecordSet: 0x0e,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  AvmPlus: 0x11,
} as const;

/**
 * Reads AMF0 values one at a time. The reference table (0x07) and, after a 0x11 switch,
 * the AMF3 reference tables live as long as the reader: one reader per message.
 */
export class Amf0Reader {
  private readonly input: AmfInput;
  private readonly refs: AmfValue[] = [];
  private amf3: Amf3Reader | undefined;

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
      case M.Number:
        return input.f64();
      case M.Boolean:
        return input.u8() !== 0;
      case M.String:
        return input.utf8(input.u16());
      case M.LongString:
        return input.utf8(input.u32());
      case M.Object: {
        const object: AmfObject = {};
        return this.readMembers(object, object);
      }
      case M.EcmaArray: {
        input.u32(); // entry count: only a hint, the object-end marker is what ends the array
        const array = new AmfEcmaArray();
        return this.readMembers(array, array);
      }
      case M.TypedObject: {
        const typed = new AmfTypedObject(input.utf8(input.u16()), {});
        return this.readMembers(typed, typed.members);
      }
      case M.StrictArray:
        return this.readStrictArray(input.u32());
      case M.Null:
        return null;
      case M.Undefined:
      case M.Unsupported: // "unsupported" stands for a value the sender could not serialize
        return undefined;
      case M.Reference: {
        const index = input.u16();
        if (index >= this.refs.length) {
          throw new AmfError('amf.bad_reference', `reference ${index} but only ${this.refs.length} objects known`);
        }
        return this.refs[index];
      }
      case M.Date: {
        const date = new Date(input.f64());
        input.u16(); // time zone: reserved, always 0 in practice
        return date;
      }
      case M.XmlDocument:
        return new AmfXml(input.utf8(input.u32()), true);
      case M.AvmPlus:
        this.amf3 ??= new Amf3Reader(input);
        return this.amf3.readValue();
      case M.MovieClip:
      case M.RecordSet:
        throw new AmfError('amf.reserved_marker', `reserved AMF0 marker 0x${marker.toString(16)} at offset ${input.pos - 1}`);
      case M.ObjectEnd:
        throw new AmfError('amf.unexpected_marker', `object-end marker outside an object at offset ${input.pos - 1}`);
      default:
        throw new AmfError('amf.unknown_marker', `unknown AMF0 marker 0x${marker.toString(16)} at offset ${input.pos - 1}`);
    }
  }

  /** Name/value pairs up to the empty name followed by the object-end marker. */
  private readMembers<T extends AmfValue>(result: T, members: Record<string, AmfValue>): T {
    const input = this.input;
    this.refs.push(result); // before the members, so a member may refer back to it
    input.enter();
    for (;;) {
      const key = input.utf8(input.u16());
      if (key === '' && input.peek() === M.ObjectEnd) break;
      setMember(members, key, this.readValue());
    }
    input.pos++;
    input.leave();
    return result;
  }

  private readStrictArray(count: number): AmfValue[] {
    const input = this.input;
    input.need(count, 'strict array'); // every element takes at least one byte
    const array: AmfValue[] = [];
    this.refs.push(array);
    input.enter();
    for (let i = 0; i < count; i++) array.push(this.readValue());
    input.leave();
    return array;
  }
}

export interface Amf0EncodeOptions {
  /** Write every value as 0x11 followed by its AMF3 encoding (clients with objectEncoding 3). */
  avmPlus?: boolean;
}

/**
 * Writes AMF0 values. Objects seen twice are written in full each time (many RTMP peers do not
 * resolve 0x07), so a cycle has no AMF0 encoding and is rejected. Values AMF0 has no marker for
 * (ByteArray, Vector, Dictionary, E4X XML) are written through the 0x11 switch to AMF3.
 */
export class Amf0Writer {
  readonly out = new AmfOutput();
  private readonly avmPlus: boolean;
  private readonly path = new Set<object>();
  private amf3: Amf3Writer | undefined;

  constructor(options: Amf0EncodeOptions = {}) {
    this.avmPlus = options.avmPlus ?? false;
  }

  finish(): Buffer {
    return this.out.finish();
  }

  writeValue(value: AmfValue): void {
    if (this.avmPlus) this.writeAmf3(value);
    else this.write(value);
  }

  /**
   * Writes one value as 0x11 + AMF3 whatever the options. One AMF3 writer per message, mirroring
   * the reader's reference tables that span the message.
   */
  writeAmf3(value: AmfValue): void {
    this.out.u8(M.AvmPlus);
    this.amf3 ??= new Amf3Writer(this.out);
    this.amf3.writeValue(value);
  }

  private write(value: AmfValue): void {
    const out = this.out;
    switch (typeof value) {
      case 'number':
        out.u8(M.Number);
        return out.f64(value);
      case 'boolean':
        out.u8(M.Boolean);
        return out.u8(value ? 1 : 0);
      case 'string': {
        const length = Buffer.byteLength(value, 'utf8');
        if (length > 0xffff) {
          out.u8(M.LongString);
          out.u32(length);
        } else {
          out.u8(M.String);
          out.u16(length);
        }
        return out.utf8(value, length);
      }
      case 'undefined':
        return out.u8(M.Undefined);
      case 'object':
        if (value === null) return out.u8(M.Null);
        if (value instanceof Date) {
          out.u8(M.Date);
          out.f64(value.getTime());
          return out.u16(0);
        }
        if (value instanceof AmfXml && value.document) {
          const length = Buffer.byteLength(value.content, 'utf8');
          out.u8(M.XmlDocument);
          out.u32(length);
          return out.utf8(value.content, length);
        }
        if (value instanceof Uint8Array || value instanceof AmfVector || value instanceof AmfDictionary || value instanceof AmfXml) {
          return this.writeAmf3(value);
        }
        return this.writeContainer(value);
      default:
        throw new AmfError('amf.unsupported_type', `cannot encode a ${typeof value} in AMF0`);
    }
  }

  private writeContainer(value: object): void {
    const out = this.out;
    if (this.path.has(value)) throw new AmfError('amf.cyclic', `cyclic ${describe(value)} cannot be encoded in AMF0`);
    this.path.add(value);
    out.enter();
    if (Array.isArray(value)) {
      out.u8(M.StrictArray);
      out.u32(value.length);
      for (let i = 0; i < value.length; i++) this.write(value[i]);
    } else if (value instanceof AmfEcmaArray) {
      out.u8(M.EcmaArray);
      out.u32(Object.keys(value).length);
      this.writeMembers(value);
    } else if (value instanceof AmfTypedObject) {
      out.u8(M.TypedObject);
      this.writeName(value.className);
      this.writeMembers(value.members);
    } else if (isPlainObject(value)) {
      out.u8(M.Object);
      this.writeMembers(value);
    } else {
      throw new AmfError('amf.unsupported_type', `cannot encode a ${describe(value)} in AMF0`);
    }
    out.leave();
    this.path.delete(value);
  }

  private writeMembers(members: Readonly<Record<string, AmfValue>>): void {
    for (const key of Object.keys(members)) {
      this.writeName(key);
      this.write(members[key]);
    }
    this.out.u16(0);
    this.out.u8(M.ObjectEnd);
  }

  /** Member and class names carry a 16-bit length; there is no long form for them. */
  private writeName(name: string): void {
    const length = Buffer.byteLength(name, 'utf8');
    if (length > 0xffff) throw new AmfError('amf.too_large', `AMF0 name of ${length} bytes exceeds 65535`);
    this.out.u16(length);
    this.out.utf8(name, length);
  }
}

/** Encodes values one after another (an RTMP command: name, transaction id, arguments...). */
export function amf0Encode(values: readonly AmfValue[], options?: Amf0EncodeOptions): Buffer {
  const writer = new Amf0Writer(options);
  for (const value of values) writer.writeValue(value);
  return writer.finish();
}

/**
 * Encodes values the way a peer with this objectEncoding reads them best: for AMF3 peers, objects
 * and arrays go through the 0x11 switch (so ActionScript 3 gets AS3 values: typed objects,
 * ByteArray, Vector) while names and numbers stay AMF0, as FMS writes them; AMF0 peers get AMF0.
 */
export function amfEncodeForPeer(values: readonly AmfValue[], amf3: boolean): Buffer {
  const writer = new Amf0Writer();
  for (const value of values) {
    if (amf3 && typeof value === 'object' && value !== null) writer.writeAmf3(value);
    else writer.writeValue(value);
  }
  return writer.finish();
}

/** Decodes every value up to the end of `data`. */
export function amf0Decode(data: Uint8Array, options?: AmfDecodeOptions): AmfValue[] {
  const reader = new Amf0Reader(data, options);
  const values: AmfValue[] = [];
  while (reader.remaining > 0) values.push(reader.readValue());
  return values;
}
