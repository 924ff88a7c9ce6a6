/**
 * WebRTC publish and play for the page: one peer connection per stream, its offer (ICE gathered: the
 * edge does no trickle) signalled either on the room's WebSocket (`webrtc.publish` / `webrtc.play`,
 * the session carrying the joined member's media) or over HTTP with WHIP and WHEP
 * (`/whip/APP/STREAM`, `/whep/APP/STREAM`, a Bearer token, DELETE on the Location to end). A
 * publication can mute its tracks (they keep flowing, black and silent, so nobody renegotiates);
 * a playback gives the MediaStream for a <video> and reads its counters from getStats. The peer
 * connection's constructor is a parameter, so unit tests run this in Node with a fake.
 */
import type { ClassroomClient } from './classroom-client.ts';
import { ClassroomError } from './classroom-client.ts';
import type { AudioSample } from './active-speaker.ts';
import type { PlaybackTransport } from './playback-transport.ts';

/** One signalled session: the edge's answer, how to end it, and when the edge ended it. */
export interface SignalledSession {
  answer: string;
  stop(): void;
  /** Resolves with the reason once the edge ended the session (never, for WHIP/WHEP: watch the peer connection). */
  ended: Promise<string>;
}

/** Turns an offer for a stream of the room into a session. */
export interface Signaller {
  publish(stream: string, offer: string): Promise<SignalledSession>;
  play(stream: string, offer: string): Promise<SignalledSession>;
}

/** Signalling on the joined room's WebSocket: sessions count as the member's media (`mediaOf`). */
export class WebSocketSignaller implements Signaller {
  readonly #client: ClassroomClient;
  constructor(client: ClassroomClient) { this.#client = client; }

  publish(stream: string, offer: string): Promise<SignalledSession> { return this.#open('publish', stream, offer); }
  play(stream: string, offer: string): Promise<SignalledSession> { return this.#open('play', stream, offer); }

  async #open(kind: 'publish' | 'play', stream: string, offer: string): Promise<SignalledSession> {
    const client = this.#client;
    const { session, sdp } = await (kind === 'publish' ? client.publishWebRtc(stream, offer) : client.playWebRtc(stream, offer));
    const ended = new Promise<string>((resolve) => {
      const offClosed = client.on('webrtc.closed', (m) => { if (m.session === session) { offClosed(); resolve(m.reason); } });
      client.addEventListener('close', () => resolve('the connection closed'), { once: true });
    });
    return { answer: sdp, stop: () => client.stopWebRtc(session), ended };
  }
}

/** The edge refused a WHIP or WHEP offer: its HTTP status and reason. */
export class HttpSignallingError extends ClassroomError {
  constructor(status: number, message: string) {
    super(status === 401 || status === 403 ? 'forbidden' : 'webrtc_refused', message, status);
    this.name = 'HttpSignallingError';
  }
}

/**
 * WHIP and WHEP on the edge's HTTP port: `base` is the edge (http://HOST:PORT), `app` the
 * application path (`classroom/ROOM`), `token` sent as `Authorization: Bearer`.
 */
export class HttpSignaller implements Signaller {
  readonly #base: string;
  readonly #app: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(base: string, app: string, token?: string, fetchImpl: typeof fetch = (...args) => fetch(...args)) {
    this.#base = base.replace(/\/$/, '');
    this.#app = app;
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  publish(stream: string, offer: string): Promise<SignalledSession> { return this.#open('whip', stream, offer); }
  play(stream: string, offer: string): Promise<SignalledSession> { return this.#open('whep', stream, offer); }

  async #open(endpoint: 'whip' | 'whep', stream: string, offer: string): Promise<SignalledSession> {
    const url = `${this.#base}/${endpoint}/${this.#app}/${encodeURIComponent(stream)}`;
    const headers: Record<string, string> = { 'content-type': 'application/sdp' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await this.#fetch(url, { method: 'POST', headers, body: offer });
    const text = await response.text();
    if (response.status !== 201) throw new HttpSignallingError(response.status, text.trim() || `${endpoint.toUpperCase()} refused (${response.status})`);
    const location = response.headers.get('location');
    const resource = location ? new URL(location, url).href : null;
    const deleteHeaders: Record<string, string> = this.#token ? { authorization: `Bearer ${this.#token}` } : {};
    return {
      answer: text,
      stop: () => { if (resource) this.#fetch(resource, { method: 'DELETE', headers: deleteHeaders }).catch(() => {}); },
      ended: new Promise<string>(() => {}),
    };
  }
}

export type PeerConnectionFactory = () => RTCPeerConnection;
const defaultPeerConnection: PeerConnectionFactory = () => new RTCPeerConnection();

export interface WebRtcOptions {
  createPeerConnection?: PeerConnectionFactory;
  /** ICE gathering is waited for at most this long (then the offer goes with what was gathered). */
  gatheringTimeoutMs?: number;
  /** A playback not connected within this long has failed to connect (`Playback.connected`; default 15 s). */
  connectTimeoutMs?: number;
}

/** Makes the offer and waits for ICE gathering to complete (or the timeout): the SDP to send. */
export async function gatheredOffer(pc: RTCPeerConnection, timeoutMs = 3000): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', onChange);
        resolve();
      }
      function onChange(): void { if (pc.iceGatheringState === 'complete') done(); }
      pc.addEventListener('icegatheringstatechange', onChange);
    });
  }
  return pc.localDescription!.sdp;
}

