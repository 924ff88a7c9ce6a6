/**
 * The origin's admin API, mounted on its one HTTP router (HttpApi): what is there, read on request
 * from what the origin keeps anyway (rooms, sessions, the stream hub, the recording service), and
 * the operator's actions on it: disconnect a client, stop a stream's publisher, start and stop a
 * room's recording. Every route needs a token with the `admin.api` right (the admin role; teachers
 * see their room through the classroom's roster, not here) and shows or touches only rooms the
 * token's room covers (`*` for the admin token): 401 without a valid token, 403 with one that may
 * not, 404 for what does not exist, 400 for malformed input. The JSON shapes are the interfaces
 * below (README, "Admin API"); they never carry a token. Each action is logged with the caller's
 * `sub` and role, never its token.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '#common/logger.ts';
import { RtmpConnection } from '#common/rtmp-connection.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { LiveStream } from '#common/media/live-stream.ts';
import { StreamRates } from '#common/media/stream-rates.ts';
import { describeAudio, describeVideo, type AudioDescription, type VideoDescription } from '#protocol/flv/codec-description.ts';
import type { Applications } from '../app/applications.ts';
import type { Identity, IdentitySource, Role } from '#common/auth/identity.ts';
import { ClientError } from '#common/client-error.ts';
import { parseScope, type Scope } from '../core/scope.ts';
import type { StreamHub } from '../core/stream-hub.ts';
import { LinkSession } from '../link/link-session.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import type { NetStreamSummary, RtmpSession } from '../session/rtmp-session.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { HttpError, readJson, type HttpApi } from './http-api.ts';

/** `GET /api/rooms` → `{ rooms: RoomView[] }`. */
export interface RoomView {
  /** `app/room` (just `app` for the application scope). */
  path: string;
  app: string;
  /** '' for the application scope. */
  room: string;
  clients: number;
  /** Keys (`app/room/name`) of the streams the room's clients publish. */
  streams: string[];
  /** The room is being recorded (by a teacher, the admin API or `--record-rooms always`). */
  recording: boolean;
}

/** `GET /api/clients` → `{ clients: ClientView[] }`. */
export interface ClientView {
  /** The client id (process-wide; application code and the classroom's roster use it too). */
  id: string;
  app: string;
  room: string;
  /** How the client came in: `rtmp`/`rtmps` on the origin's ports; through an edge, what it speaks there (`rtmp`, `rtmpt`, `ws`, `http-flv`, `whip`, ...). */
  protocol: string;
  /** The edge it came through; null for a client of the origin's own ports. */
  via: string | null;
  /** The client's own address (an edge passes it on). */
  address: string;
  port: number;
  /** From its token, or what it declared under the legacy policy; null where each publish and play brings its token. */
  role: Role | null;
  name: string | null;
  /** The token's subject; null without a token. */
  sub: string | null;
  auth: IdentitySource | null;
  connectedAt: string;
  /**
   * Bytes received from and sent to the client: on its own socket (`measured: 'socket'`), or for a
   * client of an edge the payloads of its messages on the link (`'link'`: its commands and what it
   * publishes; the live media it plays is carried once per edge and counted by the edge).
   */
  bytes: { received: number; sent: number; measured: 'socket' | 'link' } | null;
  /** Keys of the live streams it publishes. */
  publishing: string[];
  /** Keys (`scope/name`) of the live streams and recordings it plays. */
  playing: string[];
}

/** `GET /api/streams` → `{ streams: StreamView[] }`. */
export interface StreamView {
  /** `app/room/name`: the hub key, and the path of the stop action. */
  key: string;
  /** The scope it is published (or waited for) in, `app/room`. */
  scope: string;
  name: string;
  published: boolean;
  publishedAt: string | null;
  /** Who publishes it; null while players wait for a publisher. */
  publisher: { clientId: string; via: string | null; address: string; type: string } | null;
  /** From the codec configuration (or, for Flash-era codecs without one, from the frames); null before the first. */
  video: VideoDescription | null;
  audio: AudioDescription | null;
  /** Payload bytes the publisher sent in this publish. */
  bytesIn: number;
  /** Bits per second and video frames per second over the last `rateWindowMs` (see common/media/stream-rates.ts). */
  bitrate: number;
  frameRate: number;
  rateWindowMs: number;
  /** Live plays: of the origin's own clients (`direct`) and, per edge, of that edge's clients (`edges`). */
  viewers: { total: number; direct: number; edges: Record<string, number> };
  /** Being written to a file: a `record`/`append` publish or a room being recorded. */
  recording: boolean;
}

