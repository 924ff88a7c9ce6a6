/**
 * AMF values <-> JSON for the browser protocol (README "Browser protocol"). Plain JSON values map
 * to themselves; the rest use tagged objects: Date {"$date": ISO}, typed object {"$class": name,
 * ...members}, ByteArray {"$bytes": base64}, ECMA array {"$ecma": {...}}, XML {"$xml": text},
 * vector {"$vector": kind, "items": [...]}, dictionary {"$dict": [[k, v], ...]}. undefined becomes
 * null; non-finite numbers become null (JSON has none). Keys starting with '$' in plain objects are
 * escaped as '$$...' so any AMF object round-trips. `jsonToAmf` validates and throws JsonAmfError.
 */
import { AmfDictionary, AmfEcmaArray, AmfTypedObject, AmfVector, AmfXml, setMember, type AmfObject, type AmfValue, type AmfVectorKind } from '#protocol/amf/types.ts';
import type { JsonValue } from '#protocol/browser/browser-protocol.ts';

export type { JsonValue };

export class JsonAmfError extends Error {}

const MAX_DEPTH = 32;
const VECTOR_KINDS = new Set<string>(['int', 'uint', 'double', 'object']);

function escapeKey(key: string): string { return key.startsWith('$') ? `$${key}` : key; }
function unescapeKey(key: string): string { return key.startsWith('$$') ? key.slice(1) : key; }

/**
 * Bytes and values one amfToJson call may write. A decoded AMF value may share an object (or, in
 * AMF3, a long string) many times over by reference, and JSON writes each share in full: without
 * a budget 16 bytes of AMF0 expand to 2^32 JSON objects. 16 MiB is more than any RTMP message holds.
 */
const MAX_JSON_EXPANSION = 16 * 1024 * 1024;

/** What one conversion has spent, and the containers it is inside (a value that contains itself has no JSON form). */
interface Conversion {
  spent: number;
  readonly path: Set<object>;
}

/** What each value costs besides its text: a JSON value with its separator and quotes is rarely shorter. */
const VALUE_COST = 8;

function spend(conversion: Conversion, amount: number): void {
  conversion.spent += amount;
  if (conversion.spent > MAX_JSON_EXPANSION) throw new JsonAmfError(`value expands to more than ${MAX_JSON_EXPANSION} bytes of JSON`);
}

function membersToJson(members: Record<string, AmfValue>, depth: number, conversion: Conversion): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(members)) {
    spend(conversion, key.length);
    setMember(out as AmfObject, escapeKey(key), toJson(members[key], depth + 1, conversion) as AmfValue);
  }
  return out;
}

/** An AMF value (decoded from a command or shared object) as JSON; throws JsonAmfError when it has none within the limits. */
export function amfToJson(value: AmfValue): JsonValue {
  return toJson(value, 0, { spent: 0, path: new Set() });
}

function toJson(value: AmfValue, depth: number, conversion: Conversion): JsonValue {
  if (depth > MAX_DEPTH) throw new JsonAmfError(`value nested deeper than ${MAX_DEPTH}`);
  spend(conversion, VALUE_COST);
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    spend(conversion, value.length);
    return value;
  }
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Uint8Array) {
    spend(conversion, value.byteLength * 2);
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (value instanceof AmfXml) {
    spend(conversion, value.content.length);
    return { $xml: value.content, document: value.document };
  }
  if (conversion.path.has(value)) throw new JsonAmfError('value contains itself, which JSON cannot express');
  conversion.path.add(value);
  const json = containerToJson(value, depth, conversion);
  conversion.path.delete(value);
  return json;
}

function containerToJson(value: object, depth: number, conversion: Conversion): JsonValue {
  const child = (v: AmfValue) => toJson(v, depth + 1, conversion);
  if (Array.isArray(value)) return value.map(child);
  if (value instanceof AmfTypedObject) return { $class: value.className, ...membersToJson(value.members, depth, conversion) };
  if (value instanceof AmfEcmaArray) return { $ecma: membersToJson({ ...value }, depth, conversion) };
  if (value instanceof AmfVector) return { $vector: value.kind, items: value.items.map(child), fixed: value.fixed, type: value.objectTypeName };
  if (value instanceof AmfDictionary) return { $dict: value.entries.map(([k, v]) => [child(k), child(v)]) };
  return membersToJson(value as AmfObject, depth, conversion);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonMembers(object: Record<string, unknown>, skip: string, depth: number): Record<string, AmfValue> {
  const out: Record<string, AmfValue> = {};
  for (const key of Object.keys(object)) {
    if (key === skip) continue;
    if (key.startsWith('$') && !key.startsWith('$$')) throw new JsonAmfError(`unknown tag ${JSON.stringify(key)} (escape literal '$' keys as '$$')`);
    setMember(out, unescapeKey(key), jsonToAmf(object[key], depth + 1));
  }
  return out;
}

/** A JSON value (parsed from a browser message) as an AMF value; throws JsonAmfError when malformed. */
export function jsonToAmf(value: unknown, depth = 0): AmfValue {
  if (depth > MAX_DEPTH) throw new JsonAmfError(`value nested deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new JsonAmfError('numbers must be finite');
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => jsonToAmf(v, depth + 1));
  if (!isRecord(value)) throw new JsonAmfError(`unsupported value of type ${typeof value}`);
  if ('$date' in value) {
    const date = typeof value.$date === 'string' ? new Date(value.$date) : null;
    if (!date || Number.isNaN(date.getTime())) throw new JsonAmfError('$date must be an ISO date string');
    return date;
  }
  if ('$bytes' in value) {
    if (typeof value.$bytes !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.$bytes)) throw new JsonAmfError('$bytes must be base64');
    return Buffer.from(value.$bytes, 'base64');
  }
  if ('$class' in value) {
    if (typeof value.$class !== 'string' || value.$class === '') throw new JsonAmfError('$class must be a non-empty string');
    return new AmfTypedObject(value.$class, jsonMembers(value, '$class', depth));
  }
  if ('$ecma' in value) {
    if (!isRecord(value.$ecma)) throw new JsonAmfError('$ecma must be an object');
    return AmfEcmaArray.from(jsonMembers(value.$ecma, '', depth));
  }
  if ('$xml' in value) {
    if (typeof value.$xml !== 'string') throw new JsonAmfError('$xml must be a string');
    return new AmfXml(value.$xml, value.document !== false);
  }
  if ('$vector' in value) {
    if (typeof value.$vector !== 'string' || !VECTOR_KINDS.has(value.$vector) || !Array.isArray(value.items)) throw new JsonAmfError('$vector needs a kind (int, uint, double, object) and items');
    return new AmfVector(value.$vector as AmfVectorKind, value.items.map((v) => jsonToAmf(v, depth + 1)), value.fixed === true, typeof value.type === 'string' ? value.type : '');
  }
  if ('$dict' in value) {
    if (!Array.isArray(value.$dict) || !value.$dict.every((e) => Array.isArray(e) && e.length === 2)) throw new JsonAmfError('$dict must be a list of [key, value] pairs');
    return new AmfDictionary((value.$dict as unknown[][]).map(([k, v]) => [jsonToAmf(k, depth + 1), jsonToAmf(v, depth + 1)]));
  }
  return jsonMembers(value, '', depth) as AmfObject;
}
