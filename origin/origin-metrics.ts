/**
 * The origin's Prometheus metrics (`classroom_origin_*`), in the process's registry
 * (common/metrics/registry.ts) and served at `/metrics` on the origin's HTTP port. Everything is read
 * at scrape time from what the origin already keeps (rooms, the stream hub, the edge registry, the
 * recording service, the process's delivery totals); only rare events are counted as they happen
 * (connect, access, shared object and edge refusals, connections and edge links closed for a reason,
 * failed client calls, shared object changes). Labels are bounded: application names come from
 * `--apps`, edge names from the linked edges, refusal reasons from a fixed set of codes; stream and
 * user names never appear.
 */
import { RtmpConnection } from '#common/rtmp-connection.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import { deliveryTotals } from '#common/metrics/delivery-totals.ts';
import { EventCounter, MetricGroup, type Sample } from '#common/metrics/registry.ts';
import { ConnectionTotals } from '#common/metrics/connection-totals.ts';
import { closeReasonCode, closedConnectionsCounter, countCloses } from '#common/metrics/close-reasons.ts';
import type { Applications } from './app/applications.ts';
import type { StreamHub } from './core/stream-hub.ts';
import type { EdgeLink } from './link/edge-link.ts';
import type { EdgeRegistry } from './link/edge-registry.ts';
import type { RecordingService } from './recording/recording-service.ts';
import { addDirectoryMetrics } from './cluster/directory-metrics.ts';
import type { LiveOrigin } from './cluster/origin-directory.ts';
import type { OriginCluster } from './cluster/origin-cluster.ts';

/** The LiveDelivery labels of the origin's consumers (origin/session/player.ts, origin/link/link-subscription.ts). */
const PLAYER_DELIVERIES = 'player';
const LINK_DELIVERIES = 'link subscription';

/** A reason code as a label value: codes are constants in the code; anything else is `other`. */
const REASON_CODE = /^[a-z][a-z0-9_.]{0,47}$/;
/** Protocol names an edge reports in its Load report ('rtmp', 'ws-flv', 'whep', ...). */
const PROTOCOL_NAME = /^[a-z0-9-]{1,32}$/;
const MAX_PROTOCOLS_PER_EDGE = 32;

const connectRefusals = new EventCounter<'reason'>({
  name: 'classroom_origin_connect_refusals_total',
  help: 'Connects refused (NetConnection.Connect.Rejected), by reason code: auth.* from the authorization step, connect.* otherwise.',
  labelNames: ['reason'],
});

const accessRefusals = new EventCounter<'action' | 'reason'>({
  name: 'classroom_origin_access_refusals_total',
  help: 'Publishes, plays and HTTP requests the authorization step refused (connects are in connect_refusals_total), by action and auth.* code.',
  labelNames: ['action', 'reason'],
});

const closedConnections = closedConnectionsCounter('classroom_origin_connections_closed_total', 'The origin\'s own RTMP and RTMPS connections');

const sharedObjectChanges = new EventCounter({
  name: 'classroom_origin_shared_object_changes_total',
  help: 'Shared object changes applied (each change batch or clear is one new version), by clients and applications.',
});

/** Shared object status codes a refusal can carry (origin/shared-objects/registry.ts SharedObjectStatus). */
const SHARED_OBJECT_STATUS = /^SharedObject\.[A-Za-z]{1,40}$/;

const sharedObjectRefusals = new EventCounter<'code'>({
  name: 'classroom_origin_shared_object_refusals_total',
  help: 'Shared object requests refused with a status, by status code (SharedObject.SizeLimit, SharedObject.RateLimit, SharedObject.BadMessage, SharedObject.NoWriteAccess, ...).',
  labelNames: ['code'],
});

const clientCalls = new EventCounter<'outcome'>({
  name: 'classroom_origin_client_calls_failed_total',
  help: 'Calls the server made to a client that got no answer in time (outcome=timed_out, callTimeoutMs) and calls from clients refused because their arguments were malformed AMF (outcome=malformed).',
  labelNames: ['outcome'],
});

