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

function membersToJson(members: Record<string, AmfValue>, depth: number): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const key of Object.keys(members)) setMember(out as AmfObject, escapeKey(key), amfToJson(members[key], depth + 1) as AmfValue);
  return out;
}

/** An AMF value (decoded from a command or shared object) as JSON. */
export function amfToJson(value: AmfValue, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) throw new JsonAmfError(`value nested deeper than ${MAX_DEPTH}`);
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map((v) => amfToJson(v, depth + 1));
  if (value instanceof AmfTypedObject) return { $class: value.className, ...membersToJson(value.members, depth) };
  if (value instanceof AmfEcmaArray) return { $ecma: membersToJson({ ...value }, depth) };
  if (value instanceof AmfXml) return { $xml: value.content, document: value.document };
  if (value instanceof AmfVector) return { $vector: value.kind, items: value.items.map((v) => amfToJson(v, depth + 1)), fixed: value.fixed, type: value.objectTypeName };
  if (value instanceof AmfDictionary) return { $dict: value.entries.map(([k, v]) => [amfToJson(k, depth + 1), amfToJson(v, depth + 1)]) };
  return membersToJson(value as AmfObject, depth);
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
