/**
 * The edge's Prometheus metrics (`classroom_edge_*`), in the process's registry
 * (common/metrics/registry.ts) and served at `/metrics` on the edge's HTTP port. Read at scrape time
 * from what the edge already keeps: its session registry (the same counts by protocol as its Load
 * report), its stats (relay, playback, WebRTC), the link, the process's delivery totals; only
 * rare events are counted as they happen (refusals, closes by reason, failed link attempts, held
 * connects, internal errors). Labels are bounded: protocols are the edge's own names,
 * transcoder kinds fixed; stream and user names never appear.
 */
import type { RtmpConnection } from '#common/rtmp-connection.ts';
import { ConnectionTotals } from '#common/metrics/connection-totals.ts';
import { closedConnectionsCounter, countCloses } from '#common/metrics/close-reasons.ts';
import { deliveryTotals } from '#common/metrics/delivery-totals.ts';
import { EventCounter, MetricGroup, type Sample } from '#common/metrics/registry.ts';
import { addClusterRoutingMetrics } from './link/cluster-metrics.ts';
import type { AccessDeniedCode } from '#common/auth/access-denied.ts';
import type { EdgeStats } from './edge.ts';
import type { EdgeTokenRoute } from './http/edge-token-check.ts';
import type { OriginLink } from './link/origin-link.ts';
import type { EdgeLinks } from './link/edge-links.ts';
import type { SessionRegistry } from './session/session-registry.ts';
import type { WebRtcPlayStats } from './webrtc/whep-endpoint.ts';

/** The LiveDelivery label of the edge's players (gateway/relay/relay-player.ts): RTMP clients, FLV viewers, WebRTC feeds. */
const RELAY_DELIVERIES = 'relay player';

const refusals = new EventCounter<'reason'>({
  name: 'classroom_edge_connection_refusals_total',
  help: 'RTMP clients the edge itself refused before asking the origin, by reason (max_connections: the edge was full; draining: it is stopping).',
  labelNames: ['reason'],
});

/** Counts a client the edge refused itself (the origin counts the connects it refuses). */
export function countEdgeRefusal(reason: 'max_connections' | 'draining'): void {
  refusals.inc({ reason });
}

const tokenRefusals = new EventCounter<'protocol' | 'reason'>({
  name: 'classroom_edge_token_refusals_total',
  help: 'Requests on the edge\'s HTTP routes (whip, whep, http-flv, ws-flv, ws join) whose token the edge refused itself, before opening a session on the link, by route and reason (auth.expired, auth.bad_token, auth.wrong_room, auth.forbidden).',
  labelNames: ['protocol', 'reason'],
});

/** Counts a token the edge refused itself (gateway/http/edge-token-check.ts); the origin counts those it refuses. */
export function countEdgeTokenRefusal(protocol: EdgeTokenRoute, reason: AccessDeniedCode): void {
  tokenRefusals.inc({ protocol, reason });
}

const closedConnections = closedConnectionsCounter('classroom_edge_connections_closed_total', 'RTMP, RTMPS and RTMPT client connections of the edge');

const browserCloses = new EventCounter<'reason'>({
  name: 'classroom_edge_browser_closes_total',
  help: 'Browser (WebSocket) connections the edge closed itself, by reason (abuse: too many invalid or over-limit messages, close code 1008; idle: answered no ping within browser.idleTimeoutMs; not_reading: over browser.maxBufferedBytes unsent).',
  labelNames: ['reason'],
});

const viewerCloses = new EventCounter<'protocol' | 'reason'>({
  name: 'classroom_edge_viewer_closes_total',
  help: 'HTTP-FLV and WS-FLV viewers the edge closed itself, by protocol and reason (no_media: nothing to send for flvPublisherWaitMs, nobody publishes; not_reading: over browser.maxBufferedBytes unsent; idle: a WS-FLV socket that answered no ping within browser.idleTimeoutMs).',
  labelNames: ['protocol', 'reason'],
});

/** Why the edge closed a browser's WebSocket or a viewer itself. */
export type BrowserCloseReason = 'abuse' | 'idle' | 'not_reading';

/** Counts an HTTP-FLV or WS-FLV viewer closed by the edge. */
export function countViewerClose(protocol: string, reason: 'no_media' | BrowserCloseReason): void {
  viewerCloses.inc({ protocol, reason });
}

const internalErrors = new EventCounter<'where'>({
  name: 'classroom_edge_internal_errors_total',
  help: 'Bugs caught while handling input (the client concerned gets an error or is closed, the edge carries on), by where: browser_message, link_frame, origin_message (a message from the origin a virtual client could not decode).',
  labelNames: ['where'],
});

const heldConnects = new EventCounter({
  name: 'classroom_edge_connects_held_total',
  help: 'RTMP connects held while the link to the origin was down (answered once it is up, or refused after connectHoldMs).',
});

const linkFailures = new EventCounter<'reason'>({
  name: 'classroom_edge_link_attempt_failures_total',
  help: 'Attempts to link to the origin that failed before the link was up, by reason: refused (AuthFailed: wrong secret, name in use, version), tls (certificate not trusted), unreachable, proof_mismatch, auth_timeout, other.',
  labelNames: ['reason'],
});