/** Why the link listener refused an edge. */
export type EdgeRefusalCode = 'unsupported_version' | 'bad_name' | 'wrong_secret' | 'name_in_use';

const edgeRefusals = new EventCounter<'reason'>({
  name: 'classroom_origin_edge_refusals_total',
  help: 'Edges refused at the link\'s handshake (AuthFailed), by reason: unsupported_version, bad_name, wrong_secret, name_in_use.',
  labelNames: ['reason'],
});

/** Why the origin refused a client before it had a session: its RTMP ports, or a session an edge opened. */
export type ClientRefusalCode = 'max_connections' | 'max_sessions_per_edge';

const clientRefusals = new EventCounter<'via' | 'reason'>({
  name: 'classroom_origin_client_refusals_total',
  help: 'Clients the origin refused before a session was made, by how they came (via: rtmp for its own ports, link for sessions an edge opened) and reason: max_connections (the origin holds maxConnections clients, direct and through edges together), max_sessions_per_edge (that edge holds maxSessionsPerEdge).',
  labelNames: ['via', 'reason'],
});

/** Counts a client refused by the origin's global or per-edge limit. */
export function countClientRefusal(via: 'rtmp' | 'link', reason: ClientRefusalCode): void {
  clientRefusals.inc({ via, reason });
}

const edgeLinkCloses = closedConnectionsCounter('classroom_origin_edge_link_closes_total', 'Edge links');

/**
 * The code of a connect refusal that came without one, from the reasons the origin itself gives;
 * an application's own reason (ConnectRejectedError) is `connect.rejected`.
 */
export function connectRefusalCode(reason: string): string {
  if (reason.startsWith('Invalid application path')) return 'connect.bad_path';
  if (reason.startsWith('Unknown application')) return 'connect.unknown_application';
  if (reason.startsWith('Internal error')) return 'connect.internal_error';
  if (reason === 'The server is shutting down.') return 'connect.shutting_down';
  return 'connect.rejected';
}

/** Counts a refused connect: by its code (e.g. an AccessDeniedError's), else by the origin's own reason. */
export function countConnectRefusal(reason: string, code?: string): void {
  const label = code ?? connectRefusalCode(reason);
  connectRefusals.inc({ reason: REASON_CODE.test(label) ? label : 'other' });
}

/** Counts a publish, play or HTTP request refused by the authorization step. */
export function countAccessRefusal(action: 'publish' | 'play' | 'http', code: string): void {
  accessRefusals.inc({ action, reason: REASON_CODE.test(code) ? code : 'other' });
}

/** Counts a shared object request refused with `code` (a SharedObject.* status). */
export function countSharedObjectRefusal(code: string): void {
  sharedObjectRefusals.inc({ code: SHARED_OBJECT_STATUS.test(code) ? code : 'other' });
}

/** Counts a server-to-client call that timed out, or a client call refused for malformed arguments. */
export function countFailedClientCall(outcome: 'timed_out' | 'malformed'): void {
  clientCalls.inc({ outcome });
}

/** Counts an edge refused at the link's handshake. */
export function countEdgeRefusal(reason: EdgeRefusalCode): void {
  edgeRefusals.inc({ reason });
}

/** Counts an edge link the origin closed for `reason` (a link protocol violation, a timeout, a backlog over its limit). */
export function countEdgeLinkClose(reason: string): void {
  edgeLinkCloses.inc({ reason: closeReasonCode(reason) });
}

/** Counts one shared object change (a listener of SharedObject's `modified`). */
export function countSharedObjectChange(): void {
  sharedObjectChanges.inc();
}

export interface OriginMetricSources {
  applicationNames: readonly string[];
  applications: Applications;
  hub: StreamHub;
  edges: EdgeRegistry;
  recordings: RecordingService;
}