export interface AdminApiSources {
  applications: Applications;
  hub: StreamHub;
  sessions: SessionRegistry;
  recordings: RecordingService;
}

/** A reason an operator gives for a kick or a stop: shown to the client, so short and plain. */
const MAX_REASON_LENGTH = 200;
const DEFAULT_KICK_REASON = 'Disconnected by an administrator.';
const DEFAULT_STOP_REASON = 'Stopped by an administrator.';

/** Percent-decoded path segments; HttpError 400 for bad encoding or empty, `.`, `..` segments. */
function decodedPath(raw: string, what: string): string {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `bad percent-encoding in the ${what}`);
  }
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new HttpError(400, `the ${what} ${JSON.stringify(path)} has an empty, '.' or '..' segment`);
  }
  return path;
}

/** A room path (`app/room`) as a scope; HttpError 400 when it is not one. */
function roomScope(raw: string): Scope {
  try {
    return parseScope(decodedPath(raw, 'room path'));
  } catch (error) {
    if (error instanceof ClientError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** The optional `{ reason }` of an action's body; HttpError 400 when it is not a short text. */
async function actionReason(req: IncomingMessage, fallback: string): Promise<string> {
  const { reason } = await readJson(req, { optional: true });
  if (reason === undefined) return fallback;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON_LENGTH) {
    throw new HttpError(400, `reason must be a text of 1..${MAX_REASON_LENGTH} characters`);
  }
  return reason.trim();
}

function transportBytes(transport: SessionTransport): ClientView['bytes'] {
  if (transport instanceof RtmpConnection) return { received: transport.bytesReceived, sent: transport.bytesSent, measured: 'socket' };
  if (transport instanceof LinkSession) return { received: transport.bytesReceived, sent: transport.bytesSent, measured: 'link' };
  return null;
}

/** The codec of a stream's configuration packet, else of the latest frame's tag byte (codecs without configuration). */
function codecOf<T>(header: { payload: Buffer } | null, tagByte: number | null, describe: (payload: Buffer) => T | null): T | null {
  if (header) return describe(header.payload);
  return tagByte === null ? null : describe(Buffer.of(tagByte));
}

/** What the sessions say about one stream key: its publisher, its live plays, the scope it lives in. */
interface StreamUse {
  scope: string;
  publisher: { session: RtmpSession; netStream: NetStreamSummary } | null;
  direct: number;
  edges: Map<string, number>;
}

export class AdminApi {
  readonly #sources: AdminApiSources;
  readonly #log: Logger;
  readonly #rates = new StreamRates();

  constructor(sources: AdminApiSources, log: Logger) {
    this.#sources = sources;
    this.#log = log;
  }

  /** Adds the admin routes to the origin's HTTP API. */
  mount(http: HttpApi): void {
    const admin = (req: IncomingMessage) => http.caller(req, 'admin.api');
    http.route('GET', /^\/api\/rooms$/, async (req, res) => http.json(res, 200, { rooms: this.rooms(await admin(req)) }));
    http.route('GET', /^\/api\/clients$/, async (req, res) => http.json(res, 200, { clients: this.clients(await admin(req)) }));
    http.route('GET', /^\/api\/streams$/, async (req, res) => http.json(res, 200, { streams: this.streams(await admin(req)) }));
    http.route('POST', /^\/api\/clients\/([^/]+)\/kick$/, async (req, res, match) => {
      const caller = await admin(req);
      if (!/^\d{1,15}$/.test(match[1]!)) throw new HttpError(400, `a client id is a number, got ${JSON.stringify(match[1])}`);
      const reason = await actionReason(req, DEFAULT_KICK_REASON);
      http.json(res, 200, await this.kick(caller, Number(match[1]), reason));
    });
    http.route('POST', /^\/api\/streams\/(.+)\/stop$/, async (req, res, match) => {
      const caller = await admin(req);
      const key = decodedPath(match[1]!, 'stream key');
      const reason = await actionReason(req, DEFAULT_STOP_REASON);
      http.json(res, 200, this.stopStream(caller, key, reason));
    });
    http.route('POST', /^\/api\/rooms\/(.+)\/recording\/(start|stop)$/, async (req, res, match) => {
      const caller = await admin(req);
      const scope = roomScope(match[1]!);
      if (match[2] === 'start') {
        const { status, body } = await this.startRecording(caller, scope);
        http.json(res, status, body);
      } else {
        http.json(res, 200, await this.stopRecording(caller, scope));
      }
    });
  }

  rooms(caller: Identity): RoomView[] {
    const views: RoomView[] = [];
    for (const app of this.#sources.applications.all()) {
      for (const room of app.rooms()) {
        if (!caller.covers(room.path)) continue;
        views.push({
          path: room.path,
          app: room.application,
          room: room.name,
          clients: room.clientCount,
          streams: room.clients().flatMap((client) => room.streamsOf(client).map((name) => `${room.path}/${name}`)).sort(),
          recording: this.#sources.recordings.isRoomRecording(room.path),
        });
      }
    }
    return views.sort((a, b) => a.path.localeCompare(b.path));
  }

  clients(caller: Identity): ClientView[] {
    const views: ClientView[] = [];
    for (const { session, protocol } of this.#sources.sessions.values()) {
      const { scope, client } = session;
      if (!scope || !client || !caller.covers(scope.path)) continue;
      const identity = session.identity;
      const netStreams = session.netStreams();
      views.push({
        id: client.id,
        app: scope.application,
        room: scope.room,
        protocol,
        via: client.via,
        address: client.remoteAddress,
        port: session.connection.remotePort,
        role: identity?.role ?? null,
        name: this.#sources.applications.get(scope.application)?.displayName(client) ?? null,
        sub: identity?.sub ?? null,
        auth: identity?.source ?? null,
        connectedAt: new Date(session.connectedAt).toISOString(),
        bytes: transportBytes(session.connection),
        publishing: netStreams.filter((s) => s.kind === 'publish').map((s) => s.key),
        playing: netStreams.filter((s) => s.kind !== 'publish').map((s) => s.key),
      });
    }
    return views.sort((a, b) => Number(a.id) - Number(b.id));
  }

  streams(caller: Identity): StreamView[] {
    const uses = this.#streamUses();
    const views: StreamView[] = [];
    for (const stream of this.#sources.hub.streams()) {
      const use = uses.get(stream.key);
      const scope = use?.scope ?? stream.key.slice(0, Math.max(0, stream.key.lastIndexOf('/')));
      if (!caller.covers(scope)) continue;
      views.push(this.#streamView(stream, scope, use));
    }
    return views.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Disconnects a client (see RtmpSession.kick); resolves once it is gone. */
  async kick(caller: Identity, id: number, reason: string): Promise<{ id: string; reason: string }> {
    const session = this.#sources.sessions.get(id)?.session;
    if (!session?.scope || !session.client) throw new HttpError(404, `no client ${id}`);
    this.#require(caller, session.scope.path);
    this.#log.info('admin: client disconnected', { client: id, scope: session.scope.path, via: session.client.via ?? undefined, reason, ...caller.describe() });
    await session.kick(reason);
    return { id: String(id), reason };
  }

  /** Stops the publisher of a live stream (see RtmpSession.stopPublishing); the stream's players wait for the next one. */
  stopStream(caller: Identity, key: string, reason: string): { key: string; clientId: string; reason: string } {
    const publisher = this.#streamUses().get(key)?.publisher;
    if (!publisher) throw new HttpError(404, `no stream ${key} is published`);
    const scope = publisher.session.scope!.path;
    this.#require(caller, scope);
    this.#log.info('admin: stream stopped', { stream: key, client: publisher.session.id, reason, ...caller.describe() });
    publisher.session.stopPublishing(key, reason);
    return { key, clientId: String(publisher.session.id), reason };
  }

  /** Starts recording a room that exists: 201 with the recording, 200 when it was being recorded already. */
  async startRecording(caller: Identity, scope: Scope): Promise<{ status: 200 | 201; body: Record<string, unknown> }> {
    this.#require(caller, scope.path);
    if (!this.#roomExists(scope)) throw new HttpError(404, `no room ${scope.path} (a room exists while clients are in it)`);
    const recordings = this.#sources.recordings;
    const already = recordings.isRoomRecording(scope.path);
    const info = await recordings.startRoom(scope.path, caller.sub ?? caller.role);
    if (!already) this.#log.info('admin: room recording started', { room: scope.path, ...caller.describe() });
    return { status: already ? 200 : 201, body: { ...info, manifest: recordings.store.relative(info.manifest) } };
  }

  /** Stops a room's recording; its files and manifest are finished when this answers. 409 when it is not being recorded. */
  async stopRecording(caller: Identity, scope: Scope): Promise<Record<string, unknown>> {
    this.#require(caller, scope.path);
    const recordings = this.#sources.recordings;
    if (!recordings.isRoomRecording(scope.path)) {
      if (!this.#roomExists(scope)) throw new HttpError(404, `no room ${scope.path}`);
      throw new HttpError(409, `${scope.path} is not being recorded`);
    }
    const info = await recordings.stopRoom(scope.path);
    if (!info) throw new HttpError(409, `${scope.path} is not being recorded`);
    this.#log.info('admin: room recording stopped', { room: scope.path, ...caller.describe() });
    return { ...info, manifest: recordings.store.relative(info.manifest) };
  }

  #roomExists(scope: Scope): boolean {
    return this.#sources.applications.get(scope.application)?.room(scope.room) !== undefined;
  }

  /** 403 unless the caller's token covers `scopePath` (an admin token covers every room). */
  #require(caller: Identity, scopePath: string): void {
    if (!caller.covers(scopePath)) throw new HttpError(403, `this token is for ${caller.room}, not ${scopePath}`);
  }

  /** Publishers and live plays of every stream key, from the sessions' NetStreams. */
  #streamUses(): Map<string, StreamUse> {
    const uses = new Map<string, StreamUse>();
    for (const { session } of this.#sources.sessions.values()) {
      const scope = session.scope;
      if (!scope) continue;
      for (const netStream of session.netStreams()) {
        if (netStream.kind === 'vod') continue;
        let use = uses.get(netStream.key);
        if (!use) uses.set(netStream.key, (use = { scope: scope.path, publisher: null, direct: 0, edges: new Map() }));
        if (netStream.kind === 'publish') use.publisher = { session, netStream };
        else if (session.connection.via === null) use.direct++;
        else use.edges.set(session.connection.via, (use.edges.get(session.connection.via) ?? 0) + 1);
      }
    }
    return uses;
  }

  #streamView(stream: LiveStream, scope: string, use: StreamUse | undefined): StreamView {
    const publisher = use?.publisher ?? null;
    const rate = this.#rates.read(stream);
    const edges = Object.fromEntries([...use?.edges ?? []].sort(([a], [b]) => a.localeCompare(b)));
    const direct = use?.direct ?? 0;
    const recordedAsType = publisher !== null && publisher.netStream.type !== 'live';
    return {
      key: stream.key,
      scope,
      name: stream.key.slice(scope.length + 1),
      published: stream.isPublished,
      publishedAt: stream.isPublished ? new Date(stream.publishedAt).toISOString() : null,
      publisher: publisher && {
        clientId: String(publisher.session.id),
        via: publisher.session.connection.via,
        address: publisher.session.connection.remoteAddress,
        type: publisher.netStream.type ?? 'live',
      },
      video: stream.isPublished ? codecOf(stream.videoHeader, stream.videoTagByte, describeVideo) : null,
      audio: stream.isPublished ? codecOf(stream.audioHeader, stream.audioTagByte, describeAudio) : null,
      bytesIn: stream.isPublished ? stream.bytesIn : 0,
      bitrate: rate.bitrate,
      frameRate: rate.frameRate,
      rateWindowMs: rate.windowMs,
      viewers: { total: direct + Object.values(edges).reduce((sum, n) => sum + n, 0), direct, edges },
      recording: stream.isPublished && (recordedAsType || this.#sources.recordings.isRoomRecording(scope)),
    };
  }
}
