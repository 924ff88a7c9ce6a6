/**
 * One member's life in a room, apart from the view: joins over the WebSocket (ClassroomClient), uses
 * the classroom's shared objects and keeps the RoomSnapshot, plays every other member's streams with
 * WebRTC (or over WS-FLV where WebRTC cannot be had: session/playback-transport.ts) and publishes
 * this page's camera and microphone (WebRTC only: without it the member watches), and when the connection drops (a lost
 * network, an edge restart, a lost origin link) reconnects with backoff, rejoining with the same name,
 * role and token and republishing what was published. It tells the classroom when its microphone or
 * camera is muted (setMediaState: everyone's roster shows it) and, from the audio levels of what it
 * plays and publishes, which stream is the active speaker. The view listens to `change` and reads the
 * fields; nothing here touches the DOM.
 */
import { ClassroomClient, ClassroomError, type WebSocketFactory } from './classroom-client.ts';
import { Backoff, type BackoffOptions } from '../../../common/backoff.ts';
import { EMPTY_ROOM, remoteStreams, roomSnapshot, type RoomSnapshot } from './room-model.ts';
import { SpeakerDetector, type AudioSample, type SpeakerOptions } from './active-speaker.ts';
import { play, publish, setTracksMuted, tracksMuted, WebSocketSignaller, type Playback, type Publication, type Signaller, type WebRtcOptions } from './webrtc.ts';
import { flvPlaybackUrl, PlaybackTransportChooser, webRtcAvailable } from './playback-transport.ts';
import { FlvPlayback } from './flv-playback.ts';
import { CLASSROOM_OBJECTS, type JsonValue, type RosterMember } from '../../../protocol/browser/browser-protocol.ts';

/**
 * idle: not started; connecting: the first join; joined: in the room; reconnecting: the connection
 * dropped and the session is coming back; failed: the join was refused (the lobby says why); left.
 */
export type SessionState = 'idle' | 'connecting' | 'joined' | 'reconnecting' | 'failed' | 'left';

/** A stream of another member as this page plays it: over WebRTC, or over WS-FLV. */
export type RemotePlayback = Playback | FlvPlayback;

/** A refused start (or stop) of the room's recording, and the classroom's reason. */
export interface RecordingRefusal { starting: boolean; reason: string }

export interface SessionOptions {
  /** ws://HOST:PORT/ws */
  url: string;
  room: string;
  name: string;
  role?: string;
  token?: string;
  openSocket?: WebSocketFactory;
  webrtc?: WebRtcOptions & { createMediaStream?: (tracks: MediaStreamTrack[]) => MediaStream };
  /** Whether the browser has WebRTC (default: it has RTCPeerConnection, or `webrtc.createPeerConnection` is given). */
  webRtcAvailable?: boolean;
  /** WebRTC plays of a stream that fail to connect in a row before it is played over WS-FLV (default 2). */
  webRtcAttempts?: number;
  backoff?: BackoffOptions;
  /** A stream that could not be played is tried again after this long (it may not have reached the origin yet). */
  replayDelayMs?: number;
  /** Audio levels are read this often for the active speaker (0: never). */
  speakerPollMs?: number;
  speaker?: SpeakerOptions;
}

/** The shared objects the page uses, and whether each is persistent. */
const USED_OBJECTS = [
  [CLASSROOM_OBJECTS.roster, false], [CLASSROOM_OBJECTS.chat, true], [CLASSROOM_OBJECTS.room, false], [CLASSROOM_OBJECTS.whiteboard, true],
] as const;

export class ClassroomSession extends EventTarget {
  readonly options: SessionOptions;
  #state: SessionState = 'idle';
  #client: ClassroomClient | null = null;
  #self: RosterMember | null = null;
  #snapshot: RoomSnapshot = EMPTY_ROOM;
  readonly #backoff: Backoff;
  readonly #playbacks = new Map<string, RemotePlayback>();
  readonly #transports: PlaybackTransportChooser;
  /** Streams being started, or waiting to be tried again. */
  readonly #starting = new Set<string>();
  #publication: Publication | null = null;
  /** What to publish (again after a reconnect): the stream name and the local media. */
  #published: { stream: string; media: MediaStream } | null = null;
  #lastError: string | null = null;
  #recordingRefusal: RecordingRefusal | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Counts connections, so callbacks of a dropped one do nothing. */
  #generation = 0;
  readonly #speakers: SpeakerDetector;
  #speakerTimer: ReturnType<typeof setInterval> | null = null;

