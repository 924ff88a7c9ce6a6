/**
 * How the page plays a member's stream: WebRTC when it can, WS-FLV through mpegts.js when it cannot
 * (a browser without RTCPeerConnection, or a stream whose WebRTC play never connects: ICE or DTLS
 * blocked between the page and the edge). The choice per stream, the WS-FLV address of a room's
 * stream on the edge's playback route, and whether the browser has WebRTC at all. Pure: no DOM, no
 * sockets; tested in Node (test/web-client/playback-transport.test.ts).
 */
import { CLASSROOM_APP } from './recordings.ts';

export type PlaybackTransport = 'webrtc' | 'ws-flv';

/** WebRTC plays of one stream that may fail to connect, one after the other, before it is played over WS-FLV. */
export const WEBRTC_ATTEMPTS_BEFORE_FALLBACK = 2;

/** Whether `scope` (the page's window) can make peer connections: some locked-down or old browsers cannot. */
export function webRtcAvailable(scope: object = globalThis): boolean {
  return typeof (scope as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function';
}

/**
 * Chooses each stream's transport: WebRTC while the browser has it and the stream's WebRTC plays have
 * not failed to connect `attempts` times in a row; then WS-FLV for that stream, for the rest of the
 * session (a path that blocked ICE once blocks it again; the edge's FLV route is plain HTTP/WebSocket).
 * A refused or not-yet-playable stream is not a connection failure: the caller does not count it.
 */
export class PlaybackTransportChooser {
  readonly #webRtc: boolean;
  readonly #attempts: number;
  /** Connection failures in a row, per stream. */
  readonly #failures = new Map<string, number>();

  constructor(options: { webRtc: boolean; attempts?: number }) {
    this.#webRtc = options.webRtc;
    this.#attempts = Math.max(1, options.attempts ?? WEBRTC_ATTEMPTS_BEFORE_FALLBACK);
  }

  /** Whether this page can use WebRTC at all (to publish, among other things). */
  get webRtc(): boolean { return this.#webRtc; }

  transportFor(stream: string): PlaybackTransport {
    if (!this.#webRtc) return 'ws-flv';
    return (this.#failures.get(stream) ?? 0) >= this.#attempts ? 'ws-flv' : 'webrtc';
  }

  /** A WebRTC play of `stream` never connected (its connection failed, or did not connect in time). */
  webRtcFailed(stream: string): void {
    this.#failures.set(stream, (this.#failures.get(stream) ?? 0) + 1);
  }

  /** A WebRTC play of `stream` connected: earlier failures were passing ones. */
  webRtcConnected(stream: string): void {
    if (this.transportFor(stream) === 'webrtc') this.#failures.delete(stream);
  }
}

/**
 * The WS-FLV address of a room's stream on the edge the page's socket uses (`ws://HOST/ws`):
 * `/live/classroom/ROOM/STREAM.flv` on the same host and scheme, with the member's token as
 * `?token=` (a browser's WebSocket cannot send an Authorization header) and, with a token, the
 * member's name as `?mediaOf=`: the play is the joined member's media, not a second member of that
 * name, which the classroom would refuse (gateway/session/link-client.ts passes both to the origin).
 */
export function flvPlaybackUrl(sessionUrl: string, room: string, stream: string, token?: string, member?: string): string {
  const path = [CLASSROOM_APP, room, stream].map(encodeURIComponent).join('/');
  const url = new URL(`/live/${path}.flv`, sessionUrl);
  if (token) {
    url.searchParams.set('token', token);
    if (member) url.searchParams.set('mediaOf', member);
  }
  return url.href;
}
