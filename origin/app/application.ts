/**
 * An application of the origin (`live`, `classroom`): the scopes (rooms) its clients connect to,
 * the connect and disconnect handlers, the methods clients may call by name, and hooks for
 * published streams. The plain class is a complete application (every connect accepted, no
 * methods, clients' shared objects as they ask); subclasses such as the classroom override the
 * `on*` hooks and register methods. Sessions drive it through connect/call/disconnect.
 */
import { EventEmitter } from 'node:events';
import type { AmfValue } from '#protocol/amf/types.ts';
import type { Logger } from '#common/logger.ts';
import { OriginError } from '../core/errors.ts';
import type { Recordings } from '../core/origin-context.ts';
import type { SharedObjectStore } from '../shared-objects/persistence.ts';
import { openSharedObjectPolicy, SharedObjectRegistry, type SharedObjectPolicy } from '../shared-objects/registry.ts';
import type { AppClient } from './client.ts';
import { Room } from './room.ts';

/** A server method clients call with NetConnection.call; what it returns (or resolves) is the `_result`. */
export type MethodHandler = (client: AppClient, ...args: AmfValue[]) => AmfValue | void | Promise<AmfValue | void>;

export interface ApplicationLimits {
  maxSharedObjectBytes: number;
  maxSharedObjectsPerRoom: number;
  maxChatHistory: number;
}

/** What the origin gives every application. */
export interface ApplicationServices {
  readonly recordings: Recordings;
  readonly sharedObjectStore: SharedObjectStore;
  readonly limits: ApplicationLimits;
  readonly log: Logger;
}

/** Thrown by onConnect: the client gets NetConnection.Connect.Rejected with this message as `application`. */
export class ConnectRejectedError extends OriginError {
  constructor(reason: string) {
    super('connect.rejected', reason);
  }
}

/** Thrown by a method: the caller gets `_error` NetConnection.Call.Failed with this message. */
export class CallFailedError extends OriginError {
  constructor(reason: string) {
    super('call.failed', reason);
  }
}

/** Thrown by checkPublish: the publisher gets NetStream.Publish.BadName with this message. */
export class PublishRefusedError extends OriginError {
  constructor(reason: string) {
    super('publish.refused', reason);
  }
}

/** No method of that name is registered. */
export class MethodNotFoundError extends OriginError {}

export interface ApplicationEvents {
  roomCreated: [room: Room];
  /** The last client left; the room is destroyed right after. */
  roomEmpty: [room: Room];
  roomDestroyed: [room: Room];
}

export class Application<State = undefined> extends EventEmitter<ApplicationEvents> {
  readonly name: string;
  /**
   * True for an application that admits people at connect (a roster, roles): under the `required`
   * policy its clients bring their token with connect. A plain one lets each publish and play bring it.
   */
  readonly admitsMembers: boolean = false;
  protected readonly services: ApplicationServices;
  protected readonly log: Logger;
  readonly #methods = new Map<string, MethodHandler>();
  readonly #rooms = new Map<string, Room<State>>();
  readonly #clientRooms = new Map<AppClient, Room<State>>();
  readonly #closingRooms = new Set<Promise<void>>();
  #closed = false;

  constructor(name: string, services: ApplicationServices) {
    super();
    this.name = name;
    this.services = services;
    this.log = services.log.child('app', { app: name });
  }

  // ---- hooks for applications -------------------------------------------------------------

  /** Per-room state, made when the room is created (the room's shared objects are ready). */
  protected createRoomState(_path: string, _sharedObjects: SharedObjectRegistry): State {
    return undefined as State;
  }

  /** Who decides persistence and who may write, for this application's shared objects. */
  protected sharedObjectPolicy(): SharedObjectPolicy {
    return openSharedObjectPolicy;
  }

  /** A client connects to `room` (it is already in room.clients()). Throw ConnectRejectedError to refuse. */
  protected onConnect(_client: AppClient, _room: Room<State>): void {}

  /** A client leaves (still in room.clients() while this runs). */
  protected onDisconnect(_client: AppClient, _room: Room<State>): void {}

  /** A client is about to publish `stream` in `room`. Throw PublishRefusedError to refuse the name. */
  protected onBeforePublish(_client: AppClient, _room: Room<State>, _stream: string): void {}

  protected onPublish(_client: AppClient, _room: Room<State>, _stream: string): void {}

  protected onUnpublish(_client: AppClient, _room: Room<State>, _stream: string): void {}

  /** The room is about to be destroyed (no clients left). */
  protected onRoomDestroyed(_room: Room<State>): void {}

