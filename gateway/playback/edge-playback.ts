/**
 * Browser playback on the edge: `GET /live/<app>/<room...>/<stream>.flv` (HTTP-FLV, chunked) and
 * the same path over WebSocket (WS-FLV, one binary message per write), for mpegts.js. Each viewer
 * is a session on the link (FlvViewerSession) in the edge's SessionRegistry, so it counts
 * against maxConnections like any client; its first audio/video tags decide whether it gets
 * the stream as is (H.264/AAC) or from the stream's shared Transcoder. `GET /playback/stats` counts
 * viewers and transcoders. A viewer is closed when it had nothing to receive for `publisherWaitMs`
 * (nobody publishes its stream: each waiting viewer is also a session on the origin), when it stops
 * reading (over `maxBufferedBytes` unsent), and a WS-FLV socket that answers no ping (common/ws-keepalive.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { parseAudioTag, parseVideoTag, AudioFormat, VideoCodec } from '#protocol/flv/codecs.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { MediaPacket } from '#common/media/media-packet.ts';
import type { Logger } from '#common/logger.ts';
import { parseAppStreamPath } from '../http/stream-path.ts';
import { refuseUpgrade, sendText, type EdgeHttpServer } from '../http/edge-http-server.ts';
import { originRefusalStatus, type EdgeTokenCheck } from '../http/edge-token-check.ts';
import { requestToken } from '#common/request-token.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { requestConnectArgs, requestTcUrl } from '../session/link-client.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import { RelayPlayer } from '../relay/relay-player.ts';
import { FlvMediaOutput, type ByteSink } from './flv-output.ts';
import { FlvViewerSession } from './flv-viewer-session.ts';
import { TRANSCODE_JOB, Transcoder } from './transcoder.ts';
import { watchLiveness } from '#common/ws-keepalive.ts';
import { WebSocketUpgrades } from '#common/websocket-upgrades.ts';
import { LogThrottle } from '#common/log-throttle.ts';
import { countViewerClose } from '../edge-metrics.ts';

export const PLAYBACK_PREFIX = '/live/';
/** Packets held while the codecs are unknown (an audio-only or video-only stream decides here). */
const MAX_UNDECIDED_PACKETS = 60;

export interface EdgePlaybackOptions {
  maxGopBytes: number;
  maxPlayerBacklogBytes: number;
  /** Stops the relay's delivery to a session (a viewer switched to its stream's transcoder). */
  detachSession(sessionId: number): void;
  /** This edge's public RTMP URL: the tcUrl base of sessions the edge opens itself (transcoders' inputs). */
  publicUrl(): string;
  /** Refuses a viewer's bad token before its session is opened (when the edge has the token secret). */
  tokens: EdgeTokenCheck;
  /** A viewer with nothing to receive for this long (no publisher) is closed (flvPublisherWaitMs). */
  publisherWaitMs: number;
  /** A viewer with more unsent than this is not reading and is closed (browser.maxBufferedBytes). */
  maxBufferedBytes: number;
  /** A WS-FLV socket that answered no ping within this is closed (browser.idleTimeoutMs). */
  idleTimeoutMs: number;
}

export interface PlaybackStats {
  viewers: number;
  transcoders: number;
  transcodersStarted: number;
  /** Transcoders whose ffmpeg died or wrote bad FLV. */
  transcodersFailed: number;
}

/** `/live/APP[/ROOM...]/STREAM.flv` as connect's app and the stream name; throws a message for a 400. */
export function parsePlaybackPath(pathname: string): { app: string; stream: string } {
  const usage = 'expected /live/<app>/<room...>/<stream>.flv';
  const relative = pathname.slice(PLAYBACK_PREFIX.length);
  if (!relative.endsWith('.flv')) throw new Error(usage);
  return parseAppStreamPath(relative.slice(0, -'.flv'.length), usage);
}

/** True when a tag needs transcoding for a browser (anything but H.264 video and AAC audio). */
function isFlashCodec(packet: MediaPacket): boolean {
  if (packet.kind === 'video') return (parseVideoTag(packet.payload)?.codecId ?? VideoCodec.AVC) !== VideoCodec.AVC;
  if (packet.kind === 'audio') return (parseAudioTag(packet.payload)?.format ?? AudioFormat.Aac) !== AudioFormat.Aac;
  return false;
}

