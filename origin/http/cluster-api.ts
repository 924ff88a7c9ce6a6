/**
 * The cluster's view on an origin's HTTP API in cluster mode (`--cluster`): `GET /api/cluster/origins`
 * (the live origins with their link address, rooms and reported load) and `GET /api/cluster/rooms`
 * (every room placed, with its owner; null once the owner's lease is gone, until the room's next use
 * places it again), and `GET /api/cluster/recordings[?room=APP/ROOM]` (the room recording
 * sessions of the cluster that ended (stopped, or cut short by a crash and published at the restart), each with the origin whose disk holds its files and whether that origin is
 * alive: a dead origin's recordings stay listed; with `room`, that room's manifest across origins, its
 * sessions in start order). Any origin of the cluster answers for all of it, from the Redis directory.
 * Operators' routes: they need the `admin.api` right for every room (the admin token), as /api/edges.
 */
import type { IncomingMessage } from 'node:http';
import type { LiveOrigin } from '../cluster/origin-directory.ts';
import type { OriginCluster } from '../cluster/origin-cluster.ts';
import { HttpError, type HttpApi } from './http-api.ts';

/** A live origin as the API shows it. */
export interface ClusterOriginView {
  originId: string;
  leaseId: string;
  linkAddress: string;
  rooms: number;
  load: LiveOrigin['load'];
  /** This is the origin answering. */
  self: boolean;
}

/** `GET /api/cluster/rooms` → `{ rooms: ClusterRoomView[] }`. */
export interface ClusterRoomView {
  /** `application/room`. */
  room: string;
  /** The owner's origin id and lease; null when the owner is gone. */
  owner: { originId: string; leaseId: string; linkAddress: string } | null;
}

/** `GET /api/cluster/recordings` → `{ recordings: ClusterRecordingView[] }`. */
export interface ClusterRecordingView {
  room: string;
  /** The session's manifest in its origin's recordings folder. */
  manifest: string;
  /** The origin id whose disk holds the files (they cannot move). */
  origin: string;
  /** That origin holds a live lease now (its files can be fetched from it). */
  alive: boolean;
  startedAt: string;
  /** Null for a session its origin's crash cut short. */
  stoppedAt: string | null;
  by: string | null;
  /** The session's files (paths relative to that origin's recordings folder). */
  files: Array<{ stream: string; file: string | null; startedAt: string; offsetMs: number; durationMs: number | null; failed: boolean }>;
}

export class ClusterApi {
  readonly #cluster: OriginCluster;

  constructor(cluster: OriginCluster) {
    this.#cluster = cluster;
  }

  mount(http: HttpApi): void {
    const operator = async (req: IncomingMessage): Promise<void> => {
      const caller = await http.caller(req, 'admin.api');
      if (caller.room !== '*') throw new HttpError(403, `the cluster carries every room: its view needs a token for every room ('*'), not ${caller.room}`);
    };
    http.route('GET', /^\/api\/cluster\/origins$/, async (req, res) => {
      await operator(req);
      const self = this.#cluster.directory.self?.leaseId;
      const origins: ClusterOriginView[] = (await this.#cluster.origins()).map(({ originId, leaseId, linkAddress, rooms, load }) =>
        ({ originId, leaseId, linkAddress, rooms, load, self: leaseId === self }));
      http.json(res, 200, { origins });
    });
    http.route('GET', /^\/api\/cluster\/rooms$/, async (req, res) => {
      await operator(req);
      const rooms: ClusterRoomView[] = (await this.#cluster.placements()).map(({ roomKey, owner }) =>
        ({ room: roomKey, owner: owner && { originId: owner.originId, leaseId: owner.leaseId, linkAddress: owner.linkAddress } }));
      rooms.sort((a, b) => a.room.localeCompare(b.room));
      http.json(res, 200, { rooms });
    });
    http.route('GET', /^\/api\/cluster\/recordings$/, async (req, res) => {
      await operator(req);
      const room = new URL(req.url ?? '/', 'http://origin').searchParams.get('room');
      const [sessions, origins] = await Promise.all([this.#cluster.recordingSessions(room), this.#cluster.origins()]);
      const alive = new Set(origins.map((origin) => origin.originId));
      const recordings: ClusterRecordingView[] = sessions.map(({ path, origin, manifest }) => ({
        room: manifest.room, manifest: path, origin, alive: alive.has(origin),
        startedAt: manifest.startedAt, stoppedAt: manifest.stoppedAt, by: manifest.by,
        files: manifest.files.map(({ stream, file, startedAt, offsetMs, durationMs, failed }) => ({ stream, file, startedAt, offsetMs, durationMs, failed })),
      }));
      http.json(res, 200, { recordings });
    });
  }
}
