/**
 * One remote shared object of a room: named slots of AMF values, a version that grows with every
 * change, and the clients subscribed to it. Changes are applied atomically (all of a batch or
 * none), size-limited, and announced the way Flash expects: the client that asked gets `success`
 * for its slots, everyone else gets `change`; removals and clears go to all.
 */
import { EventEmitter } from 'node:events';
import { amf0Encode } from '#protocol/amf/amf0.ts';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { setMember } from '#protocol/amf/types.ts';
import type { SharedObjectEvent, SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import { OriginError } from '../core/errors.ts';

/** Who receives a shared object's messages: a client connection (or, later, the edge link). */
export interface SharedObjectSubscriber {
  readonly id: string;
  /** Sends the message encoded for this subscriber (type 19, or 16 for AMF3 clients). */
  sendSharedObject(message: SharedObjectMessage): void;
}

/** A change the shared object refuses (too large); the requester is told with a status. */
export class SharedObjectLimitError extends OriginError {}

export interface SharedObjectSnapshot {
  version: number;
  slots: Map<string, AmfValue>;
}

export interface SharedObjectEvents {
  /** Slots changed or were cleared (persistent objects are saved on this). */
  modified: [];
}

export interface SlotChanges {
  set?: ReadonlyArray<readonly [string, AmfValue]>;
  remove?: readonly string[];
}

/** Bytes a slot counts for against the size limit: its name and its AMF0 encoding. */
function slotBytes(key: string, value: AmfValue): number {
  return Buffer.byteLength(key, 'utf8') + amf0Encode([value]).length;
}

export class SharedObject extends EventEmitter<SharedObjectEvents> {
  readonly name: string;
  readonly persistent: boolean;
  readonly maxBytes: number;
  #version: number;
  readonly #slots = new Map<string, { value: AmfValue; bytes: number }>();
  #bytes = 0;
  readonly #subscribers = new Set<SharedObjectSubscriber>();

  constructor(name: string, persistent: boolean, maxBytes: number, initial?: SharedObjectSnapshot) {
    super();
    this.name = name;
    this.persistent = persistent;
    this.maxBytes = maxBytes;
    this.#version = initial?.version ?? 0;
    for (const [key, value] of initial?.slots ?? []) {
      const bytes = slotBytes(key, value);
      this.#slots.set(key, { value, bytes });
      this.#bytes += bytes;
    }
  }

  get version(): number { return this.#version; }
  /** Current size as counted against `maxBytes`. */
  get bytes(): number { return this.#bytes; }
  get subscriberCount(): number { return this.#subscribers.size; }
  get slotCount(): number { return this.#slots.size; }

  get(key: string): AmfValue {
    return this.#slots.get(key)?.value;
  }

  keys(): string[] {
    return [...this.#slots.keys()];
  }

  /** The slots as a plain object (what a Flash client sees as `so.data`). */
  data(): AmfObject {
    const out: AmfObject = {};
    for (const [key, slot] of this.#slots) setMember(out, key, slot.value);
    return out;
  }

  snapshot(): SharedObjectSnapshot {
    return { version: this.#version, slots: new Map([...this.#slots].map(([key, slot]) => [key, slot.value])) };
  }

  isSubscribed(subscriber: SharedObjectSubscriber): boolean {
    return this.#subscribers.has(subscriber);
  }

  /** Subscribes and sends the initial sync: use success, clear, then every slot, in one message. */
  subscribe(subscriber: SharedObjectSubscriber): void {
    this.#subscribers.add(subscriber);
    const events: SharedObjectEvent[] = [{ kind: 'useSuccess' }, { kind: 'clear' }];
    for (const [key, slot] of this.#slots) events.push({ kind: 'change', key, value: slot.value });
    subscriber.sendSharedObject(this.#message(events));
  }

  /** Returns true when that was the last subscriber. */
  unsubscribe(subscriber: SharedObjectSubscriber): boolean {
    return this.#subscribers.delete(subscriber) && this.#subscribers.size === 0;
  }

  /**
   * Applies sets and removals as one new version. `by` (a subscriber, or null for the server)
   * gets `success` for the slots it set. Throws SharedObjectLimitError, changing nothing, if
   * the object would grow past `maxBytes`.
   */
  update(changes: SlotChanges, by: SharedObjectSubscriber | null = null): number {
    // Last write wins within a batch; a slot both set and removed is set.
    const sized = [...new Map((changes.set ?? []).map(([key, value]) => [key, value])).entries()]
      .map(([key, value]) => ({ key, value, bytes: slotBytes(key, value) }));
    const setKeys = new Set(sized.map((s) => s.key));
    const removes = [...new Set(changes.remove ?? [])].filter((key) => this.#slots.has(key) && !setKeys.has(key));
    if (sized.length === 0 && removes.length === 0) return this.#version;
    let size = this.#bytes;
    for (const key of removes) size -= this.#slots.get(key)!.bytes;
    for (const { key, bytes } of sized) size += bytes - (this.#slots.get(key)?.bytes ?? 0);
    if (size > this.maxBytes) {
      throw new SharedObjectLimitError('so.too_large', `shared object '${this.name}' would grow to ${size} bytes (limit maxSharedObjectBytes ${this.maxBytes})`);
    }
    for (const key of removes) this.#slots.delete(key);
    for (const { key, value, bytes } of sized) this.#slots.set(key, { value, bytes });
    this.#bytes = size;
    this.#version++;
    const removed: SharedObjectEvent[] = removes.map((key) => ({ kind: 'remove', key }));
    const forOthers: SharedObjectEvent[] = [...removed, ...sized.map(({ key, value }): SharedObjectEvent => ({ kind: 'change', key, value }))];
    const forRequester: SharedObjectEvent[] = [...removed, ...sized.map(({ key }): SharedObjectEvent => ({ kind: 'success', key }))];
    for (const subscriber of this.#subscribers) {
      subscriber.sendSharedObject(this.#message(subscriber === by ? forRequester : forOthers));
    }
    this.emit('modified');
    return this.#version;
  }

  set(key: string, value: AmfValue, by: SharedObjectSubscriber | null = null): number {
    return this.update({ set: [[key, value]] }, by);
  }

  remove(key: string, by: SharedObjectSubscriber | null = null): number {
    return this.update({ remove: [key] }, by);
  }

  /** Removes every slot as one new version; subscribers get a `clear` event. */
  clear(): number {
    this.#slots.clear();
    this.#bytes = 0;
    this.#version++;
    this.#broadcast([{ kind: 'clear' }]);
    this.emit('modified');
    return this.#version;
  }

  /** SharedObject.send: calls `handler(...args)` on every subscriber, the sender included. */
  send(handler: string, args: AmfValue[]): void {
    this.#broadcast([{ kind: 'send', handler, args }]);
  }

  /** A status event (code, level) to one client, e.g. a refused change. */
  status(subscriber: SharedObjectSubscriber, code: string, level = 'error'): void {
    subscriber.sendSharedObject(this.#message([{ kind: 'status', code, level }]));
  }

  /** Forgets every subscriber (the room is going away). */
  close(): void {
    this.#subscribers.clear();
  }

  #broadcast(events: SharedObjectEvent[]): void {
    const message = this.#message(events);
    for (const subscriber of this.#subscribers) subscriber.sendSharedObject(message);
  }

  #message(events: SharedObjectEvent[]): SharedObjectMessage {
    return { name: this.name, version: this.#version, persistent: this.persistent, events };
  }
}