/** The label of a failed link attempt's reason (gateway/link/origin-link.ts). */
export function linkFailureCode(reason: string): string {
  if (reason.startsWith('refused: ')) return 'refused';
  if (/certificate|self.signed|SSL|TLS/i.test(reason)) return 'tls';
  if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|connection closed by the origin/.test(reason)) return 'unreachable';
  if (reason === 'origin proof mismatch') return 'proof_mismatch';
  if (reason.startsWith('not authenticated within')) return 'auth_timeout';
  return 'other';
}

/** Counts a connect held for the link. */
export function countHeldConnect(): void {
  heldConnects.inc();
}

/** Counts a browser connection the edge closed itself (abuse, idle, not reading). */
export function countBrowserClose(reason: BrowserCloseReason): void {
  browserCloses.inc({ reason });
}

/** Counts an internal error caught while handling a browser message, a link frame or a message from the origin. */
export function countEdgeInternalError(where: 'browser_message' | 'link_frame' | 'origin_message'): void {
  internalErrors.inc({ where });
}

export interface EdgeMetricSources {
  stats(): EdgeStats;
  webrtc(): WebRtcPlayStats;
  /** WebRTC publishers here and the viewers whose RTP is forwarded from them (gateway/webrtc/local-publishers.ts). */
  forwarding(): { publishers: number; forwardedViewers: number };
  sessions: SessionRegistry;
  /** The link to the origin, or in cluster mode one per live origin. */
  links: EdgeLinks;
}

export class EdgeMetrics {
  readonly #group = new MetricGroup();
  /** RTMP, RTMPS and RTMPT client connections. */
  readonly #connections = new ConnectionTotals();
  #linkConnects = 0;