/**
 * What the relay delivers a viewer's stream to: it holds the first packets until the codecs are
 * known, then passes the stream through, or (Flash codecs) calls `onTranscode` and drops it.
 */
class CodecGate implements MediaOutput {
  readonly #target: MediaOutput;
  readonly #onTranscode: () => void;
  #mode: 'undecided' | 'direct' | 'transcode' = 'undecided';
  #held: MediaPacket[] = [];
  #audio = false;
  #video = false;

  constructor(target: MediaOutput, onTranscode: () => void) {
    this.#target = target;
    this.#onTranscode = onTranscode;
  }

  get backlogBytes(): number { return this.#target.backlogBytes; }

  sendMedia(packet: MediaPacket, streamId: number): void {
    if (this.#mode === 'direct') return this.#target.sendMedia(packet, streamId);
    if (this.#mode === 'transcode') return;
    if (isFlashCodec(packet)) {
      this.#mode = 'transcode';
      this.#held = [];
      return this.#onTranscode();
    }
    if (packet.kind === 'audio') this.#audio = true;
    if (packet.kind === 'video') this.#video = true;
    this.#held.push(packet);
    if ((this.#audio && this.#video) || this.#held.length >= MAX_UNDECIDED_PACKETS) {
      this.#mode = 'direct';
      for (const held of this.#held.splice(0)) this.#target.sendMedia(held, streamId);
    }
  }
}

/** One browser connection: its transport, FLV writer, link session and (maybe) transcoded player. */
interface Viewer {
  session: FlvViewerSession;
  flv: FlvMediaOutput;
  transcoder: Transcoder | null;
  player: RelayPlayer | null;
  /** FLV bytes written when the viewer was last seen receiving, and when that was (publisherWaitMs). */
  bytesSeen: number;
  receivedAt: number;
}

export class EdgePlayback {
  readonly #options: EdgePlaybackOptions;
  readonly #link: LinkSender;
  readonly #sessions: SessionRegistry;
  readonly #log: Logger;
  /** What playback keeps of each viewer (the sessions themselves are in the edge's registry). */
  readonly #viewers = new Map<number, Viewer>();
  readonly #transcoders = new Map<string, Transcoder>();
  readonly #wss = new WebSocketUpgrades({ maxPayload: 1024 });
  #transcodersStarted = 0;
  #transcodersFailed = 0;
  /** The edge is stopping: viewers' WebSockets close with 1001. */
  #stopping = false;
  /** Closes viewers that wait for a publisher too long or stopped reading. */
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #warnings: LogThrottle;

  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, options: EdgePlaybackOptions, log: Logger) {
    this.#options = options;
    this.#link = link;
    this.#sessions = sessions;
    this.#log = log;
    this.#warnings = new LogThrottle(log);
    http.route(PLAYBACK_PREFIX, (req, res, url) => this.#onHttp(req, res, url), { prefix: true });
    http.upgrade(PLAYBACK_PREFIX, (req, socket, head, url) => this.#onUpgrade(req, socket, head, url).catch((error: Error) => {
      this.#log.error('WS-FLV upgrade failed', { path: url.pathname, error: error.stack ?? String(error) });
      socket.destroy();
    }), { prefix: true });
    http.route('/playback/stats', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(this.stats));
    });
    http.onClose(() => this.close());
    this.#sweepTimer = setInterval(() => this.#sweep(), Math.max(100, Math.min(1000, options.publisherWaitMs / 4)));
    this.#sweepTimer.unref();
  }

  get stats(): PlaybackStats {
    return { viewers: this.#viewers.size, transcoders: this.#transcoders.size, transcodersStarted: this.#transcodersStarted, transcodersFailed: this.#transcodersFailed };
  }

  close(): void {
    this.#stopping = true;
    clearInterval(this.#sweepTimer);
    this.#warnings.close();
    for (const viewer of [...this.#viewers.values()]) viewer.session.close('the edge is shutting down');
    for (const transcoder of [...this.#transcoders.values()]) transcoder.close('the edge is shutting down');
    this.#wss.close();
  }

  async #onHttp(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      return sendText(res, 405, 'method not allowed\n');
    }
    let target: { app: string; stream: string };
    try {
      target = parsePlaybackPath(url.pathname);
    } catch (error) {
      this.#badRequest(req, url, error as Error);
      return sendText(res, url.pathname.endsWith('.flv') ? 400 : 404, `${(error as Error).message}\n`);
    }
    const refused = await this.#options.tokens.refusal('http-flv', requestToken(req), target.app, 'play');
    if (refused) return sendText(res, refused.httpStatus, `${refused.message}\n`);
    if (!this.#admits(req, 'http-flv')) return sendText(res, 503, 'the edge has too many clients\n');
    const socket = res.socket;
    // The relay may deliver the cached GOP before the play's status reaches the session: whichever
    // comes first sends the headers, so they are never the implicit ones of a bare write.
    const sendHeaders = () => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'video/x-flv', 'access-control-allow-origin': '*', 'cache-control': 'no-store' });
    };
    const sink: ByteSink = {
      get backlogBytes() { return res.writableLength + (socket?.writableLength ?? 0); },
      write: (bytes) => { sendHeaders(); res.write(bytes); },
    };
    const viewer = this.#open(target, 'http-flv', requestTcUrl(req, 'http'), req, sink);
    viewer.session.once('playing', sendHeaders);
    viewer.session.once('close', (reason) => {
      const status = originRefusalStatus(viewer.session.accessDenied) ?? (/NotFound|BadName/.test(reason ?? '') ? 404 : /Rejected|Forbidden/.test(reason ?? '') ? 403 : 502);
      if (!res.headersSent) sendText(res, status, `${reason ?? 'closed'}\n`);
      else res.end();
    });
    res.on('close', () => viewer.session.close(null));
    viewer.session.start();
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    let target: { app: string; stream: string };
    try {
      target = parsePlaybackPath(url.pathname);
    } catch (error) {
      this.#badRequest(req, url, error as Error);
      return refuseUpgrade(socket, 400);
    }
    const refused = await this.#options.tokens.refusal('ws-flv', requestToken(req), target.app, 'play');
    if (refused) return refuseUpgrade(socket, refused.httpStatus, refused.message);
    if (socket.destroyed) return;
    const admit = (): boolean => {
      if (this.#admits(req, 'ws-flv')) return true;
      refuseUpgrade(socket, 503, 'the edge has too many clients');
      return false;
    };
    await this.#wss.handleUpgrade(req, socket, head, admit, (ws: WebSocket) => {
      const sink: ByteSink = { get backlogBytes() { return ws.bufferedAmount; }, write: (bytes) => ws.send(bytes, { binary: true }) };
      const viewer = this.#open(target, 'ws-flv', requestTcUrl(req, 'ws'), req, sink);
      viewer.session.once('close', (reason) => {
        // A close reason is at most 123 bytes.
        // 1001 (going away) when the edge stops, 4000 when the play failed.
        if (ws.readyState === ws.OPEN) ws.close(this.#stopping ? 1001 : reason ? 4000 : 1000, Buffer.from(reason ?? '').subarray(0, 123).toString());
      });
      ws.on('close', () => viewer.session.close(null));
      ws.on('error', () => viewer.session.close(null));
      watchLiveness(ws, this.#options.idleTimeoutMs, () => {
        viewer.session.log.info('WS-FLV viewer answered no ping: closing', { idleTimeoutMs: this.#options.idleTimeoutMs });
        countViewerClose('ws-flv', 'idle');
      });
      viewer.session.start();
    });
  }

  /** Logs a request for no playable path; a client can repeat it at will, so the lines are rate-limited per address. */
  #badRequest(req: IncomingMessage, url: URL, error: Error): void {
    this.#warnings.warn(`${req.socket.remoteAddress} bad_request`, 'bad playback request', { path: url.pathname, error: error.message, peer: req.socket.remoteAddress });
  }

  /** A viewer more fits in the edge's maxConnections (which counts clients of every protocol). */
  #admits(req: IncomingMessage, protocol: string): boolean {
    if (this.#sessions.hasRoom) return true;
    this.#sessions.logRefusal(this.#log, protocol, req.socket.remoteAddress);
    return false;
  }

  /** Registers a playback session with the edge until it closes. */
  #register(session: FlvViewerSession): void {
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.remove(session));
  }

  #open(target: { app: string; stream: string }, protocol: string, tcUrl: string, req: IncomingMessage, sink: ByteSink): Viewer {
    const flv = new FlvMediaOutput(sink);
    const viewer: Viewer = { session: null!, flv, transcoder: null, player: null, bytesSeen: 0, receivedAt: Date.now() };
    const gate = new CodecGate(flv, () => this.#transcode(viewer));
    viewer.session = new FlvViewerSession({ ...target, protocol, tcUrl, output: gate, connectArgs: requestConnectArgs(req),
      remoteAddress: req.socket.remoteAddress ?? '', remotePort: req.socket.remotePort ?? 0 }, this.#link, this.#log);
    this.#viewers.set(viewer.session.id, viewer);
    this.#register(viewer.session);
    viewer.session.log.info('viewer', { stream: viewer.session.streamKey, peer: req.socket.remoteAddress });
    viewer.session.once('close', () => {
      this.#viewers.delete(viewer.session.id);
      viewer.player?.close();
      viewer.transcoder?.removeViewer();
    });
    return viewer;
  }

  /** Closes viewers that stopped reading, or had nothing to receive for publisherWaitMs. */
  #sweep(): void {
    const now = Date.now();
    const { publisherWaitMs, maxBufferedBytes } = this.#options;
    for (const viewer of [...this.#viewers.values()]) {
      const { session, flv } = viewer;
      if (flv.backlogBytes > maxBufferedBytes) {
        session.log.warn('viewer not reading: closing', { backlogBytes: flv.backlogBytes, maxBufferedBytes });
        countViewerClose(session.protocol, 'not_reading');
        session.close(`not reading: over ${maxBufferedBytes} bytes unsent (browser.maxBufferedBytes)`);
      } else if (flv.bytes !== viewer.bytesSeen) {
        viewer.bytesSeen = flv.bytes;
        viewer.receivedAt = now;
      } else if (now - viewer.receivedAt > publisherWaitMs) {
        session.log.info('viewer had nothing to receive: closing', { stream: session.streamKey, flvPublisherWaitMs: publisherWaitMs });
        countViewerClose(session.protocol, 'no_media');
        session.close(`nothing published on ${session.streamKey} for ${Math.round(publisherWaitMs / 1000)} s (flvPublisherWaitMs)`);
      }
    }
  }

  /** The viewer's stream is in Flash codecs: it plays the stream's shared transcoder instead. */
  #transcode(viewer: Viewer): void {
    const key = viewer.session.streamKey;
    let transcoder = this.#transcoders.get(key);
    if (!transcoder || transcoder.closed) {
      const [app, stream] = [key.slice(0, key.lastIndexOf('/')), key.slice(key.lastIndexOf('/') + 1)];
      transcoder = new Transcoder(key, { job: TRANSCODE_JOB, maxGopBytes: this.#options.maxGopBytes, openSource: (output) => {
        const input = new FlvViewerSession({ app, stream, protocol: 'transcoder', tcUrl: `${this.#options.publicUrl()}/${app}`,
          remoteAddress: '127.0.0.1', remotePort: 0, output, internal: true }, this.#link, this.#log);
        this.#register(input);
        return input;
      } }, this.#log.child('transcoder'));
      const created = transcoder;
      this.#transcoders.set(key, created);
      this.#transcodersStarted++;
      created.once('close', (reason) => {
        if (this.#transcoders.get(key) === created) this.#transcoders.delete(key);
        if (created.failed) this.#transcodersFailed++;
        for (const other of [...this.#viewers.values()]) if (other.transcoder === created) other.session.close(`transcoding stopped: ${reason}`);
      });
    }
    viewer.transcoder = transcoder;
    transcoder.addViewer();
    // The original stream is the transcoder's input now: stop relaying it to this viewer (the play stays open at the origin).
    queueMicrotask(() => this.#options.detachSession(viewer.session.id));
    viewer.session.log.info('viewer plays the transcoded stream', { stream: key, viewers: transcoder.viewers });
    viewer.player = new RelayPlayer(viewer.session.id, viewer.flv, 1, transcoder.stream, this.#options.maxPlayerBacklogBytes, viewer.session.log);
    viewer.player.start();
  }
}
