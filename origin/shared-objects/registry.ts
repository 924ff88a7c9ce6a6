/**
 * The shared objects of one room (scope), and what clients do with them: use, release, request
 * change or removal, clear, send. Every write is checked in the same order — rate, subscription,
 * the application's write policy, size — and a refusal is answered with a status event on that
 * object (code in SharedObjectStatus) and logged with the limit's name; the client stays connected.
 */
import type { AmfValue } from '#protocol/amf/types.ts';
import type { SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import type { Logger } from '#common/logger.ts';
import type { SharedObjectStore } from './persistence.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { SharedObject, SharedObjectLimitError, type SharedObjectSubscriber } from './shared-object.ts';
import { countSharedObjectChange, countSharedObjectRefusal } from '../origin-metrics.ts';

/** A subscriber that can also write: a client with its change budget. */
export interface SharedObjectClient extends SharedObjectSubscriber {
  readonly changeLimiter: RateLimiter;
}

/** What the application decides about its rooms' shared objects. */
export interface SharedObjectPolicy {
  /** Persistence of an object a client uses first, having asked for `requested`. */
  persistence(name: string, requested: boolean): boolean;
  /** Whether this client may change, clear or send on this object. */
  canWrite(client: SharedObjectClient, name: string): boolean;
}

/** Clients decide: their persistence flag counts and they may write anything. */
export const openSharedObjectPolicy: SharedObjectPolicy = {
  persistence: (_name, requested) => requested,
  canWrite: () => true,
};

export interface SharedObjectLimits {
  maxBytes: number;
  maxObjects: number;
}

/** Status codes of refusals, sent as shared object status events (level `error`). */
export const SharedObjectStatus = {
  /** The application reserves this object for the server (e.g. the classroom roster). */
  NoWriteAccess: 'SharedObject.NoWriteAccess',
  /** The change would make the object larger than maxSharedObjectBytes. */
  SizeLimit: 'SharedObject.SizeLimit',
  /** More than maxSharedObjectChangesPerSecond changes from this client. */
  RateLimit: 'SharedObject.RateLimit',
  /** A bad name, or the room already has maxSharedObjectsPerRoom objects. */
  CreationFailed: 'SharedObject.ObjectCreationFailed',
  /** A write to an object the client has not `use`d. */
  NotFound: 'SharedObject.NoObjectFound',
  /** The message could not be decoded (malformed AMF, truncated event). */
  BadMessage: 'SharedObject.BadMessage',
} as const;

/** rtmp-client (npm) asks for a clear with this event type; Flash has no client-side clear. */
const RTMP_CLIENT_REQUEST_CLEAR = 14;
const MAX_NAME_LENGTH = 256;
const BAD_NAME = /[\u0000-\u001f\u007f]/;

export class SharedObjectRegistry {
  readonly scopePath: string;
  readonly #store: SharedObjectStore | null;
  readonly #limits: SharedObjectLimits;
  readonly #policy: SharedObjectPolicy;
  readonly #log: Logger;
  readonly #objects = new Map<string, SharedObject>();
  /** Objects the application opened: kept while the room lives, whoever subscribes. */
  readonly #pinned = new Set<string>();

  constructor(scopePath: string, store: SharedObjectStore | null, limits: SharedObjectLimits, policy: SharedObjectPolicy, log: Logger) {
    this.scopePath = scopePath;
    this.#store = store;
    this.#limits = limits;
    this.#policy = policy;
    this.#log = log;
  }

  get size(): number { return this.#objects.size; }

  get(name: string): SharedObject | undefined {
    return this.#objects.get(name);
  }

  /**
   * The object with this name, created (and loaded from disk if persistent) on first use.
   * `pinned` objects stay while the room lives. Throws SharedObjectLimitError for a bad name
   * or when the room has maxSharedObjectsPerRoom objects.
   */
  open(name: string, persistent: boolean, pinned = false): SharedObject {
    if (pinned) this.#pinned.add(name);
    const existing = this.#objects.get(name);
    if (existing) return existing;
    if (name.length === 0 || name.length > MAX_NAME_LENGTH || BAD_NAME.test(name)) {
      throw new SharedObjectLimitError('so.bad_name', `shared object name must be 1..${MAX_NAME_LENGTH} characters without control characters`);
    }
    if (this.#objects.size >= this.#limits.maxObjects) {
      throw new SharedObjectLimitError('so.too_many', `room ${this.scopePath} already has ${this.#objects.size} shared objects (limit maxSharedObjectsPerRoom ${this.#limits.maxObjects})`);
    }
    const store = persistent ? this.#store : null;
    const object = new SharedObject(name, persistent, this.#limits.maxBytes, store?.load(this.scopePath, name) ?? undefined);
    if (store) object.on('modified', () => store.save(this.scopePath, object));
    object.on('modified', countSharedObjectChange);
    this.#objects.set(name, object);
    this.#log.debug('shared object created', { scope: this.scopePath, name, persistent });
    return object;
  }

  /** Handles one decoded message from a client. */
  handle(client: SharedObjectClient, message: SharedObjectMessage): void {
    const { name } = message;
    let sets: Array<[string, AmfValue]> = [];
    let removes: string[] = [];
    // Consecutive change and removal requests form one batch: one version, one size check.
    const flushChanges = () => {
      if (sets.length + removes.length === 0) return;
      const changes = { set: sets, remove: removes };
      this.#write(client, name, sets.length + removes.length, 'change', (object) => object.update(changes, client));
      sets = [];
      removes = [];
    };
    for (const event of message.events) {
      if (event.kind === 'requestChange') {
        sets.push([event.key, event.value]);
        continue;
      }
      if (event.kind === 'requestRemove') {
        removes.push(event.key);
        continue;
      }
      flushChanges();
      switch (event.kind) {
        case 'use':
          this.#use(client, name, message.persistent);
          break;
        case 'release':
          this.#release(client, name);
          break;
        case 'clear':
          this.#write(client, name, 1, 'clear', (object) => object.clear());
          break;
        case 'send':
          this.#write(client, name, 1, 'send', (object) => object.send(event.handler, event.args));
          break;
        case 'unknown':
          if (event.type === RTMP_CLIENT_REQUEST_CLEAR) this.#write(client, name, 1, 'clear', (object) => object.clear());
          else this.#log.debug('unknown shared object event ignored', { name, type: event.type, client: client.id });
          break;
        default:
          // change, success, status, useSuccess: server-to-client events; a client sending them is confused, not hostile.
          this.#log.debug('server-side shared object event from a client ignored', { name, kind: event.kind, client: client.id });
      }
    }
    flushChanges();
  }

  /** Sends a status event on `name` to one client and logs why. */
  refuse(client: SharedObjectSubscriber, name: string, code: string, reason: string): void {
    this.#log.warn('shared object request refused', { scope: this.scopePath, name, client: client.id, code, reason });
    countSharedObjectRefusal(code);
    const object = this.#objects.get(name);
    if (object) object.status(client, code);
    else client.sendSharedObject({ name, version: 0, persistent: false, events: [{ kind: 'status', code, level: 'error' }] });
  }

  /** The client leaves the room: it is unsubscribed from everything. */
  releaseAll(client: SharedObjectSubscriber): void {
    for (const name of [...this.#objects.keys()]) this.#release(client, name);
  }

  /** Forgets every object; persistent ones are saved (resolves when they are on disk). */
  async close(): Promise<void> {
    for (const object of this.#objects.values()) object.close();
    this.#objects.clear();
    await this.#store?.flush();
  }

  #use(client: SharedObjectClient, name: string, requestedPersistence: boolean): void {
    if (!this.#takeChange(client, name)) return;
    let object: SharedObject;
    try {
      object = this.open(name, this.#objects.get(name)?.persistent ?? this.#policy.persistence(name, requestedPersistence));
    } catch (error) {
      if (!(error instanceof SharedObjectLimitError)) throw error;
      return this.refuse(client, name, SharedObjectStatus.CreationFailed, error.message);
    }
    object.subscribe(client); // again if already subscribed: the client asked for a fresh sync
  }

  #release(client: SharedObjectSubscriber, name: string): void {
    const object = this.#objects.get(name);
    if (!object?.unsubscribe(client)) return;
    // Nobody left: an empty transient object the application does not hold goes away.
    if (!object.persistent && object.slotCount === 0 && !this.#pinned.has(name)) this.#objects.delete(name);
  }

  #write(client: SharedObjectClient, name: string, count: number, what: string, apply: (object: SharedObject) => void): void {
    if (!this.#takeChange(client, name, count)) return;
    const object = this.#objects.get(name);
    if (!object?.isSubscribed(client)) return this.refuse(client, name, SharedObjectStatus.NotFound, `${what} before use`);
    if (!this.#policy.canWrite(client, name)) return this.refuse(client, name, SharedObjectStatus.NoWriteAccess, `${what}: the application reserves this object`);
    try {
      apply(object);
    } catch (error) {
      if (!(error instanceof SharedObjectLimitError)) throw error;
      this.refuse(client, name, SharedObjectStatus.SizeLimit, error.message);
    }
  }

  /** Rate check; a refusal is reported (log and status) at most once a second per client. */
  #takeChange(client: SharedObjectClient, name: string, count = 1): boolean {
    if (client.changeLimiter.take(count)) return true;
    const refused = client.changeLimiter.dueReport();
    if (refused !== null) {
      this.refuse(client, name, SharedObjectStatus.RateLimit,
        `${refused} change(s) refused: limit maxSharedObjectChangesPerSecond ${client.changeLimiter.rate}`);
    }
    return false;
  }
}