/**
 * Puts H.264 first among a video transceiver's codecs when the browser has it: the edge forwards it
 * to RTMP and Flash players as it is, where VP8 would cost a transcoder.
 */
export function preferH264(transceiver: RTCRtpTransceiver, capabilities: RTCRtpCapabilities | null): void {
  const codecs = capabilities?.codecs ?? [];
  const h264 = codecs.filter((c) => /h264/i.test(c.mimeType));
  if (h264.length === 0 || typeof transceiver.setCodecPreferences !== 'function') return;
  const rest = codecs.filter((c) => !/h264/i.test(c.mimeType));
  transceiver.setCodecPreferences([...h264, ...rest]);
}

/** Reads the sender's video capabilities where the browser has them (not in Node). */
function videoCapabilities(): RTCRtpCapabilities | null {
  return typeof RTCRtpSender !== 'undefined' && typeof RTCRtpSender.getCapabilities === 'function' ? RTCRtpSender.getCapabilities('video') : null;
}

/** Mutes or unmutes `media`'s tracks of `kind`: they keep flowing, black or silent, so nobody renegotiates. */
export function setTracksMuted(media: MediaStream | null | undefined, kind: 'audio' | 'video', muted: boolean): void {
  for (const track of media?.getTracks() ?? []) if (track.kind === kind) track.enabled = !muted;
}

/** Whether nothing of `kind` is heard or seen from `media` (no such track, or all muted). */
export function tracksMuted(media: MediaStream | null | undefined, kind: 'audio' | 'video'): boolean {
  const tracks = media?.getTracks().filter((t) => t.kind === kind) ?? [];
  return tracks.length === 0 || tracks.every((t) => !t.enabled);
}

/** One stream's peer connection and its signalled session: what publishing and playing share. */
abstract class StreamConnection {
  readonly stream: string;
  readonly pc: RTCPeerConnection;
  readonly media: MediaStream;
  readonly #session: SignalledSession;
  readonly #ended: Promise<string>;
  #stopped = false;
  /** The edge ended the session: stopping it needs no message. */
  #endedByEdge = false;

