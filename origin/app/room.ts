/**
 * A scope of an application — a room such as `classroom/room42`, or the application scope itself
 * (room name '') — with its own clients, published streams, shared objects and application state.
 * It tells its application when the last client leaves (`empty`); the application then closes it
 * (`close`), which saves its persistent shared objects.
 */
import { EventEmitter } from 'node:events';
import type { AmfValue } from '#protocol/amf/types.ts';
import type { SharedObjectRegistry } from '../shared-objects/registry.ts';
import type { AppClient } from './client.ts';

export interface RoomEvents {
  join: [client: AppClient];
  leave: [client: AppClient];
  /** The last client left. */
  empty: [];
  /** The room is gone (its shared objects are saved). */
  close: [];
}

export class Room<State = unknown> extends EventEmitter<RoomEvents> {
  readonly application: string;
  /** '' for the application scope. */
  readonly name: string;
  /** `application/name`, or just `application`: the key of recordings and persistent files. */
  readonly path: string;
  readonly sharedObjects: SharedObjectRegistry;
  /** What the application keeps for this room (the classroom: members and counters). */
  readonly state: State;
  readonly #clients = new Map<string, AppClient>();
  /** Published stream name -> its publisher. */
  readonly #streams = new Map<string, AppClient>();
  #closed = false;

  constructor(application: string, name: string, sharedObjects: SharedObjectRegistry, state: State) {
    super();
    this.application = application;
    this.name = name;
    this.path = name ? `${application}/${name}` : application;
    this.sharedObjects = sharedObjects;
    this.state = state;
  }

  get closed(): boolean { return this.#closed; }
  get clientCount(): number { return this.#clients.size; }

  clients(): AppClient[] {
    return [...this.#clients.values()];
  }

  client(id: string): AppClient | undefined {
    return this.#clients.get(id);
  }

  join(client: AppClient): void {
    this.#clients.set(client.id, client);
    this.emit('join', client);
  }

  /** Removes the client, its streams and its shared object subscriptions; emits `empty` after the last. */
  leave(client: AppClient): void {
    if (this.#clients.get(client.id) !== client) return;
    this.#clients.delete(client.id);
    for (const [name, publisher] of this.#streams) if (publisher === client) this.#streams.delete(name);
    this.sharedObjects.releaseAll(client);
    this.emit('leave', client);
    if (this.#clients.size === 0) this.emit('empty');
  }

  addStream(client: AppClient, name: string): void {
    this.#streams.set(name, client);
  }

  removeStream(client: AppClient, name: string): void {
    if (this.#streams.get(name) === client) this.#streams.delete(name);
  }

  /** Names of the streams this client publishes in the room. */
  streamsOf(client: AppClient): string[] {
    return [...this.#streams].filter(([, publisher]) => publisher === client).map(([name]) => name);
  }

  /** Calls `method` on every client of the room (but `except`), without waiting for answers. */
  broadcast(method: string, args: AmfValue[], except?: AppClient): void {
    for (const client of this.#clients.values()) if (client !== except) client.notify(method, ...args);
  }

  /** Closes the room: shared objects are saved and forgotten. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
    await this.sharedObjects.close();
  }
}
