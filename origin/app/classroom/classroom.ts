/**
 * The classroom application (rtmp://host/classroom/ROOM): what OpenMeetings on Red5 gave its
 * users, on the application model. A roster (name, teacher/student, raised hand, published
 * streams), chat with history, a whiteboard of strokes, raise hand, recording control by the
 * teacher and an attendance check that calls every client. State lives in shared objects the
 * server alone writes (clients change it through the methods, which validate and rate-limit), so
 * Flash, edge and browser clients all see the same thing; chat and whiteboard are persistent,
 * so late joiners and a restarted origin get the history. A stroke carries its author, who alone
 * may undo it; members say whether their microphone and camera are muted (setMediaState), which the
 * roster shows everyone. The API is documented in README.
 */
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { Application, CallFailedError, ConnectRejectedError, PublishRefusedError, type ApplicationServices } from '../application.ts';
import type { AppClient } from '../client.ts';
import type { Room } from '../room.ts';
import type { SharedObject } from '../../shared-objects/shared-object.ts';
import type { SharedObjectClient, SharedObjectPolicy, SharedObjectRegistry } from '../../shared-objects/registry.ts';
import type { Right } from '#common/auth/identity.ts';
import { displayNameKey, DisplayNameError, normalizeDisplayName } from './display-name.ts';

/** A member's role in the roster: a token's admin or teacher teaches, its viewer only watches. */
export type Role = 'teacher' | 'student' | 'viewer';

export interface Member extends AmfObject {
  id: string;
  name: string;
  role: Role;
  hand: boolean;
  streams: string[];
  /** ms since the epoch */
  joinedAt: number;
  /** Whether the member's microphone / camera is muted, as the member said with setMediaState; null: not said (a Flash client that never calls it). */
  audioMuted: boolean | null;
  videoMuted: boolean | null;
}

/** Shared object names and whether they are persistent; all are written by the server only. */
export const ClassroomObjects = {
  roster: { name: 'roster', persistent: false },
  chat: { name: 'chat', persistent: true },
  whiteboard: { name: 'whiteboard', persistent: true },
  room: { name: 'room', persistent: false },
} as const;

interface ClassroomState {
  readonly members: Map<string, Member>;
  /** Connections that carry a member's media (client id -> the member's id): not members themselves. */
  readonly mediaConnections: Map<string, string>;
  /** Stream names (their display-name keys) and the key of the member who first published each: the name stays theirs while the room lives. */
  readonly streamOwners: Map<string, string>;
  readonly roster: SharedObject;
  readonly chat: SharedObject;
  readonly whiteboard: SharedObject;
  readonly room: SharedObject;
  nextChatId: number;
  nextStrokeId: number;
}

const MAX_CHAT_TEXT = 2000;
const MAX_STROKE_POINTS = 10_000;
const MAX_PRESENCE_WAIT_MS = 30_000;
const RESERVED = new Set<string>(Object.values(ClassroomObjects).map((o) => o.name));
/** Role words no stream may be called. */
const RESERVED_STREAM_NAMES = new Set(['teacher', 'student', 'viewer', 'admin']);
/** What may follow a member's name in a stream name that would pass as theirs (`alice-cam`). */
const STREAM_NAME_SEPARATORS = ['-', '_', '.', ' ', '/'];

/** Slot keys are zero-padded counters so they sort in order; the counter resumes after a restart. */
function slotKey(prefix: string, id: number): string {
  return `${prefix}${String(id).padStart(8, '0')}`;
}

function nextId(object: SharedObject, prefix: string): number {
  let max = 0;
  for (const key of object.keys()) if (key.startsWith(prefix)) max = Math.max(max, Number(key.slice(prefix.length)) || 0);
  return max + 1;
}

function sortedValues(object: SharedObject): AmfValue[] {
  return object.keys().sort().map((key) => object.get(key));
}

function isObject(value: AmfValue): value is AmfObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !(value instanceof Uint8Array);
}

/** Connect arguments a client declares itself with: `{ name, role }` or `name, role`. */
function parseDeclared(args: readonly AmfValue[]): { name: string; role: Role } {
  const [first, second] = args;
  const raw = isObject(first) ? first : { name: first ?? null, role: second ?? null };
  if (typeof raw.name !== 'string' || !raw.name.trim()) throw new ConnectRejectedError('A name is required: connect with { name, role } or the arguments name, role.');
  const role = raw.role ?? 'student';
  if (role !== 'teacher' && role !== 'student') throw new ConnectRejectedError(`Unknown role ${JSON.stringify(role)}: use 'teacher' or 'student'.`);
  return { name: raw.name, role };
}

