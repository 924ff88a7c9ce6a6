/**
 * One RTMP client of the origin: the NetConnection commands (connect, createStream, the FMS
 * extras that ffmpeg and OBS send) and the NetStreams it creates, each a Publisher or a Player.
 * A malformed or unknown command gets an error reply; only protocol violations close the client.
 */
import { EventEmitter, once } from 'node:events';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { CommandArgumentsError, decodeCommand, encodeCommand, encodeData, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { streamBeginMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId, MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { Logger } from '#common/logger.ts';
import { ClientError } from '#common/client-error.ts';
import { OriginError } from '../core/errors.ts';
import { StreamBusyError } from '#common/media/live-stream.ts';
import { parseScope, parseStreamName, streamKey, type Scope } from '../core/scope.ts';
import type { OriginContext } from '../core/origin-context.ts';
import type { NetStreamContext } from './net-stream-context.ts';
import { Player } from './player.ts';
import { VodPlayer } from './vod-player.ts';
import { RecordingStore } from '../recording/recording-store.ts';
import { openVodSource } from '../vod/vod-source.ts';
import { Publisher, type PublishType } from './publisher.ts';
import { errorCommand, notifyCommand, onStatusCommand, resultCommand, statusInfo, type StatusInfo } from './status.ts';
import { ConnectRejectedError, type Application } from '../app/application.ts';
import { SessionAppClient } from './app-client.ts';
import { AccessDeniedError } from '#common/auth/access-denied.ts';
import { connectToken } from '../auth/authorizer.ts';
import { tokenInQuery } from '#common/request-token.ts';
import type { Identity } from '#common/auth/identity.ts';
import type { AppClient } from '../app/client.ts';
import { NotOwnerError } from '../cluster/origin-cluster.ts';
import { countAccessRefusal, countConnectRefusal } from '../origin-metrics.ts';

export interface SessionOptions {
  /** Applications clients may connect to (first element of the connect `app`). */
  applications: readonly string[];
  /** NetStreams one connection may hold at once. */
  maxStreamsPerConnection: number;
  maxPlayerBacklogBytes: number;
  /** VOD players send this much media (ms) ahead of real time. */
  vodReadAheadMs: number;
  /** Largest MP3 file played as VOD (read whole into memory). */
  maxVodMp3Bytes: number;
  /** Server-to-client calls fail after this long without an answer. */
  callTimeoutMs: number;
  /** Shared object changes (and classroom writes) one client may make per second. */
  maxSharedObjectChangesPerSecond: number;
}

export interface RtmpSessionEvents {
  close: [];
}

/** One NetStream of a session as the admin API lists it: a live publish, a live play or a recording played. */
export interface NetStreamSummary {
  streamId: number;
  kind: 'publish' | 'play' | 'vod';
  name: string;
  /** `scope/name`: the hub key of a live stream (of a recording: the name in its scope). */
  key: string;
  /** A publish's type (`live`, `record`, `append`). */
  type?: PublishType;
}

const FMS_VERSION = 'FMS/3,5,7,7009';
/** Messages a client may send while its connect is being authorized (it should wait for the answer). */
const MAX_HELD_MESSAGES = 64;

const FC_STATUS: Record<string, string> = {
  FCPublish: 'NetStream.Publish.Start',
  FCUnpublish: 'NetStream.Unpublish.Success',
  FCSubscribe: 'NetStream.Play.Start',
  FCUnsubscribe: 'NetStream.Play.Stop',
};

/** Wire `start` of play (ms): -2000 live then recorded, -1000 live only, >= 0 recorded from there. */
function playMode(start: number): 'any' | 'live' | 'recorded' {
  if (start >= 0) return 'recorded';
  return start === -1000 || start === -1 ? 'live' : 'any';
}

export class RtmpSession extends EventEmitter<RtmpSessionEvents> implements NetStreamContext {
  readonly connection: SessionTransport;
  readonly log: Logger;
  readonly #origin: OriginContext;
  readonly #options: SessionOptions;
  #scope: Scope | null = null;
  /** The application's view of this client; set together with #scope when connect is accepted. */
  #client: SessionAppClient | null = null;
  #amf3 = false;
  /** Who the client is (null: a connect that leaves it to each publish and play, see Authorizer). */
  #identity: Identity | null = null;
  /** While connect is being authorized: what the client sent meanwhile, handled once it is answered. */
  #held: RtmpMessage[] | null = null;
  readonly #streams = new Map<number, Publisher | Player | VodPlayer | null>();
  /** Latest play per stream id: an older play whose file lookup finishes late is dropped. */
  readonly #playGeneration = new Map<number, number>();
  #nextStreamId = 1;
  #closed = false;
  /** When connect was accepted (ms since the epoch); 0 before. */
  #connectedAt = 0;

  constructor(connection: SessionTransport, origin: OriginContext, options: SessionOptions) {
    super();
    this.connection = connection;
    this.log = connection.log;
    this.#origin = origin;
    this.#options = options;
    connection.on('message', (message) => this.#onMessage(message));
    connection.on('close', () => this.#onClose());
  }

  get scope(): Scope | null { return this.#scope; }
  get id(): number { return this.connection.id; }
  /** The application's view of this client; null until connect is accepted. */
  get client(): AppClient | null { return this.#client; }
  get identity(): Identity | null { return this.#identity; }
  get connectedAt(): number { return this.#connectedAt; }

  /** What this client's NetStreams do now (streams created and idle are left out). */
  netStreams(): NetStreamSummary[] {
    const scope = this.#scope;
    if (!scope) return [];
    const summaries: NetStreamSummary[] = [];
    for (const [streamId, role] of this.#streams) {
      if (role instanceof Publisher) summaries.push({ streamId, kind: 'publish', name: role.name, key: role.stream.key, type: role.type });
      else if (role) summaries.push({ streamId, kind: role instanceof Player ? 'play' : 'vod', name: role.name, key: streamKey(scope, role.name) });
    }
    return summaries;
  }

  /**
   * An administrator disconnects the client: its NetConnection gets onStatus
   * NetConnection.Connect.Closed (level status, the reason in `description`), then, 100 ms later so
   * the status goes first, the connection closes and its streams end as on any disconnect (an edge
   * client's edge gets SessionClose with the reason). Resolves once the session is closed.
   */
  async kick(reason: string): Promise<void> {
    if (this.#closed) return;
    const closed = once(this, 'close');
    if (this.#scope && !this.connection.closed) this.sendStatus(0, statusInfo('status', 'NetConnection.Connect.Closed', reason, { reason }));
    setTimeout(() => this.close(`disconnected by an administrator: ${reason}`), 100).unref();
    await closed;
  }

  /**
   * An administrator stops this client publishing the live stream `key`: the publish ends as an
   * unpublish does (its recordings finish with their final metadata, players get UnpublishNotify),
   * and the NetStream gets onStatus NetStream.Failed (level error, the reason in `description`), on
   * which ffmpeg and OBS stop. The connection stays. False when this client does not publish `key`.
   */
  stopPublishing(key: string, reason: string): boolean {
    for (const [streamId, role] of this.#streams) {
      if (!(role instanceof Publisher) || role.stream.key !== key) continue;
      this.#closeRole(streamId, false);
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Failed', reason, { details: role.name, clientid: this.connection.id }));
      this.log.info('publish stopped by an administrator', { stream: key, reason });
      return true;
    }
    return false;
  }

  close(reason: string | null = null): void {
    this.connection.close(reason);
  }

  /**
   * The server is shutting down: a connected client is told so on its NetConnection, as FMS and
   * Red5 do (level error); its connection closes later. False when there is no NetConnection yet.
   */
  notifyShutdown(): boolean {
    if (!this.scope || this.connection.closed) return false;
    this.sendStatus(0, statusInfo('error', 'NetConnection.Connect.AppShutdown', 'The server is shutting down.'));
    return true;
  }

  sendStatus(streamId: number, info: StatusInfo, timestamp = 0): void {
    this.#sendCommand(onStatusCommand(info), streamId, timestamp);
  }

  sendData(streamId: number, values: AmfValue[], timestamp = 0): void {
    this.connection.send(encodeData(values, streamId, timestamp, this.#amf3), ChunkStreamId.Data);
  }

  #sendCommand(command: RtmpCommand, streamId = 0, timestamp = 0): void {
    // The codec stamps commands 0; a live player's statuses carry its media's time.
    this.connection.send({ ...encodeCommand(command, streamId, this.#amf3), timestamp }, ChunkStreamId.Command);
  }

  #onMessage(message: RtmpMessage): void {
    if (this.#held) {
      if (this.#held.length >= MAX_HELD_MESSAGES) throw new ProtocolError('connect.flood', `more than ${MAX_HELD_MESSAGES} messages before connect was answered`);
      this.#held.push(message);
      return;
    }
    switch (message.type) {
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.#onCommand(message);
        return;
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3: {
        const role = this.#streams.get(message.streamId);
        if (role instanceof Publisher) role.onMessage(message);
        else if (message.type === MessageType.Audio || message.type === MessageType.Video) {
          this.log.debug('media on a stream that is not publishing, ignored', { streamId: message.streamId });
        }
        return;
      }
      case MessageType.SharedObjectAmf0:
      case MessageType.SharedObjectAmf3:
        if (this.#client) this.#client.handleSharedObject(message);
        else this.close('shared object message before connect');
        return;
      case MessageType.UserControl:
        return; // SetBufferLength and the like: hints we do not need for live
      default:
        this.log.debug('message type not handled yet', { type: message.type, streamId: message.streamId });
    }
  }

  #onCommand(message: RtmpMessage): void {
    let command: RtmpCommand;
    try {
      command = decodeCommand(message);
    } catch (error) {
      // Name and transaction readable, arguments malformed: that call is refused, the client stays.
      if (error instanceof CommandArgumentsError && this.#client) return this.#client.handleMalformedCall(error);
      // A command we cannot even parse has no transaction to answer: the peer is broken.
      throw error instanceof ProtocolError ? error : new ProtocolError('command.invalid', String(error));
    }
    this.log.debug('command', { name: command.name, tx: command.transactionId, streamId: message.streamId });
    if (command.name === 'connect') return this.#connect(command);
    if (!this.#scope) {
      this.close(`'${command.name}' before connect`);
      return;
    }
    try {
      if (message.streamId !== 0 && this.#streams.has(message.streamId)) this.#onStreamCommand(command, message.streamId);
      else this.#onConnectionCommand(command);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      this.#sendCommand(errorCommand(command.transactionId, statusInfo('error', 'NetConnection.Call.Failed', error.message)));
    }
  }

  #connect(command: RtmpCommand): void {
    if (this.#scope) {
      this.close('second connect on one connection');
      return;
    }
    const props = (command.commandObject ?? {}) as AmfObject;
    this.#amf3 = props.objectEncoding === 3;
    const app = typeof props.app === 'string' ? props.app : '';
    let scope: Scope;
    try {
      scope = parseScope(app);
    } catch (error) {
      return this.#rejectConnect(command, `Invalid application path: ${(error as Error).message}`);
    }
    const application = this.#origin.applications.get(scope.application);
    if (!this.#options.applications.includes(scope.application) || !application) {
      return this.#rejectConnect(command, `Unknown application '${scope.application}'`);
    }
    // Authorization may look things up: what the client sends meanwhile waits for its answer.
    this.#held = [];
    // Cluster mode: the room must be this origin's (the edge placed it here) before anything else.
    const owned = this.#origin.roomOwnership?.admit(scope.path) ?? Promise.resolve();
    owned.then(() => this.#origin.authorizer.connect(scope, connectToken(props, command.args), command.args, application.admitsMembers)).then(
      (identity) => this.#admit(command, props, scope, application, identity),
      (error: Error) => {
        const refused = error instanceof AccessDeniedError || error instanceof NotOwnerError;
        if (!refused) this.log.error('authorization failed', { app: scope.path, error: error.stack ?? String(error) });
        this.#rejectConnect(command, refused ? error.message : 'Internal error while authorizing.', refused ? error.code : undefined,
          error instanceof NotOwnerError ? error.ownerInfo() : {});
      },
    ).finally(() => this.#releaseHeld());
  }

  /** The authorized client joins the application's room, which may still refuse it. */
  #admit(command: RtmpCommand, props: AmfObject, scope: Scope, application: Application<unknown>, identity: Identity | null): void {
    if (this.#closed) return;
    const client = new SessionAppClient(this.connection, scope, { commandObject: props, args: command.args }, this.#amf3, application, {
      callTimeoutMs: this.#options.callTimeoutMs, maxChangesPerSecond: this.#options.maxSharedObjectChangesPerSecond,
    }, identity);
    try {
      client.join(); // the application's connect handler accepts or throws its reason
    } catch (error) {
      if (error instanceof ConnectRejectedError) return this.#rejectConnect(command, error.message);
      this.log.error('connect handler failed', { app: scope.path, error: (error as Error).stack ?? String(error) });
      return this.#rejectConnect(command, 'Internal error in the application.');
    }
    this.#client = client;
    this.#scope = scope;
    this.#identity = identity;
    this.#connectedAt = Date.now();
    this.connection.sendServerParameters();
    this.connection.send(streamBeginMessage(0), ChunkStreamId.Control);
    this.#sendCommand(resultCommand(command.transactionId,
      { fmsVer: FMS_VERSION, capabilities: 31, mode: 1 },
      statusInfo('status', 'NetConnection.Connect.Success', 'Connection succeeded.', {
        objectEncoding: this.#amf3 ? 3 : 0,
        data: { version: FMS_VERSION.slice(4) },
      })));
    this.log.info('connected', {
      peer: `${this.connection.remoteAddress}:${this.connection.remotePort}`, app: scope.path,
      flashVer: typeof props.flashVer === 'string' ? props.flashVer : undefined, objectEncoding: this.#amf3 ? 3 : 0,
      ...identity?.describe(),
    });
  }

  /** Handles what came in while connect was being authorized (nothing, if it was refused). */
  #releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    if (this.#closed || !this.#scope) return;
    try {
      for (const message of held) {
        if (this.#closed) return;
        this.#onMessage(message);
      }
    } catch (error) {
      if (error instanceof ProtocolError) return this.close(`${error.code}: ${error.message}`);
      this.log.error('internal error while handling client data', { error: (error as Error).stack ?? String(error) });
      this.close('internal error');
    }
  }

  /** `extra`: more of the refusal for the client (a `cluster.not_owner` names the owner, which the edge routes the client to). */
  #rejectConnect(command: RtmpCommand, reason: string, code?: string, extra: AmfObject = {}): void {
    this.log.warn('connect rejected', { reason, ...(code ? { code } : {}) });
    countConnectRefusal(reason, code);
    this.#sendCommand(errorCommand(command.transactionId,
      statusInfo('error', 'NetConnection.Connect.Rejected', reason, { application: reason, ...(code ? { error: code } : {}), ...extra })));
    // Let the reply reach the client before the connection goes.
    setTimeout(() => this.close(null), 100).unref();
  }

  #onConnectionCommand(command: RtmpCommand): void {
    const tx = command.transactionId;
    switch (command.name) {
      case 'createStream': {
        if (this.#streams.size >= this.#options.maxStreamsPerConnection) {
          throw new OriginError('stream.limit', `at most ${this.#options.maxStreamsPerConnection} streams per connection`);
        }
        const id = this.#nextStreamId++;
        this.#streams.set(id, null);
        this.#sendCommand(resultCommand(tx, null, id));
        return;
      }
      case 'deleteStream':
      case 'closeStream': {
        const id = command.args[0];
        if (typeof id === 'number') this.#deleteStream(id);
        return;
      }
      case 'releaseStream':
      case '_checkbw':
        if (tx !== 0) this.#sendCommand(resultCommand(tx, null, undefined));
        return;
      case 'FCPublish':
      case 'FCUnpublish':
      case 'FCSubscribe':
      case 'FCUnsubscribe': {
        // FMS answers these with an onFC* call (encoders wait for onFCPublish) and, when asked, a _result.
        const name = String(command.args[0] ?? '');
        this.#sendCommand(notifyCommand(`on${command.name}`, statusInfo('status', FC_STATUS[command.name], name, { details: name })));
        if (tx !== 0 && command.name.endsWith('Publish')) this.#sendCommand(resultCommand(tx, null, undefined));
        return;
      }
      case 'getStreamLength':
        // Live streams have no length; a recording's is its duration in seconds.
        void this.#streamLength(String(command.args[0] ?? '')).then((seconds) => this.#sendCommand(resultCommand(tx, null, seconds)));
        return;
      case '_result':
      case '_error':
        // Replies to the application's calls to this client; others answer nothing we asked.
        this.#client!.handleReply(command);
        return;
      case 'onBWDone':
      case 'onStatus':
        return; // notifications: nothing to answer
      default:
        // The application's methods; unknown ones get _error NetConnection.Call.Failed.
        this.#client!.handleCall(command);
    }
  }

  #onStreamCommand(command: RtmpCommand, streamId: number): void {
    const role = this.#streams.get(streamId);
    const [first] = command.args;
    switch (command.name) {
      case 'publish':
        return this.#publish(streamId, first, command.args[1]);
      case 'play':
        return this.#play(streamId, command.args);
      case 'closeStream':
        return this.#closeRole(streamId, true);
      case 'deleteStream':
        return this.#deleteStream(typeof first === 'number' ? first : streamId);
      case 'pause':
        if (role instanceof Player || role instanceof VodPlayer) role.pause(first === true);
        return;
      case 'receiveAudio':
        if (role instanceof Player || role instanceof VodPlayer) role.receiveAudio(first !== false);
        return;
      case 'receiveVideo':
        if (role instanceof Player || role instanceof VodPlayer) role.receiveVideo(first !== false);
        return;
      case 'seek':
        if (role instanceof VodPlayer && typeof first === 'number') {
          role.seek(first).catch((error: Error) => this.log.warn('seek failed', { error: error.message }));
          return;
        }
        this.sendStatus(streamId, statusInfo('error', 'NetStream.Seek.Failed', 'Live streams cannot seek.'));
        return;
      default:
        this.#onConnectionCommand(command);
    }
  }

  /**
   * Runs `then` once `right` is allowed for the stream name: at once when the connection's
   * identity decides, else after the token on the name (`?token=`) is verified; what the client
   * sends meanwhile waits. A refusal is the stream's error status (`deniedCode`) with the reason.
   */
  #authorizeStream(streamId: number, name: string, right: 'publish' | 'play', deniedCode: string, then: () => void): void {
    const authorizer = this.#origin.authorizer;
    const scope = this.#scope!;
    const bare = name.split('?')[0]!;
    const deny = (error: Error) => {
      if (!(error instanceof AccessDeniedError || error instanceof NotOwnerError)) throw error;
      this.log.warn(`${right} refused`, { name: bare, code: error.code, reason: error.message });
      if (error instanceof AccessDeniedError) countAccessRefusal(right, error.code);
      this.sendStatus(streamId, statusInfo('error', deniedCode, error.message,
        { details: bare, error: error.code, ...(error instanceof NotOwnerError ? error.ownerInfo() : {}) }));
    };
    // Cluster mode: streams of an application's own scope (`live`) are placed by name, the stream must be this origin's.
    const ownership = scope.room === '' ? this.#origin.roomOwnership : null;
    const token = tokenInQuery(name);
    if (token === null && !ownership) {
      try {
        authorizer.allowStream(scope, this.#identity, right);
      } catch (error) {
        return deny(error as Error);
      }
      return then();
    }
    this.#held = [];
    (ownership?.admit(`${scope.path}/${bare}`) ?? Promise.resolve())
      .then(() => (token === null ? this.#identity : authorizer.streamToken(scope, token)))
      .then((identity) => {
        if (this.#closed) return;
        authorizer.allowStream(scope, identity, right);
        if (token !== null && identity) this.log.info(`${right} authorized by the stream's token`, identity.describe());
        then();
      })
      .catch((error: Error) => {
        if (this.#closed) return;
        if (error instanceof AccessDeniedError || error instanceof NotOwnerError) return deny(error);
        this.log.error('authorization failed', { error: error.stack ?? String(error) });
        this.close('internal error');
      })
      .finally(() => this.#releaseHeld());
  }

  #publish(streamId: number, rawName: AmfValue, rawType: AmfValue): void {
    const name = typeof rawName === 'string' ? rawName : '';
    if (this.#streams.get(streamId)) this.#closeRole(streamId, false);
    this.#authorizeStream(streamId, name, 'publish', 'NetStream.Publish.BadName', () => this.#startPublish(streamId, name, rawType));
  }

  #startPublish(streamId: number, rawName: string, rawType: AmfValue): void {
    // The query (a token, a stream key) is not part of the name, nor of any log line.
    const name = rawName.split('?')[0]!;
    const type: PublishType = rawType === 'record' || rawType === 'append' ? rawType : 'live';
    if (type !== 'live') {
      // Recorded names become file names: separators, '..' and the like are refused outright.
      try {
        RecordingStore.recordName(name);
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        this.log.warn('record refused', { name, reason: error.message });
        this.sendStatus(streamId, statusInfo('error', 'NetStream.Record.NoAccess', error.message, { details: name }));
        return;
      }
    }
    let publisher: Publisher;
    try {
      const bare = parseStreamName(name);
      this.#client!.checkPublish(bare);
      publisher = new Publisher(this, streamId, bare, type, this.#origin.hub.open(streamKey(this.#scope!, bare)), this.#scope!.path, this.#origin.recordings);
      publisher.start();
    } catch (error) {
      if (!(error instanceof ClientError || error instanceof StreamBusyError)) throw error;
      this.log.warn('publish refused', { name, reason: error.message });
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Publish.BadName', error.message, { details: name }));
      return;
    }
    this.#streams.set(streamId, publisher);
    this.#client!.published(publisher.name);
  }

  #play(streamId: number, args: AmfValue[]): void {
    const name = typeof args[0] === 'string' ? args[0] : '';
    if (this.#streams.get(streamId)) this.#closeRole(streamId, false);
    this.#authorizeStream(streamId, name, 'play', 'NetStream.Play.Failed', () => this.#startPlay(streamId, name, args));
  }

  #startPlay(streamId: number, name: string, args: AmfValue[]): void {
    const [, rawStart, rawDuration, rawReset] = args;
    let bare: string;
    try {
      bare = parseStreamName(name);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Play.StreamNotFound', error.message, { details: name }));
      return;
    }
    const start = typeof rawStart === 'number' ? rawStart : -2000;
    const duration = typeof rawDuration === 'number' ? rawDuration : -1;
    const reset = rawReset !== false && rawReset !== 0;
    const key = streamKey(this.#scope!, bare);
    const mode = playMode(start);
    const live = this.#origin.hub.find(key)?.isPublished ?? false;
    // -2000: live if published, else a recording, else wait for the live stream. -1000: live only.
    // >= 0: a recording from `start` (a live stream of that name when there is no file).
    if (mode === 'live' || (mode === 'any' && live)) return this.#playLive(streamId, bare, key, start, duration, reset);
    const generation = (this.#playGeneration.get(streamId) ?? 0) + 1;
    this.#playGeneration.set(streamId, generation);
    void this.#playFile(streamId, bare, key, mode, { start: Math.max(0, start), duration, reset }, generation).catch((error: Error) => {
      this.log.warn('vod play failed', { name: bare, error: error.message });
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Play.Failed', `Failed to play ${bare}: ${error.message}`, { details: bare }));
    });
  }

  async #playFile(streamId: number, bare: string, key: string, mode: 'any' | 'recorded', play: { start: number; duration: number; reset: boolean }, generation: number): Promise<void> {
    const media = await this.#origin.recordings.findMedia(this.#scope!.path, bare);
    const current = () => !this.#closed && this.#playGeneration.get(streamId) === generation && this.#streams.has(streamId) && !this.#streams.get(streamId);
    if (!current()) return;
    if (!media) {
      if (mode === 'any' || this.#origin.hub.find(key)?.isPublished) return this.#playLive(streamId, bare, key, play.start, play.duration, play.reset);
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Play.StreamNotFound', `Failed to play ${bare}; stream not found.`, { details: bare }));
      return;
    }
    const source = await openVodSource(media, this.#options.maxVodMp3Bytes);
    if (!current()) {
      await source.close();
      return;
    }
    const player = new VodPlayer(this, streamId, bare, source, {
      ...play, readAheadMs: this.#options.vodReadAheadMs, maxBacklogBytes: this.#options.maxPlayerBacklogBytes,
    });
    this.#streams.set(streamId, player);
    await player.start();
  }

  /** A recording's duration in seconds for getStreamLength (0 for live streams and unknown names). */
  async #streamLength(name: string): Promise<number> {
    try {
      const media = await this.#origin.recordings.findMedia(this.#scope!.path, parseStreamName(name));
      if (!media) return 0;
      const source = await openVodSource(media, this.#options.maxVodMp3Bytes);
      await source.close();
      return source.durationMs / 1000;
    } catch {
      return 0;
    }
  }

  #playLive(streamId: number, bare: string, key: string, start: number, duration: number, reset: boolean): void {
    const player = new Player(this, streamId, bare, this.#origin.hub.open(key), {
      duration,
      reset,
      maxBacklogBytes: this.#options.maxPlayerBacklogBytes,
    });
    this.#streams.set(streamId, player);
    this.log.info('play', { stream: key, start });
    player.start();
  }

  #closeRole(streamId: number, notify: boolean): void {
    const role = this.#streams.get(streamId);
    if (role instanceof Publisher) {
      role.close(notify);
      this.#client?.unpublished(role.name);
    } else if (role instanceof Player || role instanceof VodPlayer) role.close();
    if (this.#streams.has(streamId)) this.#streams.set(streamId, null);
  }

  #deleteStream(streamId: number): void {
    if (!this.#streams.has(streamId)) return;
    this.#closeRole(streamId, false);
    this.#streams.delete(streamId);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#streams.keys()]) this.#deleteStream(id);
    this.#client?.leave();
    if (this.#scope) this.log.info('disconnected', { app: this.#scope.path });
    this.emit('close');
  }
}
