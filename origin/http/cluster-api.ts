/**
 * The cluster's view on an origin's HTTP API in cluster mode (`--cluster`): `GET /api/cluster/origins`
 * (the live origins with their link address, rooms and reported load) and `GET /api/cluster/rooms`
 * (every room placed, with its owner; null once the owner's lease is gone, until the room's next use
 * places it again). Any origin of the cluster answers for all of it, from the Redis directory.
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
  }
}