/**
 * Who joins: with a token, its name and role (what the client declares is ignored); under the
 * legacy policy, what the client declares; anonymous (optional policy), a student by the name it gives.
 */
function memberIdentity(client: AppClient): { name: string; role: Role } {
  const identity = client.identity;
  const declared = identity?.source === 'token' ? null : parseDeclared(client.params.args);
  const raw = declared ? declared.name : identity!.name!;
  let name: string;
  try {
    name = normalizeDisplayName(raw);
  } catch (error) {
    if (error instanceof DisplayNameError) throw new ConnectRejectedError(error.message);
    throw error;
  }
  if (!identity || identity.source === 'declared') return { name, role: declared!.role };
  if (identity.source === 'anonymous') return { name, role: 'student' };
  return { name, role: identity.role === 'admin' || identity.role === 'teacher' ? 'teacher' : identity.role };
}

/**
 * `{ mediaOf: NAME }`: the connection carries the media of the member NAME already in the room
 * (the edge opens one per WebRTC publish or play of a browser joined over WebSocket), as a Flash
 * client's NetStreams ride on its one connection: it is no member of its own, its streams are listed
 * as the member's, and it has the member's role. Null for an ordinary connect.
 */
function mediaOwnerName(args: readonly AmfValue[]): string | null {
  const [first] = args;
  if (!isObject(first) || first.mediaOf === undefined) return null;
  if (typeof first.mediaOf !== 'string' || !first.mediaOf.trim()) throw new ConnectRejectedError('mediaOf must be the name of a member of the room.');
  return first.mediaOf.trim();
}

export class ClassroomApplication extends Application<ClassroomState> {
  override readonly admitsMembers = true;