/** The application a stream key (`app/room/name`) or scope path belongs to. */
function applicationOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash);
}

export class OriginMetrics {
  readonly #group = new MetricGroup();
  /** The origin's own RTMP and RTMPS connections (clients of edges come over the edge links). */
  readonly #connections = new ConnectionTotals();
  readonly #edges: EdgeRegistry;

  constructor(sources: OriginMetricSources) {
    const { applicationNames, applications, hub, edges, recordings } = sources;
    this.#edges = edges;
    const group = this.#group;
    const perApplication = <T>(count: (app: string) => T) => applicationNames.map((app) => [app, count(app)] as const);
    const rooms = (app: string) => applications.get(app)?.rooms() ?? [];

    group.gauge({ name: 'classroom_origin_direct_connections', help: 'RTMP and RTMPS connections to the origin\'s own ports, open now.' }, () => this.#connections.live);
    group.counter({ name: 'classroom_origin_rtmp_bytes_received_total', help: 'Bytes received from the origin\'s own RTMP and RTMPS connections.' }, () => this.#connections.totals().bytesReceived);
    group.counter({ name: 'classroom_origin_rtmp_bytes_sent_total', help: 'Bytes sent to the origin\'s own RTMP and RTMPS connections.' }, () => this.#connections.totals().bytesSent);

    group.gauge({ name: 'classroom_origin_clients', help: 'Clients connected to an application (accepted), directly or through an edge.', labelNames: ['application', 'via'] }, () => {
      const samples: Sample<'application' | 'via'>[] = [];
      for (const [application, list] of perApplication(rooms)) {
        let direct = 0;
        let edge = 0;
        for (const room of list) for (const client of room.clients()) client.via === null ? direct++ : edge++;
        samples.push([{ application, via: 'direct' }, direct], [{ application, via: 'edge' }, edge]);
      }
      return samples;
    });
    group.gauge({ name: 'classroom_origin_rooms', help: 'Rooms with clients (the application scope itself counts as one).', labelNames: ['application'] },
      () => perApplication((app) => rooms(app).length).map(([application, count]) => [{ application }, count]));
    group.gauge({ name: 'classroom_origin_publishers', help: 'Streams published now, by application and by where the publisher connected.', labelNames: ['application', 'via'] }, () => {
      const samples: Sample<'application' | 'via'>[] = [];
      for (const [application, list] of perApplication(rooms)) {
        let direct = 0;
        let edge = 0;
        for (const room of list) {
          for (const client of room.clients()) {
            const published = room.streamsOf(client).length;
            if (client.via === null) direct += published;
            else edge += published;
          }
        }
        samples.push([{ application, via: 'direct' }, direct], [{ application, via: 'edge' }, edge]);
      }
      return samples;
    });
    group.gauge({ name: 'classroom_origin_live_streams', help: 'Live streams in the origin\'s hub: published, or waiting for a publisher with players already there.', labelNames: ['application', 'state'] }, () => {
      const counts = new Map<string, number>();
      for (const stream of hub.streams()) {
        const key = `${applicationOf(stream.key)}\0${stream.isPublished ? 'published' : 'waiting'}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...counts].map(([key, count]) => {
        const [application, state] = key.split('\0') as [string, string];
        return [{ application, state }, count];
      });
    });
    group.gauge({ name: 'classroom_origin_players', help: 'Live players (NetStreams playing) of the origin\'s clients, direct or through an edge.' }, () => deliveryTotals.of(PLAYER_DELIVERIES).live);
    group.gauge({ name: 'classroom_origin_link_subscriptions', help: 'Live streams carried to edges (one per stream per edge).' }, () => deliveryTotals.of(LINK_DELIVERIES).live);

    // Media deliveries: to the origin's direct players (edge clients get theirs from their edge) and down the links.
    const consumers = [['player', PLAYER_DELIVERIES], ['link', LINK_DELIVERIES]] as const;
    const delivered = (field: 'packetsSent' | 'bytesSent' | 'packetsDropped' | 'bytesDropped' | 'dropEpisodes') => () =>
      consumers.map(([consumer, kind]) => [{ consumer }, deliveryTotals.of(kind).totals()[field]] as const);
    group.counter({ name: 'classroom_origin_media_bytes_sent_total', help: 'Media payload bytes delivered, to direct players (consumer=player) and down edge links (consumer=link).', labelNames: ['consumer'] }, delivered('bytesSent'));
    group.counter({ name: 'classroom_origin_media_frames_sent_total', help: 'Media messages delivered, by consumer.', labelNames: ['consumer'] }, delivered('packetsSent'));
    group.counter({ name: 'classroom_origin_media_frames_dropped_total', help: 'Media messages dropped for a consumer that did not keep up (and the video after it until a keyframe).', labelNames: ['consumer'] }, delivered('packetsDropped'));
    group.counter({ name: 'classroom_origin_media_bytes_dropped_total', help: 'Media payload bytes dropped, by consumer.', labelNames: ['consumer'] }, delivered('bytesDropped'));
    group.counter({ name: 'classroom_origin_media_drop_episodes_total', help: 'Times a consumer\'s backlog passed its limit (each one a stall of a player or of a link).', labelNames: ['consumer'] }, delivered('dropEpisodes'));

    // Edge links, per linked edge (names are the operator's; a link that reconnects starts its byte counts again).
    const perEdge = (value: (link: EdgeLink) => number | null) => () => {
      const samples: Sample<'edge'>[] = [];
      for (const link of edges.links()) {
        const v = value(link);
        if (v !== null) samples.push([{ edge: link.edgeName }, v]);
      }
      return samples;
    };
    group.gauge({ name: 'classroom_origin_edges', help: 'Edges linked to this origin.' }, () => edges.size);
    group.gauge({ name: 'classroom_origin_link_rtt_seconds', help: 'Round-trip time of each edge link\'s last ping.', labelNames: ['edge'] }, perEdge((link) => (link.rttMs === null ? null : link.rttMs / 1000)));
    group.gauge({ name: 'classroom_origin_link_backlog_bytes', help: 'Bytes written to each edge link and not yet taken by the edge.', labelNames: ['edge'] }, perEdge((link) => link.backlogBytes));
    group.gauge({ name: 'classroom_origin_link_sessions', help: 'Client sessions each edge runs on this origin.', labelNames: ['edge'] }, perEdge((link) => link.sessionCount));
    group.counter({ name: 'classroom_origin_link_bytes_received_total', help: 'Bytes received on each edge link.', labelNames: ['edge'] }, perEdge((link) => link.bytesIn));
    group.counter({ name: 'classroom_origin_link_bytes_sent_total', help: 'Bytes sent on each edge link.', labelNames: ['edge'] }, perEdge((link) => link.bytesOut));
    group.gauge({ name: 'classroom_origin_edge_clients', help: 'Clients of each edge by protocol, from the edge\'s last Load report.', labelNames: ['edge', 'protocol'] }, () => {
      const samples: Sample<'edge' | 'protocol'>[] = [];
      for (const link of edges.links()) {
        const protocols = link.load?.protocols;
        if (typeof protocols !== 'object' || protocols === null) continue;
        const entries = Object.entries(protocols).filter(([name, count]) => PROTOCOL_NAME.test(name) && typeof count === 'number' && Number.isFinite(count));
        for (const [protocol, count] of entries.slice(0, MAX_PROTOCOLS_PER_EDGE)) samples.push([{ edge: link.edgeName, protocol }, count as number]);
      }
      return samples;
    });

    group.gauge({ name: 'classroom_origin_recordings_open', help: 'Recordings being written now (streams recorded on their own or as part of a room).' }, () => recordings.stats.open);
    group.gauge({ name: 'classroom_origin_room_recordings', help: 'Rooms being recorded now.' }, () => recordings.stats.rooms);
    group.counter({ name: 'classroom_origin_recording_bytes_written_total', help: 'Bytes written to recordings.' }, () => recordings.stats.bytesWritten);
    group.counter({ name: 'classroom_origin_recordings_started_total', help: 'Recordings started (a file opened for a stream).' }, () => recordings.stats.started);
    group.counter({ name: 'classroom_origin_recordings_finished_total', help: 'Recordings finished with their final metadata (failed ones are in recording_failures_total).' }, () => recordings.stats.finished);
    group.counter({ name: 'classroom_origin_recordings_repaired_total', help: 'Unfinished recordings (left by a crash) repaired when the origin started.' }, () => recordings.stats.repaired);
    group.counter({ name: 'classroom_origin_recording_failures_total', help: 'Recordings that failed (write error, disk full, a disk too slow for the stream).' }, () => recordings.stats.failures);

    group.add(closedConnections);
    group.add(sharedObjectChanges);
    group.add(sharedObjectRefusals);
    group.add(clientCalls);
    group.add(edgeRefusals);
    group.add(clientRefusals);
    group.add(edgeLinkCloses);
    group.add(connectRefusals);
    group.add(accessRefusals);
  }

  /** A new session's transport: the origin's own connections are counted (edge link sessions have their link's figures). */
  track(transport: SessionTransport): void {
    if (transport instanceof RtmpConnection) {
      this.#connections.track(transport);
      countCloses(transport, closedConnections);
    }
  }

  /** Bytes received so far from the origin's own connections and its edge links now open (the cluster's bitrate figure). */
  bytesReceived(): number {
    let linkBytes = 0;
    for (const link of this.#edges.links()) linkBytes += link.bytesIn;
    return this.#connections.totals().bytesReceived + linkBytes;
  }

  /**
   * Cluster mode: the directory's health (addDirectoryMetrics) and the cluster as the directory last
   * listed it (every second): each live origin's rooms and reported load, by origin id.
   */
  addCluster(cluster: OriginCluster): void {
    const directory = cluster.directory;
    addDirectoryMetrics(this.#group, directory);
    this.#group.counter({ name: 'classroom_cluster_rooms_released_total', help: 'Rooms that ended here and whose placement this origin let go after the grace (--cluster-room-grace-ms).' },
      () => cluster.releasedRooms);
    const perOrigin = (value: (origin: LiveOrigin) => number) => (): Sample<'origin'>[] =>
      directory.knownOrigins().map((origin) => [{ origin: origin.originId }, value(origin)] as const);
    this.#group.gauge({ name: 'classroom_cluster_origins', help: 'Live origins in the cluster (leases in the directory).' }, () => directory.knownOrigins().length);
    this.#group.gauge({ name: 'classroom_cluster_origin_rooms', help: 'Rooms placed on each live origin of the cluster.', labelNames: ['origin'] }, perOrigin((o) => o.rooms));
    this.#group.gauge({ name: 'classroom_cluster_origin_clients', help: 'Clients of each live origin, as its lease reports.', labelNames: ['origin'] }, perOrigin((o) => o.load.clients));
    this.#group.gauge({ name: 'classroom_cluster_origin_streams', help: 'Live streams of each live origin, as its lease reports.', labelNames: ['origin'] }, perOrigin((o) => o.load.streams));
    this.#group.gauge({ name: 'classroom_cluster_origin_bitrate_bps', help: 'Bits per second each live origin receives, as its lease reports.', labelNames: ['origin'] }, perOrigin((o) => o.load.bitrateBps));
    this.#group.gauge({ name: 'classroom_cluster_origin_cpu', help: 'CPU (cores) each live origin uses, as its lease reports.', labelNames: ['origin'] }, perOrigin((o) => o.load.cpu));
  }

  close(): void {
    this.#group.close();
  }
}
