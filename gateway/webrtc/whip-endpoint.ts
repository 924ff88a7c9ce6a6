/**
 * WHIP (WebRTC-HTTP ingestion, RFC 9725) on the edge's HTTP port: `POST /whip/APP/ROOM.../STREAM`
 * with an SDP offer (application/sdp) publishes the browser's camera and microphone as that
 * stream; the reply is 201 Created with the SDP answer and a Location that `DELETE` ends. The
 * edge gathers its ICE candidates before answering, so no trickle (PATCH is 405). Errors are
 * plain text: 400 for a bad path or offer (the SDP error's reason), 403 when the origin refuses the
 * connect or publish, 503 when the edge is full or has no link, 415 for another content type.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '#common/logger.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { chooseIngestCodecs, parseSdp, defaultSdpLimits } from '#protocol/sdp/sdp.ts';
import { sendText, type EdgeHttpServer } from '../http/edge-http-server.ts';
import { parseAppStreamPath } from '../http/stream-path.ts';
import type { LinkSender } from '../session/edge-session.ts';
import { requestTcUrl } from '../session/link-client.ts';
import type { SessionRegistry } from '../session/session-registry.ts';
import type { WebRtcIngestOptions } from './webrtc-ingest.ts';
import { WebRtcPublishSession } from './webrtc-publish-session.ts';
import type { OpusToAac } from './opus-to-aac.ts';

export const WHIP_PREFIX = '/whip/';
const RESOURCE_PREFIX = `${WHIP_PREFIX}resource/`;

export interface WhipOptions {
  ingest: WebRtcIngestOptions;
  /** Opus to AAC for RTMP; null when ffmpeg cannot (the stream is published without audio). */
  createAudioEncoder: (() => OpusToAac) | null;
}

class HttpRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Past this much, an oversize body is not even read to its end: the connection is cut. */
const MAX_DISCARDED_BYTES = 16 * 1024 * 1024;

/**
 * The request body, refused past `limit` bytes. The rest of an oversize body is read and thrown
 * away (up to MAX_DISCARDED_BYTES), so the client gets its 413 instead of a reset connection.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DISCARDED_BYTES) {
      req.destroy();
      break;
    }
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw new HttpRefusal(413, `the offer is larger than ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

export class WhipEndpoint {
  readonly #link: LinkSender;
  readonly #sessions: SessionRegistry;
  readonly #options: WhipOptions;
  readonly #log: Logger;
  /** Resource id (the session's id on the link) -> its session, while it publishes. */
  readonly #resources = new Map<string, WebRtcPublishSession>();

  constructor(http: EdgeHttpServer, link: LinkSender, sessions: SessionRegistry, options: WhipOptions, log: Logger) {
    this.#link = link;
    this.#sessions = sessions;
    this.#options = options;
    this.#log = log;
    http.route(WHIP_PREFIX, (req, res, url) => this.#handle(req, res, url), { prefix: true });
    http.onClose(() => { for (const session of this.#resources.values()) session.close('the edge is stopping'); });
  }

  get publishers(): number { return this.#resources.size; }

  async #handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'location');
    try {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'POST, DELETE, OPTIONS', 'access-control-allow-headers': 'content-type, authorization' });
        return void res.end();
      }
      if (url.pathname.startsWith(RESOURCE_PREFIX)) return this.#resource(req, res, url.pathname.slice(RESOURCE_PREFIX.length));
      if (req.method !== 'POST') throw new HttpRefusal(405, 'POST an SDP offer to /whip/<app>/<room...>/<stream>');
      await this.#publish(req, res, url);
    } catch (error) {
      const status = error instanceof HttpRefusal ? error.status : 500;
      if (status === 500) this.#log.error('WHIP request failed', { error: (error as Error).stack ?? String(error) });
      else this.#log.warn('WHIP request refused', { status, path: url.pathname, reason: (error as Error).message });
      sendText(res, status, `${(error as Error).message}\n`);
    }
  }

  async #publish(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let target: { app: string; stream: string };
    try {
      target = parseAppStreamPath(url.pathname.slice(WHIP_PREFIX.length), 'expected /whip/<app>/<room...>/<stream>');
    } catch (error) {
      throw new HttpRefusal(400, (error as Error).message);
    }
    if (!/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) throw new HttpRefusal(415, 'the offer must be application/sdp');
    const offer = await readBody(req, defaultSdpLimits.maxBytes);
    let choice;
    try {
      choice = chooseIngestCodecs(parseSdp(offer));
    } catch (error) {
      if (error instanceof ProtocolError) throw new HttpRefusal(400, `${error.code}: ${error.message}`);
      throw error;
    }
    if (!this.#sessions.hasRoom) throw new HttpRefusal(503, 'the edge has too many clients');
    const session = new WebRtcPublishSession({
      ...target, protocol: 'whip', tcUrl: requestTcUrl(req, 'http'), remoteAddress: req.socket.remoteAddress ?? 'unknown', remotePort: req.socket.remotePort ?? 0,
      offer, choice, ingest: this.#options.ingest, createAudioEncoder: choice.audio ? this.#options.createAudioEncoder : null,
    }, this.#link, this.#log);
    const resource = String(session.id);
    this.#sessions.add(session);
    this.#resources.set(resource, session);
    session.once('close', () => {
      this.#sessions.remove(session);
      this.#resources.delete(resource);
    });
    let answer: string;
    try {
      answer = await session.start();
    } catch (error) {
      const reason = (error as Error).message;
      throw new HttpRefusal(/no link/.test(reason) ? 503 : 403, reason);
    }
    res.writeHead(201, { 'content-type': 'application/sdp', location: `${RESOURCE_PREFIX}${resource}`, 'cache-control': 'no-store' });
    res.end(answer);
  }

  #resource(req: IncomingMessage, res: ServerResponse, resource: string): void {
    const session = this.#resources.get(resource);
    if (!session) throw new HttpRefusal(404, 'no such WHIP session');
    if (req.method === 'PATCH') throw new HttpRefusal(405, 'no trickle ICE: the answer carries every candidate');
    if (req.method !== 'DELETE') throw new HttpRefusal(405, 'DELETE ends the session');
    session.close('ended by the publisher (DELETE)');
    res.writeHead(200, { 'content-length': 0 });
    res.end();
  }
}
