/**
 * The origin's registry of edges, by name: who is linked, from where, since when, its clients,
 * the streams its link carries and those its clients publish, link round-trip time, its last
 * load report, and whether it is healthy. The HTTP API exposes it (`GET /api/edges`, admin token) and answers
 * "which edge should this client use" (`GET /api/edges/pick`: the least loaded healthy edge that
 * is not draining; an edge that stops says so in a Load report before its clients leave).
 * A name is held by one link at a time: a second edge with the same name is refused.
 */
import type { Applications } from '../app/applications.ts';
import { HttpError, type HttpApi } from '../http/http-api.ts';
import type { EdgeDirectory, EdgeLink } from './edge-link.ts';

export interface EdgeRegistryOptions {
  /** The links' ping interval: an edge is healthy with a Pong within three of them. */
  pingIntervalMs: number;
  /** To find the streams an edge's clients publish (rooms know their publishers). */
  applications: Applications;
  applicationNames: readonly string[];
}

export interface EdgeInfo {
  name: string;
  address: string;
  connectedAt: string;
  /** Load-balancing figure: the edge's own client count when it reports one, else its sessions on the link. */
  clients: number;
  /** Client sessions the edge runs on this origin. */
  sessions: number;
  streams: { subscribed: string[]; published: string[] };
  rttMs: number | null;
  healthy: boolean;
  /** The edge is stopping (its last Load report said so): linked still, but no new user is sent there. */
  draining: boolean;
  publicUrl: string | null;
  load: Record<string, unknown> | null;
  loadAt: string | null;
}

export class EdgeRegistry implements EdgeDirectory {
  readonly #options: EdgeRegistryOptions;
  readonly #edges = new Map<string, EdgeLink>();

  constructor(options: EdgeRegistryOptions) {
    this.#options = options;
  }

  get size(): number { return this.#edges.size; }

  /** The linked edges' links (metrics read their round-trip time, backlog and bytes). */
  links(): IterableIterator<EdgeLink> {
    return this.#edges.values();
  }

  register(link: EdgeLink): string | null {
    const holder = this.#edges.get(link.edgeName);
    if (holder && holder !== link) return `an edge named ${link.edgeName} is already linked (from ${holder.address}); edge names must be unique`;
    this.#edges.set(link.edgeName, link);
    return null;
  }

  unregister(link: EdgeLink): void {
    if (this.#edges.get(link.edgeName) === link) this.#edges.delete(link.edgeName);
  }

  /** Authenticated, and a Pong within three ping intervals (or linked for less than that). */
  healthy(link: EdgeLink, now = Date.now()): boolean {
    const heardAt = Math.max(link.lastPongAt, link.authenticatedAt);
    return link.authenticated && now - heardAt <= 3 * this.#options.pingIntervalMs;
  }

  list(): EdgeInfo[] {
    return [...this.#edges.values()].map((link) => this.#info(link));
  }

  /** The least loaded healthy edge that is not draining: fewest clients, then lowest round-trip time; null when none. */
  pick(): EdgeInfo | null {
    const healthy = this.list().filter((edge) => edge.healthy && !edge.draining);
    healthy.sort((a, b) => a.clients - b.clients || (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || a.name.localeCompare(b.name));
    return healthy[0] ?? null;
  }

  /**
   * Adds the registry's routes to the origin's HTTP API. The listing (addresses, every room's stream
   * keys, load) is the operator's: it needs the `admin.api` right for every room (the admin token).
   * The pick stays open: it is what a page or a player asks before it joins, to learn where to go
   * (Flash clients and plain players cannot send a header, and a room's token is no business of the
   * infrastructure's), and it answers only what a client learns anyway by being sent there (an edge's
   * name and public URL) and its load figures; no room, stream, address or user.
   */
  mount(http: HttpApi): void {
    http.route('GET', /^\/api\/edges$/, async (req, res) => {
      const caller = await http.caller(req, 'admin.api');
      if (caller.room !== '*') throw new HttpError(403, `edges carry every room: listing them needs a token for every room ('*'), not ${caller.room}`);
      http.json(res, 200, { edges: this.list() });
    });
    http.route('GET', /^\/api\/edges\/pick$/, (_req, res) => {
      const edge = this.pick();
      if (!edge) throw new HttpError(503, 'no healthy edge that takes new users is linked to this origin');
      http.json(res, 200, { name: edge.name, publicUrl: edge.publicUrl, clients: edge.clients, rttMs: edge.rttMs });
    });
  }

  #info(link: EdgeLink): EdgeInfo {
    const load = link.load;
    const reported = load?.clients;
    const publicUrl = load?.publicUrl;
    return {
      name: link.edgeName,
      address: link.address,
      connectedAt: link.connectedAt.toISOString(),
      clients: typeof reported === 'number' && Number.isFinite(reported) ? reported : link.sessionCount,
      sessions: link.sessionCount,
      streams: { subscribed: link.relay.streamKeys(), published: this.#publishedVia(link.edgeName) },
      rttMs: link.rttMs,
      healthy: this.healthy(link),
      draining: load?.draining === true,
      publicUrl: typeof publicUrl === 'string' ? publicUrl : null,
      load,
      loadAt: link.loadAt ? new Date(link.loadAt).toISOString() : null,
    };
  }

  /** Stream keys published by clients that came through this edge. */
  #publishedVia(edgeName: string): string[] {
    const keys: string[] = [];
    for (const name of this.#options.applicationNames) {
      for (const room of this.#options.applications.get(name)?.rooms() ?? []) {
        for (const client of room.clients()) {
          if (client.via === edgeName) keys.push(...room.streamsOf(client).map((stream) => `${room.path}/${stream}`));
        }
      }
    }
    return keys;
  }
}