  constructor(name: string, services: ApplicationServices) {
    super(name, services);
    // A recording may stop without the teacher (origin shutdown, a failure): the room object follows the service.
    services.recordings.on('room', (scopePath, active) => this.#showRecording(scopePath, active));
    this.register('echo', (_client, value) => value ?? null);
    this.register('whoami', (client) => this.#member(client));
    this.register('getRoster', (client) => [...this.#state(client).members.values()]);
    this.register('sendChat', (client, text) => this.#sendChat(client, text));
    this.register('getChatHistory', (client) => sortedValues(this.#state(client).chat));
    this.register('drawStroke', (client, stroke) => this.#drawStroke(client, stroke));
    this.register('getWhiteboard', (client) => sortedValues(this.#state(client).whiteboard));
    this.register('undoStroke', (client) => this.#undoStroke(client));
    this.register('setMediaState', (client, state) => this.#setMediaState(client, state));
    this.register('clearWhiteboard', (client) => {
      this.#requireRight(client, 'whiteboard.clear', 'clear the whiteboard');
      return this.#state(client).whiteboard.clear();
    });
    this.register('raiseHand', (client) => this.#setHand(client, client.id, true));
    this.register('lowerHand', (client, id) => this.#setHand(client, typeof id === 'string' ? id : client.id, false));
    this.register('startRecording', (client) => this.#startRecording(client));
    this.register('stopRecording', (client) => this.#stopRecording(client));
    this.register('getRecordingState', (client) => this.#state(client).room.get('recording') ?? null);
    this.register('checkPresence', (client, timeoutMs) => this.#checkPresence(client, timeoutMs));
  }

  protected override createRoomState(_path: string, objects: SharedObjectRegistry): ClassroomState {
    const open = (spec: { name: string; persistent: boolean }) => objects.open(spec.name, spec.persistent, true);
    const state: ClassroomState = {
      members: new Map(),
      mediaConnections: new Map(),
      streamOwners: new Map(),
      roster: open(ClassroomObjects.roster),
      chat: open(ClassroomObjects.chat),
      whiteboard: open(ClassroomObjects.whiteboard),
      room: open(ClassroomObjects.room),
      nextChatId: 0,
      nextStrokeId: 0,
    };
    state.nextChatId = nextId(state.chat, 'm');
    state.nextStrokeId = nextId(state.whiteboard, 's');
    return state;
  }

  protected override sharedObjectPolicy(): SharedObjectPolicy {
    return {
      persistence: (name, requested) => requested && !RESERVED.has(name),
      // The classroom's own objects change only through its methods; other objects are the clients'.
      canWrite: (_client: SharedObjectClient, name: string) => !RESERVED.has(name),
    };
  }

  protected override onConnect(client: AppClient, room: Room<ClassroomState>): void {
    if (!room.name) throw new ConnectRejectedError('Join a room: rtmp://HOST/classroom/ROOM.');
    const { members, roster } = room.state;
    const ownerName = mediaOwnerName(client.params.args);
    if (ownerName !== null) {
      const owner = [...members.values()].find((member) => member.name === ownerName);
      if (!owner) throw new ConnectRejectedError(`No member '${ownerName}' in this room to carry media for.`);
      // A token carries only its own member's media.
      if (client.identity?.source === 'token' && client.identity.name !== null && displayNameKey(client.identity.name) !== displayNameKey(ownerName)) {
        throw new ConnectRejectedError(`This token is ${client.identity.name}'s: it carries no media for '${ownerName}'.`);
      }
      room.state.mediaConnections.set(client.id, owner.id);
      return;
    }
    const { name, role } = memberIdentity(client);
    const key = displayNameKey(name);
    for (const member of members.values()) {
      if (displayNameKey(member.name) === key) throw new ConnectRejectedError(`The name '${name}' is already in use in this room (as '${member.name}').`);
    }
    const member: Member = { id: client.id, name, role, hand: false, streams: [], joinedAt: Date.now(), audioMuted: null, videoMuted: null };
    members.set(client.id, member);
    roster.set(client.id, member);
    if (room.state.room.get('recording') === undefined) this.#showRecording(room.path, this.services.recordings.isRoomRecording(room.path));
  }

  protected override onDisconnect(client: AppClient, room: Room<ClassroomState>): void {
    const owner = room.state.mediaConnections.get(client.id);
    if (owner !== undefined) {
      room.state.mediaConnections.delete(client.id);
      return this.#listStreams(owner, room);
    }
    room.state.members.delete(client.id);
    room.state.roster.remove(client.id);
  }

  /**
   * Stream names belong to their publisher: a name that is a role (`teacher`), another member's
   * name (or begins with it and a separator), or a name another member published first in this
   * room is refused, so nobody can pass their camera off as someone else's.
   */
  protected override onBeforePublish(client: AppClient, room: Room<ClassroomState>, stream: string): void {
    const { members, mediaConnections, streamOwners } = room.state;
    const publisher = members.get(mediaConnections.get(client.id) ?? client.id);
    if (!publisher) throw new PublishRefusedError('Only a member of the room may publish in it.');
    const own = displayNameKey(publisher.name);
    const key = displayNameKey(stream);
    if (RESERVED_STREAM_NAMES.has(key)) throw new PublishRefusedError(`'${stream}' names a role, not a stream: choose another name.`);
    for (const member of members.values()) {
      const other = displayNameKey(member.name);
      if (other !== own && (key === other || STREAM_NAME_SEPARATORS.some((separator) => key.startsWith(other + separator)))) {
        throw new PublishRefusedError(`'${stream}' is ${member.name}'s name: choose another stream name.`);
      }
    }
    const owner = streamOwners.get(key);
    if (owner !== undefined && owner !== own) throw new PublishRefusedError(`'${stream}' was published by another member of this room: choose another name.`);
    streamOwners.set(key, own);
  }

  protected override onPublish(client: AppClient, room: Room<ClassroomState>): void {
    this.#updateStreams(client, room);
  }

  protected override onUnpublish(client: AppClient, room: Room<ClassroomState>): void {
    this.#updateStreams(client, room);
  }

  protected override onRoomDestroyed(room: Room<ClassroomState>): void {
    // Nobody is left to see or stop it: a lesson recording ends with the lesson.
    if (this.services.recordings.isRoomRecording(room.path)) {
      this.services.recordings.stopRoom(room.path).catch((error: Error) => this.log.error('cannot stop room recording', { room: room.path, error: error.message }));
    }
  }

  #room(client: AppClient): Room<ClassroomState> {
    const room = this.roomOf(client);
    if (!room) throw new CallFailedError('Not in a room.');
    return room;
  }

  /** The member's name in the roster (a media connection's: the member it carries media for). */
  override displayName(client: AppClient): string | null {
    const state = this.roomOf(client)?.state;
    return state?.members.get(state.mediaConnections.get(client.id) ?? client.id)?.name ?? super.displayName(client);
  }

  #state(client: AppClient): ClassroomState {
    return this.#room(client).state;
  }

  #member(client: AppClient): Member {
    const member = this.#state(client).members.get(client.id);
    if (!member) throw new CallFailedError('Not in a room.');
    return member;
  }

  /** The caller's roster entry, if its identity (token, or the legacy declared role) has `right`. */
  #requireRight(client: AppClient, right: Right, what: string): Member {
    const member = this.#member(client);
    if (!client.identity?.may(right)) throw new CallFailedError(`Only a teacher may ${what}.`);
    return member;
  }

  /** Classroom writes count against the same per-client budget as shared object changes. */
  #takeChange(client: AppClient, what: string): void {
    if (client.changeLimiter.take()) return;
    const refused = client.changeLimiter.dueReport();
    if (refused !== null) this.log.warn('classroom call refused', { client: client.id, what, refused, limit: `maxSharedObjectChangesPerSecond ${client.changeLimiter.rate}` });
    throw new CallFailedError(`Too many changes: at most ${client.changeLimiter.rate} per second (maxSharedObjectChangesPerSecond).`);
  }

  /** The roster entry of the member `client` is or carries media for. */
  #updateStreams(client: AppClient, room: Room<ClassroomState>): void {
    this.#listStreams(room.state.mediaConnections.get(client.id) ?? client.id, room);
  }

  /** A member's streams: those of its own connection and of its media connections. */
  #listStreams(memberId: string, room: Room<ClassroomState>): void {
    const { members, mediaConnections, roster } = room.state;
    const member = members.get(memberId);
    if (!member) return;
    const carriers = [memberId, ...[...mediaConnections].filter(([, owner]) => owner === memberId).map(([id]) => id)];
    member.streams = carriers.flatMap((id) => {
      const carrier = room.client(id);
      return carrier ? room.streamsOf(carrier) : [];
    });
    roster.set(memberId, member);
  }

  #sendChat(client: AppClient, text: AmfValue): AmfObject {
    const member = this.#member(client);
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_CHAT_TEXT) {
      throw new CallFailedError(`sendChat needs a text of 1..${MAX_CHAT_TEXT} characters.`);
    }
    this.#takeChange(client, 'sendChat');
    const state = this.#state(client);
    const id = state.nextChatId++;
    const message: AmfObject = { id, from: client.id, name: member.name, role: member.role, text, at: Date.now() };
    const keys = state.chat.keys().sort();
    const drop = keys.slice(0, Math.max(0, keys.length + 1 - this.services.limits.maxChatHistory));
    state.chat.update({ set: [[slotKey('m', id), message]], remove: drop });
    return message;
  }

  #drawStroke(client: AppClient, raw: AmfValue): number {
    const member = this.#member(client);
    if (!isObject(raw) || !Array.isArray(raw.points) || raw.points.length === 0 || raw.points.length > MAX_STROKE_POINTS
      || !raw.points.every((p) => typeof p === 'number' && Number.isFinite(p))) {
      throw new CallFailedError(`drawStroke needs { points: [x0, y0, x1, y1, ...] } with 1..${MAX_STROKE_POINTS} numbers.`);
    }
    this.#takeChange(client, 'drawStroke');
    const state = this.#state(client);
    const id = state.nextStrokeId++;
    const stroke: AmfObject = {
      id, by: client.id,
      // The author by name too: a member who reconnects (a new client id) may still undo their strokes.
      byName: member.name,
      tool: typeof raw.tool === 'string' ? raw.tool.slice(0, 32) : 'pen',
      color: typeof raw.color === 'number' ? raw.color : 0,
      width: typeof raw.width === 'number' ? raw.width : 2,
      points: raw.points,
    };
    try {
      state.whiteboard.set(slotKey('s', id), stroke);
    } catch (error) {
      throw new CallFailedError(`The whiteboard is full: ${(error as Error).message}. A teacher can clear it.`);
    }
    return id;
  }

  /** Removes the caller's own most recent stroke: its id, or null when they have none on the board. */
  #undoStroke(client: AppClient): number | null {
    const member = this.#member(client);
    const { whiteboard } = this.#state(client);
    const own = displayNameKey(member.name);
    const key = whiteboard.keys().sort().reverse().find((k) => {
      const stroke = whiteboard.get(k);
      return isObject(stroke) && (stroke.by === client.id || (typeof stroke.byName === 'string' && displayNameKey(stroke.byName) === own));
    });
    if (key === undefined) return null;
    this.#takeChange(client, 'undoStroke');
    const stroke = whiteboard.get(key) as AmfObject;
    whiteboard.remove(key);
    return typeof stroke.id === 'number' ? stroke.id : null;
  }

  /** `{ audio?: boolean, video?: boolean }`: whether the caller's microphone and camera are muted, for everyone's roster. */
  #setMediaState(client: AppClient, raw: AmfValue): Member {
    const member = this.#member(client);
    if (!isObject(raw) || (raw.audio !== undefined && typeof raw.audio !== 'boolean') || (raw.video !== undefined && typeof raw.video !== 'boolean')) {
      throw new CallFailedError('setMediaState needs { audio?: boolean, video?: boolean }: true when muted.');
    }
    this.#takeChange(client, 'setMediaState');
    if (typeof raw.audio === 'boolean') member.audioMuted = raw.audio;
    if (typeof raw.video === 'boolean') member.videoMuted = raw.video;
    this.#state(client).roster.set(member.id, member);
    return member;
  }

  #setHand(client: AppClient, id: string, up: boolean): boolean {
    this.#member(client);
    if (id !== client.id && !client.identity?.may('hand.lower')) throw new CallFailedError('Only a teacher may lower another hand.');
    const state = this.#state(client);
    const member = state.members.get(id);
    if (!member) throw new CallFailedError(`No member ${id} in this room.`);
    this.#takeChange(client, up ? 'raiseHand' : 'lowerHand');
    member.hand = up;
    state.roster.set(id, member);
    return up;
  }

  async #startRecording(client: AppClient): Promise<AmfValue> {
    const member = this.#requireRight(client, 'record', 'start recording');
    const room = this.#room(client);
    const info = await this.services.recordings.startRoom(room.path, member.name);
    this.#showRecording(room.path, true, info.startedAt, member.name);
    return room.state.room.get('recording') ?? null;
  }

  async #stopRecording(client: AppClient): Promise<AmfValue> {
    this.#requireRight(client, 'record', 'stop recording');
    const room = this.#room(client);
    await this.services.recordings.stopRoom(room.path);
    this.#showRecording(room.path, false);
    return room.state.room.get('recording') ?? null;
  }

  /** The `recording` slot of the room object: what every client shows. */
  #showRecording(scopePath: string, active: boolean, startedAt?: string, by?: string): void {
    const room = this.rooms().find((r) => r.path === scopePath);
    if (!room) return;
    const current = room.state.room.get('recording');
    const previous = isObject(current) ? current : {};
    const value: AmfObject = active
      ? { active: true, startedAt: startedAt ?? (previous.active ? previous.startedAt ?? null : new Date().toISOString()), by: by ?? (previous.active ? previous.by ?? null : null) }
      : { active: false };
    room.state.room.set('recording', value);
  }

  /** Teacher's attendance check: calls `areYouThere` on every other client and reports who answered. */
  async #checkPresence(client: AppClient, timeout: AmfValue): Promise<AmfValue> {
    this.#requireRight(client, 'presence.check', 'check presence');
    const room = this.#room(client);
    const waitMs = typeof timeout === 'number' && timeout > 0 ? Math.min(timeout, MAX_PRESENCE_WAIT_MS) : undefined;
    const others = room.clients().filter((c) => c !== client);
    const answers = await Promise.all(others.map(async (other) => {
      const member = room.state.members.get(other.id);
      const call = other.invoke('areYouThere', this.#member(client).name);
      const deadline = waitMs === undefined ? null : new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs).unref());
      try {
        const answer = await (deadline ? Promise.race([call, deadline]) : call);
        return { id: other.id, name: member?.name ?? null, answered: true, answer } as AmfObject;
      } catch (error) {
        return { id: other.id, name: member?.name ?? null, answered: false, error: (error as Error).message } as AmfObject;
      }
    }));
    return answers;
  }
}
