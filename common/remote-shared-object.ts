/**
 * The client side of a remote shared object, over an RtmpClient: use (with the initial sync),
 * set, remove, send, clear, release, and the data, version and events the server sends back.
 * The project's tests use it to check what Flash's SharedObject.getRemote would see.
 */
import { EventEmitter } from 'node:events';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { setMember } from '#protocol/amf/types.ts';
import type { SharedObjectEvent, SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';

/** What the shared object needs of its connection (RtmpClient implements it). */
export interface SharedObjectConnection {
  sendSharedObject(message: SharedObjectMessage): void;
  on(event: 'sharedObject', listener: (message: SharedObjectMessage) => void): unknown;
  off(event: 'sharedObject', listener: (message: SharedObjectMessage) => void): unknown;
}

export interface RemoteSharedObjectEvents {
  /** Every message for this object, after it was applied (version and data are up to date). */
  sync: [events: SharedObjectEvent[], version: number];
  /** A SharedObject.send reached this client. */
  send: [handler: string, args: AmfValue[]];
  status: [code: string, level: string];
}

export class RemoteSharedObject extends EventEmitter<RemoteSharedObjectEvents> {
  readonly name: string;
  readonly persistent: boolean;
  readonly data: AmfObject = {};
  version = 0;
  /** Set by the server's first answer to use. */
  connected = false;
  readonly #connection: SharedObjectConnection;
  readonly #listener = (message: SharedObjectMessage) => this.#onMessage(message);
  /** Values we asked to set, applied when the server answers `success` (as Flash does). */
  readonly #requested = new Map<string, AmfValue>();

  constructor(connection: SharedObjectConnection, name: string, persistent = false) {
    super();
    this.#connection = connection;
    this.name = name;
    this.persistent = persistent;
    connection.on('sharedObject', this.#listener);
  }

  /** Sends use and resolves after the initial sync (or rejects on an error status). */
  connect(timeoutMs = 5000): Promise<this> {
    const synced = new Promise<this>((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`no sync for ${this.name} within ${timeoutMs} ms`)); }, timeoutMs);
      const onSync = (events: SharedObjectEvent[]) => {
        if (events.some((e) => e.kind === 'useSuccess')) { cleanup(); resolve(this); }
      };
      const onStatus = (code: string, level: string) => {
        if (level === 'error') { cleanup(); reject(new Error(`${this.name}: ${code}`)); }
      };
      const cleanup = () => { clearTimeout(timer); this.off('sync', onSync); this.off('status', onStatus); };
      this.on('sync', onSync);
      this.on('status', onStatus);
    });
    this.#send([{ kind: 'use' }]);
    return synced;
  }

  set(key: string, value: AmfValue): void {
    this.#requested.set(key, value);
    this.#send([{ kind: 'requestChange', key, value }]);
  }

  remove(key: string): void {
    this.#send([{ kind: 'requestRemove', key }]);
  }

  send(handler: string, ...args: AmfValue[]): void {
    this.#send([{ kind: 'send', handler, args }]);
  }

  clear(): void {
    this.#send([{ kind: 'clear' }]);
  }

  release(): void {
    this.#send([{ kind: 'release' }]);
    this.#connection.off('sharedObject', this.#listener);
  }

  /** Resolves with the first event (after it is applied) that `match` accepts. */
  waitFor(match: (event: SharedObjectEvent, version: number) => boolean, timeoutMs = 5000): Promise<SharedObjectEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('sync', onSync); reject(new Error(`${this.name}: no matching event within ${timeoutMs} ms`)); }, timeoutMs);
      const onSync = (events: SharedObjectEvent[], version: number) => {
        const found = events.find((e) => match(e, version));
        if (found) { clearTimeout(timer); this.off('sync', onSync); resolve(found); }
      };
      this.on('sync', onSync);
    });
  }

  #send(events: SharedObjectEvent[]): void {
    this.#connection.sendSharedObject({ name: this.name, version: this.version, persistent: this.persistent, events });
  }

  #onMessage(message: SharedObjectMessage): void {
    if (message.name !== this.name) return;
    this.version = message.version;
    for (const event of message.events) {
      switch (event.kind) {
        case 'useSuccess':
          this.connected = true;
          break;
        case 'clear':
          for (const key of Object.keys(this.data)) delete this.data[key];
          break;
        case 'change':
          setMember(this.data, event.key, event.value);
          break;
        case 'remove':
          delete this.data[event.key];
          break;
        case 'send':
          this.emit('send', event.handler, event.args);
          break;
        case 'status':
          this.emit('status', event.code, event.level);
          break;
        case 'success':
          if (this.#requested.has(event.key)) setMember(this.data, event.key, this.#requested.get(event.key));
          this.#requested.delete(event.key);
          break;
        default:
          break;
      }
    }
    this.emit('sync', message.events, message.version);
  }
}