  constructor(options: SessionOptions) {
    super();
    this.options = options;
    this.#backoff = new Backoff(options.backoff);
    this.#speakers = new SpeakerDetector(options.speaker);
    const webRtc = options.webRtcAvailable ?? (options.webrtc?.createPeerConnection !== undefined || webRtcAvailable());
    this.#transports = new PlaybackTransportChooser({ webRtc, attempts: options.webRtcAttempts });
  }

  get state(): SessionState { return this.#state; }
  get self(): RosterMember | null { return this.#self; }
  get snapshot(): RoomSnapshot { return this.#snapshot; }
  get client(): ClassroomClient | null { return this.#client; }
  get publication(): Publication | null { return this.#publication; }
  /** What this page publishes, or would once (re)joined: the local camera and microphone; null when not publishing. */
  get localMedia(): MediaStream | null { return this.#published?.media ?? null; }
  get playbacks(): ReadonlyMap<string, RemotePlayback> { return this.#playbacks; }
  /** Whether this page can publish (WebRTC); without it the member joins to watch and listen. */
  get canPublish(): boolean { return this.#transports.webRtc; }
  /** The last problem worth showing (a refused join, a failed publish), or null. */
  get lastError(): string | null { return this.#lastError; }
  /** The last start or stop of the room's recording that the classroom refused, until one succeeds. */
  get recordingRefusal(): RecordingRefusal | null { return this.#recordingRefusal; }
  /** Reconnect attempts since the last successful join. */
  get reconnectAttempts(): number { return this.#backoff.attempts; }
  /** The stream of whoever is speaking (this page's own included), or null. */
  get activeSpeaker(): string | null { return this.#speakers.speaker; }
  /** A stream's smoothed audio level (0..1), as the active speaker is chosen from. */
  audioLevel(stream: string): number { return this.#speakers.level(stream); }

  /** Joins the room; rejects (state `failed`) when the first join is refused or the edge cannot be reached. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`already ${this.#state}`);
    this.#setState('connecting');
    try {
      await this.#connect();
    } catch (error) {
      this.#lastError = (error as Error).message;
      this.#setState('failed');
      throw error;
    }
  }

  /** Publishes `media` as `stream` (replacing what was published); it is republished after every reconnect. */
  async publish(stream: string, media: MediaStream): Promise<void> {
    if (!this.canPublish) throw new ClassroomError('webrtc_unavailable', 'this browser has no WebRTC: it cannot publish');
    this.#published = { stream, media };
    this.#publication?.stop();
    this.#publication = null;
    this.#changed();
    if (this.#state === 'joined') {
      await this.#republish(this.#generation);
      this.#reportMediaState();
    }
  }

  /** Stops publishing (the local media stays the caller's). */
  unpublish(): void {
    this.#published = null;
    this.#publication?.stop();
    this.#publication = null;
    this.#reportMediaState();
    this.#changed();
  }

  /** Mutes or unmutes what this page publishes (kept through reconnects: it is the local tracks' state). */
  setMuted(kind: 'audio' | 'video', muted: boolean): void {
    setTracksMuted(this.#published?.media, kind, muted);
    this.#reportMediaState();
    this.#changed();
  }

  /** Tells the classroom whether the microphone and camera are muted (a refusal changes nothing here: the tracks are muted all the same). */
  #reportMediaState(): void {
    if (this.#state !== 'joined' || !this.#client) return;
    this.#client.call('setMediaState', { audio: this.isMuted('audio'), video: this.isMuted('video') }).catch(() => {});
  }

  isMuted(kind: 'audio' | 'video'): boolean { return tracksMuted(this.#published?.media, kind); }

  // Async so that "not in the room" is a rejection like any refusal.
  async chat(text: string): Promise<JsonValue> { return this.#joinedClient().chat(text); }
  async raiseHand(): Promise<JsonValue> { return this.#joinedClient().call('raiseHand'); }
  /** Lowers this member's hand, or (a teacher) another member's. */
  async lowerHand(memberId?: string): Promise<JsonValue> { return memberId === undefined ? this.#joinedClient().call('lowerHand') : this.#joinedClient().call('lowerHand', memberId); }
  async call<T = JsonValue>(method: string, ...args: JsonValue[]): Promise<T> { return this.#joinedClient().call<T>(method, ...args); }

  /** Starts recording the room (teachers may; anyone else is refused and `recordingRefusal` says why); resolves with the room's recording state. */
  startRecording(): Promise<JsonValue> { return this.#setRecording(true); }
  stopRecording(): Promise<JsonValue> { return this.#setRecording(false); }

  async #setRecording(starting: boolean): Promise<JsonValue> {
    try {
      const state = await this.call(starting ? 'startRecording' : 'stopRecording');
      this.#recordingRefusal = null;
      return state;
    } catch (error) {
      this.#recordingRefusal = { starting, reason: (error as Error).message };
      throw error;
    } finally {
      this.#changed();
    }
  }

  /** Leaves the room: publications and playbacks end, the socket closes, no reconnect. */
  leave(): void {
    this.#setState('left');
    this.#teardown();
    this.#client?.close(1000, 'left');
    this.#client = null;
  }

  #joinedClient(): ClassroomClient {
    if (this.#state !== 'joined' || !this.#client) throw new ClassroomError('not_joined', 'not in the room (reconnecting?)');
    return this.#client;
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    const { url, room, name, role, token, openSocket } = this.options;
    const client = await ClassroomClient.open(url, openSocket);
    if (generation !== this.#generation) { client.close(); return; }
    this.#client = client;
    client.addEventListener('close', () => this.#onDropped(generation));
    client.methods.set('areYouThere', () => 'here');
    try {
      await client.join(room, name, role, token);
      this.#self = await client.call<RosterMember>('whoami');
      for (const [objectName] of USED_OBJECTS) {
        const refresh = () => { if (generation === this.#generation) this.#refresh(); };
        client.on('so.sync', (m) => { if (m.name === objectName) refresh(); });
        client.on('so.change', (m) => { if (m.name === objectName) refresh(); });
      }
      await Promise.all(USED_OBJECTS.map(([objectName, persistent]) => client.useSharedObject(objectName, persistent)));
    } catch (error) {
      // This connection is over: its close must not schedule a reconnect of its own (the caller decides).
      if (generation === this.#generation) this.#generation++;
      client.close(1000, 'join failed');
      throw error;
    }
    if (generation !== this.#generation) return;
    this.#backoff.reset();
    this.#lastError = null;
    this.#setState('joined');
    this.#refresh();
    this.#startSpeakerPolling(generation);
    // A publish that fails leaves the member in the room (lastError says why).
    if (this.#published) await this.#republish(generation).catch(() => {});
    this.#reportMediaState();
  }

  async #republish(generation: number): Promise<void> {
    const wanted = this.#published;
    if (!wanted || !this.#client) return;
    try {
      const publication = await publish(this.#signaller(), wanted.stream, wanted.media, this.options.webrtc);
      if (generation !== this.#generation || this.#published !== wanted) { publication.stop(); return; }
      this.#publication = publication;
      this.#lastError = null;
      // Ended by the edge (the origin stopped the stream, say) or failed: not republished until the next (re)join or publish.
      void publication.ended.then(() => {
        if (this.#publication !== publication) return;
        publication.stop();
        this.#publication = null;
        this.#changed();
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#lastError = `publishing failed: ${(error as Error).message}`;
      throw error;
    } finally {
      this.#changed();
    }
  }

  #signaller(): Signaller {
    return new WebSocketSignaller(this.#client!);
  }

  #onDropped(generation: number): void {
    if (generation !== this.#generation || this.#state === 'left' || this.#state === 'failed') return;
    this.#generation++;
    this.#teardown();
    this.#client = null;
    this.#setState('reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer) return; // one attempt at a time, whichever of the socket's close and the join's refusal came first
    const delay = this.#backoff.next();
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#state !== 'reconnecting') return;
      this.#connect().catch((error: Error) => {
        if (this.#state !== 'reconnecting') return;
        this.#lastError = error.message;
        // A refused token stays refused; anything else (the edge still down, the origin still holding the old member) is tried again.
        if (error instanceof ClassroomError && error.code === 'forbidden') return this.#setState('failed');
        this.#scheduleReconnect();
        this.#changed();
      });
    }, delay);
  }

  /** Reads every stream's audio counters every speakerPollMs; the speaker is recomputed and shown when it changes. */
  #startSpeakerPolling(generation: number): void {
    const every = this.options.speakerPollMs ?? 250;
    if (every <= 0) return;
    let reading = false;
    this.#speakerTimer = setInterval(() => {
      if (reading || generation !== this.#generation) return;
      reading = true;
      void this.#readAudioLevels().then((readings) => {
        reading = false;
        if (generation !== this.#generation) return;
        const before = this.#speakers.speaker;
        if (this.#speakers.update(Date.now(), readings) !== before) this.#changed();
      });
    }, every);
  }

  async #readAudioLevels(): Promise<Map<string, AudioSample>> {
    const sources: Array<[string, { audioSample(): Promise<AudioSample | null> }]> = [...this.#playbacks];
    if (this.#publication) sources.push([this.#publication.stream, this.#publication]);
    const readings = new Map<string, AudioSample>();
    await Promise.all(sources.map(async ([stream, source]) => {
      const sample = await source.audioSample().catch(() => null);
      if (sample) readings.set(stream, sample);
    }));
    return readings;
  }

  /** Ends what belongs to the connection that is gone; what was published is kept for the rejoin. */
  #teardown(): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    if (this.#speakerTimer) clearInterval(this.#speakerTimer);
    this.#speakerTimer = null;
    this.#publication?.stop();
    this.#publication = null;
    for (const playback of this.#playbacks.values()) playback.stop();
    this.#playbacks.clear();
    this.#starting.clear();
  }

  #refresh(): void {
    const data = (name: string) => this.#client?.sharedObjects.get(name)?.data;
    this.#snapshot = roomSnapshot({
      roster: data(CLASSROOM_OBJECTS.roster), chat: data(CLASSROOM_OBJECTS.chat), room: data(CLASSROOM_OBJECTS.room), whiteboard: data(CLASSROOM_OBJECTS.whiteboard),
    }, this.#self?.id ?? null);
    this.#syncPlaybacks();
    this.#changed();
  }

  /** Plays streams that appeared, stops those that went. */
  #syncPlaybacks(): void {
    if (this.#state !== 'joined') return;
    const wanted = new Set(remoteStreams(this.#snapshot));
    for (const [stream, playback] of this.#playbacks) {
      if (wanted.has(stream)) continue;
      playback.stop();
      this.#playbacks.delete(stream);
    }
    for (const stream of wanted) if (!this.#playbacks.has(stream) && !this.#starting.has(stream)) void this.#startPlayback(stream, this.#generation);
  }

  async #startPlayback(stream: string, generation: number): Promise<void> {
    if (this.#transports.transportFor(stream) === 'ws-flv') return this.#startFlvPlayback(stream, generation);
    this.#starting.add(stream);
    let playback: Playback | null = null;
    try {
      playback = await play(this.#signaller(), stream, this.options.webrtc);
    } catch {
      // Not playable yet (or refused): tried again while the room still lists it.
    }
    if (generation !== this.#generation) { playback?.stop(); return; }
    if (!playback) return this.#retryPlayback(stream, generation);
    this.#starting.delete(stream);
    if (!remoteStreams(this.#snapshot).includes(stream)) { playback.stop(); return; }
    this.#playbacks.set(stream, playback);
    this.#changed();
    // A connection that never comes up (ICE or DTLS blocked on the way: it fails, or is still not
    // connected after webrtc.connectTimeoutMs) counts towards playing the stream over WS-FLV.
    let connected = false;
    void playback.ended.then(() => {
      if (!connected && playback.pc.connectionState === 'failed' && this.#playbacks.get(stream) === playback) this.#transports.webRtcFailed(stream);
      this.#endPlayback(stream, playback, generation);
    });
    void playback.connected.then((ok) => {
      if (ok) { connected = true; return this.#transports.webRtcConnected(stream); }
      // Gone already, or failed: counted where it ended.
      if (this.#playbacks.get(stream) !== playback || playback.pc.connectionState === 'failed') return;
      this.#transports.webRtcFailed(stream);
      this.#endPlayback(stream, playback, generation);
    });
  }

  /** Plays `stream` over WS-FLV: the view's player starts on the address; a failure is tried again like a WebRTC one. */
  #startFlvPlayback(stream: string, generation: number): void {
    const { url, room, token } = this.options;
    const playback = new FlvPlayback(stream, flvPlaybackUrl(url, room, stream, token, this.#self?.name));
    this.#playbacks.set(stream, playback);
    this.#changed();
    void playback.ended.then(() => this.#endPlayback(stream, playback, generation));
  }

  /** Stops a playback that ended or failed (if it is still the stream's) and plays the stream again later. */
  #endPlayback(stream: string, playback: RemotePlayback, generation: number): void {
    if (this.#playbacks.get(stream) !== playback) return;
    playback.stop();
    this.#playbacks.delete(stream);
    this.#changed();
    if (generation === this.#generation) this.#retryPlayback(stream, generation);
  }

  #retryPlayback(stream: string, generation: number): void {
    this.#starting.add(stream);
    setTimeout(() => {
      this.#starting.delete(stream);
      if (generation === this.#generation) this.#syncPlaybacks();
    }, this.options.replayDelayMs ?? 2000);
  }

  #setState(state: SessionState): void {
    this.#state = state;
    this.#changed();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