  /** Registers a method clients call by name. */
  protected register(method: string, handler: MethodHandler): void {
    if (this.#methods.has(method)) throw new Error(`method ${method} registered twice in ${this.name}`);
    this.#methods.set(method, handler);
  }

  // ---- used by sessions --------------------------------------------------------------------

  get methods(): string[] {
    return [...this.#methods.keys()];
  }

  rooms(): Room<State>[] {
    return [...this.#rooms.values()];
  }

  room(name: string): Room<State> | undefined {
    return this.#rooms.get(name);
  }

  roomOf(client: AppClient): Room<State> | undefined {
    return this.#clientRooms.get(client);
  }

  /** The name people know a client by (the admin API lists it): its token's name here; applications with a roster override. */
  displayName(client: AppClient): string | null {
    return client.identity?.name ?? null;
  }

  /** Admits a client into its room; throws ConnectRejectedError (the client is then in no room). */
  connect(client: AppClient): Room<State> {
    if (this.#closed) throw new ConnectRejectedError('The server is shutting down.');
    const room = this.#rooms.get(client.scope.room) ?? this.#createRoom(client.scope.room);
    room.join(client);
    this.#clientRooms.set(client, room);
    try {
      this.onConnect(client, room);
    } catch (error) {
      this.#clientRooms.delete(client);
      room.leave(client);
      throw error;
    }
    this.log.info('client joined', { room: room.path, client: client.id, clients: room.clientCount });
    return room;
  }

  disconnect(client: AppClient): void {
    const room = this.#clientRooms.get(client);
    if (!room) return;
    this.#clientRooms.delete(client);
    this.#guard('onDisconnect', () => this.onDisconnect(client, room));
    room.leave(client);
    this.log.info('client left', { room: room.path, client: client.id, clients: room.clientCount });
  }

  /** Runs a registered method. Throws MethodNotFoundError, or whatever the method throws. */
  async call(client: AppClient, method: string, args: AmfValue[]): Promise<AmfValue> {
    const handler = this.#methods.get(method);
    if (!handler) throw new MethodNotFoundError('call.not_found', `Method not found (${method}).`);
    return (await handler.call(this, client, ...args)) ?? null;
  }

  /** Throws PublishRefusedError when the application refuses `client` publishing `stream`. */
  checkPublish(client: AppClient, stream: string): void {
    const room = this.#clientRooms.get(client);
    if (room) this.onBeforePublish(client, room, stream);
  }

  streamPublished(client: AppClient, stream: string): void {
    const room = this.#clientRooms.get(client);
    if (!room) return;
    room.addStream(client, stream);
    this.#guard('onPublish', () => this.onPublish(client, room, stream));
  }

  streamUnpublished(client: AppClient, stream: string): void {
    const room = this.#clientRooms.get(client);
    if (!room) return;
    room.removeStream(client, stream);
    this.#guard('onUnpublish', () => this.onUnpublish(client, room, stream));
  }

  /** Refuses new clients and closes every room (saving persistent shared objects). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const room of [...this.#rooms.values()]) this.#destroyRoom(room);
    await Promise.all(this.#closingRooms);
  }

  #createRoom(name: string): Room<State> {
    const path = name ? `${this.name}/${name}` : this.name;
    const sharedObjects = new SharedObjectRegistry(path, this.services.sharedObjectStore, {
      maxBytes: this.services.limits.maxSharedObjectBytes,
      maxObjects: this.services.limits.maxSharedObjectsPerRoom,
    }, this.sharedObjectPolicy(), this.log);
    const room = new Room<State>(this.name, name, sharedObjects, this.createRoomState(path, sharedObjects));
    this.#rooms.set(name, room);
    room.on('empty', () => {
      this.emit('roomEmpty', room as Room);
      this.#destroyRoom(room);
    });
    this.log.info('room created', { room: path });
    this.emit('roomCreated', room as Room);
    return room;
  }

  #destroyRoom(room: Room<State>): void {
    if (this.#rooms.get(room.name) !== room) return;
    this.#rooms.delete(room.name);
    this.#guard('onRoomDestroyed', () => this.onRoomDestroyed(room));
    const closing = room.close().then(() => {
      this.#closingRooms.delete(closing);
      this.log.info('room destroyed', { room: room.path });
      this.emit('roomDestroyed', room as Room);
    });
    this.#closingRooms.add(closing);
  }

  /** Runs an application hook; a bug in it is logged, never allowed to break the session. */
  #guard(hook: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.log.error(`${hook} failed`, { error: (error as Error).stack ?? String(error) });
    }
  }
}