  constructor(stream: string, pc: RTCPeerConnection, media: MediaStream, session: SignalledSession) {
    this.stream = stream;
    this.pc = pc;
    this.media = media;
    this.#session = session;
    // The edge says when it ends a session; a connection that fails (ICE, DTLS) may end before it can.
    const failed = new Promise<string>((resolve) => {
      const onState = () => {
        if (pc.connectionState !== 'failed') return;
        pc.removeEventListener('connectionstatechange', onState);
        resolve('the connection failed');
      };
      pc.addEventListener('connectionstatechange', onState);
    });
    void session.ended.then(() => { this.#endedByEdge = true; });
    this.#ended = Promise.race([session.ended, failed]);
  }

  /** Resolves with the reason the session ended: the edge ended it, or the connection failed. */
  get ended(): Promise<string> { return this.#ended; }

  /** The getStats report that carries this stream's audio counters: what is received, or what the microphone gives. */
  protected abstract readonly audioReportType: 'inbound-rtp' | 'media-source';

  /** The audio's cumulative energy and duration so far (for the active speaker), or null when there is no audio. */
  async audioSample(): Promise<AudioSample | null> {
    for (const report of (await this.pc.getStats()).values() as IterableIterator<Record<string, unknown>>) {
      if (report.type !== this.audioReportType || report.kind !== 'audio') continue;
      return { totalAudioEnergy: Number(report.totalAudioEnergy ?? 0), totalSamplesDuration: Number(report.totalSamplesDuration ?? 0) };
    }
    return null;
  }

  /** Ends the session and the peer connection (a publication's local tracks stay the caller's: the preview keeps them). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (!this.#endedByEdge) this.#session.stop();
    this.pc.close();
  }
}

/** A stream this page publishes. */
export class Publication extends StreamConnection {
  protected readonly audioReportType = 'media-source';
  setMuted(kind: 'audio' | 'video', muted: boolean): void { setTracksMuted(this.media, kind, muted); }
  isMuted(kind: 'audio' | 'video'): boolean { return tracksMuted(this.media, kind); }
}

/** Publishes `media`'s tracks as `stream` (send only, H.264 preferred). */
export async function publish(signaller: Signaller, stream: string, media: MediaStream, options: WebRtcOptions = {}): Promise<Publication> {
  const pc = (options.createPeerConnection ?? defaultPeerConnection)();
  try {
    for (const track of media.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') preferH264(transceiver, videoCapabilities());
    }
    const session = await signaller.publish(stream, await gatheredOffer(pc, options.gatheringTimeoutMs));
    await pc.setRemoteDescription({ type: 'answer', sdp: session.answer });
    return new Publication(stream, pc, media, session);
  } catch (error) {
    pc.close();
    throw error;
  }
}

/**
 * What a playback says of itself: its transport, video frames decoded and audio energy received so
 * far (getStats for WebRTC; a WS-FLV playback reads its <video>: no energy, the audio bytes decoded).
 */
export interface PlaybackCounters {
  transport: PlaybackTransport;
  framesDecoded: number;
  totalAudioEnergy: number;
  audioLevel: number;
  connectionState: RTCPeerConnectionState;
  /** WS-FLV only: audio bytes the <video> decoded (Chromium's webkitAudioDecodedByteCount). */
  audioBytesDecoded?: number;
}

/** A stream this page plays; `media` holds the received tracks, for a <video> (and its audio). */
export class Playback extends StreamConnection {
  protected readonly audioReportType = 'inbound-rtp';
  readonly transport = 'webrtc';
  /**
   * Resolves true once the connection is up, false when it failed, was stopped or is not up within
   * the connect timeout (ICE checks can hang on `connecting` where the path is blocked).
   */
  readonly connected: Promise<boolean>;
  #settleConnected: (connected: boolean) => void = () => {};

  constructor(stream: string, pc: RTCPeerConnection, media: MediaStream, session: SignalledSession, connectTimeoutMs = 15_000) {
    super(stream, pc, media, session);
    this.connected = new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), connectTimeoutMs);
      const settle = (connected: boolean) => {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', check);
        resolve(connected);
      };
      function check(): void {
        if (pc.connectionState === 'connected') settle(true);
        else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') settle(false);
      }
      pc.addEventListener('connectionstatechange', check);
      this.#settleConnected = settle;
      check();
    });
  }

  override stop(): void {
    this.#settleConnected(false);
    super.stop();
  }
  async counters(): Promise<PlaybackCounters> {
    const counters: PlaybackCounters = { transport: this.transport, framesDecoded: 0, totalAudioEnergy: 0, audioLevel: 0, connectionState: this.pc.connectionState };
    for (const report of (await this.pc.getStats()).values() as IterableIterator<Record<string, unknown>>) {
      if (report.type !== 'inbound-rtp') continue;
      if (report.kind === 'video') counters.framesDecoded = Number(report.framesDecoded ?? 0);
      if (report.kind === 'audio') {
        counters.totalAudioEnergy = Number(report.totalAudioEnergy ?? 0);
        counters.audioLevel = Number(report.audioLevel ?? 0);
      }
    }
    return counters;
  }
}

/** Plays `stream` (receive only, video and audio). */
export async function play(signaller: Signaller, stream: string, options: WebRtcOptions & { createMediaStream?: (tracks: MediaStreamTrack[]) => MediaStream } = {}): Promise<Playback> {
  const pc = (options.createPeerConnection ?? defaultPeerConnection)();
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const session = await signaller.play(stream, await gatheredOffer(pc, options.gatheringTimeoutMs));
    await pc.setRemoteDescription({ type: 'answer', sdp: session.answer });
    const tracks = pc.getReceivers().map((r) => r.track);
    const media = options.createMediaStream ? options.createMediaStream(tracks) : new MediaStream(tracks);
    return new Playback(stream, pc, media, session, options.connectTimeoutMs);
  } catch (error) {
    pc.close();
    throw error;
  }
}