  constructor(sources: EdgeMetricSources) {
    const { stats, webrtc, forwarding, sessions, links } = sources;
    const group = this.#group;
    const watch = (link: OriginLink): void => {
      link.on('up', () => { this.#linkConnects++; });
      link.on('attemptFailed', (reason) => linkFailures.inc({ reason: linkFailureCode(reason) }));
    };
    for (const link of links.all) watch(link);
    links.on('link', watch);

    group.gauge({ name: 'classroom_edge_clients', help: 'Clients of the edge by protocol (rtmp, rtmps, rtmpt, ws, http-flv, ws-flv, whip, whep, ws-webrtc), as in its Load report.', labelNames: ['protocol'] },
      () => Object.entries(sessions.clientsByProtocol).map(([protocol, count]) => [{ protocol }, count] as const));
    group.gauge({ name: 'classroom_edge_rtmp_connections', help: 'RTMP, RTMPS and RTMPT client connections open now (before and after their connect).' }, () => this.#connections.live);
    group.counter({ name: 'classroom_edge_rtmp_bytes_received_total', help: 'Bytes received from RTMP, RTMPS and RTMPT clients.' }, () => this.#connections.totals().bytesReceived);
    group.counter({ name: 'classroom_edge_rtmp_bytes_sent_total', help: 'Bytes sent to RTMP, RTMPS and RTMPT clients.' }, () => this.#connections.totals().bytesSent);
    group.add(refusals);
    group.add(closedConnections);
    group.add(browserCloses);
    group.add(viewerCloses);
    group.add(heldConnects);
    group.add(linkFailures);
    group.add(internalErrors);
    group.add(tokenRefusals);

    group.gauge({ name: 'classroom_edge_live_streams', help: 'Live streams the link carries to this edge (one copy each, whatever the number of players).' }, () => stats().streams);
    group.gauge({ name: 'classroom_edge_players', help: 'Players of those streams here: RTMP NetStreams, FLV viewers\' and WebRTC feeds\' taps.' }, () => stats().players);
    group.gauge({ name: 'classroom_edge_flv_viewers', help: 'HTTP-FLV and WS-FLV viewers.' }, () => stats().flvViewers);
    group.gauge({ name: 'classroom_edge_webrtc_publishers', help: 'Streams published here over WebRTC (WHIP or the WebSocket channel).' }, () => forwarding().publishers);
    group.gauge({ name: 'classroom_edge_webrtc_viewers', help: 'WebRTC viewers: forwarded RTP from a publisher on this edge (path=forwarded) or fed from a relayed stream (path=feed).', labelNames: ['path'] },
      () => [[{ path: 'forwarded' }, forwarding().forwardedViewers], [{ path: 'feed' }, webrtc().feedViewers]] as const);
    group.gauge({ name: 'classroom_edge_webrtc_feeds', help: 'Relayed streams made ready for WebRTC viewers (one per stream, shared by its viewers).' }, () => webrtc().feeds);

    group.gauge({ name: 'classroom_edge_transcoders', help: 'Transcoders (ffmpeg) running: for FLV viewers (kind=flv), WebRTC video and audio (kind=webrtc_video, webrtc_audio).', labelNames: ['kind'] }, () => {
      const { transcoders } = stats();
      const { videoTranscoders, audioTranscoders } = webrtc();
      return [[{ kind: 'flv' }, transcoders], [{ kind: 'webrtc_video' }, videoTranscoders], [{ kind: 'webrtc_audio' }, audioTranscoders]] as const;
    });
    group.counter({ name: 'classroom_edge_transcoders_started_total', help: 'Transcoders started, by kind.', labelNames: ['kind'] }, () => {
      const { transcodersStarted } = stats();
      const { videoTranscodersStarted, audioTranscodersStarted } = webrtc();
      return [[{ kind: 'flv' }, transcodersStarted], [{ kind: 'webrtc_video' }, videoTranscodersStarted], [{ kind: 'webrtc_audio' }, audioTranscodersStarted]] as const;
    });
    group.counter({ name: 'classroom_edge_transcoders_failed_total', help: 'Transcoders whose ffmpeg died or wrote bad FLV (kind=flv: the FLV viewers\' transcoders).', labelNames: ['kind'] },
      () => [[{ kind: 'flv' }, stats().transcodersFailed]] as const);

    group.gauge({ name: 'classroom_edge_link_up', help: '1 while the link to the origin is up and authenticated (in cluster mode: a link to every live origin, all up).' }, () => (links.isUp ? 1 : 0));
    group.gauge({ name: 'classroom_edge_links', help: 'Links to origins (1 without a cluster; in cluster mode one per live origin), by state (up, down).', labelNames: ['state'] }, () => {
      const up = links.all.filter((link) => link.isUp).length;
      return [[{ state: 'up' }, up], [{ state: 'down' }, links.all.length - up]] as const;
    });
    if (links.cluster) addClusterRoutingMetrics(group, links.cluster.directory);
    group.counter({ name: 'classroom_edge_link_connects_total', help: 'Times the link to the origin came up (the first time and every reconnect).' }, () => this.#linkConnects);
    group.gauge({ name: 'classroom_edge_link_rtt_seconds', help: 'Round-trip time of the link\'s last ping, by origin (absent before the first answer).', labelNames: ['origin'] },
      (): Sample<'origin'>[] => links.all.flatMap((link) => (link.isUp && link.rttMs !== null ? [[{ origin: link.origin }, link.rttMs / 1000] as const] : [])));
    group.gauge({ name: 'classroom_edge_link_last_recovery_timestamp_seconds', help: 'The last recovery of each link from a loss (absent before one), by origin and moment: lost (found lost), dialed (the attempt that succeeded started), connected (its TCP/TLS connection made), up (authenticated, kept sessions replayed); seconds since the epoch, with fractions.', labelNames: ['origin', 'moment'] },
      (): Sample<'origin' | 'moment'>[] => links.all.flatMap((link) => {
        const recovery = link.lastRecovery;
        if (recovery === null) return [];
        return (['lost', 'dialed', 'connected', 'up'] as const).map((moment) => [{ origin: link.origin, moment }, recovery[`${moment}At`] / 1000] as const);
      }));
    group.gauge({ name: 'classroom_edge_link_backlog_bytes', help: 'Bytes written to the link and not yet taken by the kernel.' }, () => links.all.reduce((sum, link) => sum + link.backlogBytes, 0));
    group.counter({ name: 'classroom_edge_link_bytes_received_total', help: 'Bytes received on the link, over all its connections.' }, () => links.bytesIn);
    group.counter({ name: 'classroom_edge_link_bytes_sent_total', help: 'Bytes sent on the link, over all its connections.' }, () => links.bytesOut);
    group.counter({ name: 'classroom_edge_link_media_bytes_received_total', help: 'Media payload bytes of the relayed streams received on the link.' }, () => stats().relayMediaBytes);

    const delivered = (field: 'packetsSent' | 'bytesSent' | 'packetsDropped' | 'bytesDropped' | 'dropEpisodes') => () => deliveryTotals.of(RELAY_DELIVERIES).totals()[field];
    group.counter({ name: 'classroom_edge_media_bytes_sent_total', help: 'Media payload bytes delivered to the edge\'s players.' }, delivered('bytesSent'));
    group.counter({ name: 'classroom_edge_media_frames_sent_total', help: 'Media messages delivered to the edge\'s players.' }, delivered('packetsSent'));
    group.counter({ name: 'classroom_edge_media_frames_dropped_total', help: 'Media messages dropped for players that did not keep up (and the video after it until a keyframe).' }, delivered('packetsDropped'));
    group.counter({ name: 'classroom_edge_media_bytes_dropped_total', help: 'Media payload bytes dropped for players that did not keep up.' }, delivered('bytesDropped'));
    group.counter({ name: 'classroom_edge_media_drop_episodes_total', help: 'Times a player\'s backlog passed its limit (each one a stall).' }, delivered('dropEpisodes'));
  }

  /** An RTMP, RTMPS or RTMPT client connection: its bytes are counted while it lives and after. */
  track(connection: RtmpConnection): void {
    this.#connections.track(connection);
    countCloses(connection, closedConnections);
  }

  close(): void {
    this.#group.close();
  }
}
