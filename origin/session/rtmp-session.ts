/**
 * One RTMP client of the origin: the NetConnection commands (connect, createStream, the FMS
 * extras that ffmpeg and OBS send) and the NetStreams it creates, each a Publisher or a Player.
 * A malformed or unknown command gets an error reply; only protocol violations close the client.
 */
import { EventEmitter } from 'node:events';
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { ProtocolError } from '#protocol/errors.ts';
import { decodeCommand, encodeCommand, encodeData, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { streamBeginMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId, MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import type { RtmpConnection } from '#common/rtmp-connection.ts';
import type { Logger } from '#common/logger.ts';
import { OriginError } from '../core/errors.ts';
import { parseScope, parseStreamName, streamKey, type Scope } from '../core/scope.ts';
import type { OriginContext } from '../core/origin-context.ts';
import type { NetStreamContext } from './net-stream-context.ts';
import { Player } from './player.ts';
import { Publisher, type PublishType } from './publisher.ts';
import { errorCommand, notifyCommand, onStatusCommand, resultCommand, statusInfo, type StatusInfo } from './status.ts';

export interface SessionOptions {
  /** Applications clients may connect to (first element of the connect `app`). */
  applications: readonly string[];
  /** NetStreams one connection may hold at once. */
  maxStreamsPerConnection: number;
  maxPlayerBacklogBytes: number;
}

export interface RtmpSessionEvents {
  close: [];
}

const FMS_VERSION = 'FMS/3,5,7,7009';

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
  readonly connection: RtmpConnection;
  readonly log: Logger;
  readonly #origin: OriginContext;
  readonly #options: SessionOptions;
  #scope: Scope | null = null;
  #amf3 = false;
  readonly #streams = new Map<number, Publisher | Player | null>();
  #nextStreamId = 1;
  #closed = false;

  constructor(connection: RtmpConnection, origin: OriginContext, options: SessionOptions) {
    super();
    this.connection = connection;
    this.log = connection.log;
    this.#origin = origin;
    this.#options = options;
    connection.on('message', (message) => this.#onMessage(message));
    connection.on('close', () => this.#onClose());
  }

  get scope(): Scope | null { return this.#scope; }

  close(reason: string | null = null): void {
    this.connection.close(reason);
  }

  sendStatus(streamId: number, info: StatusInfo): void {
    this.#sendCommand(onStatusCommand(info), streamId);
  }

  sendData(streamId: number, values: AmfValue[]): void {
    this.connection.send(encodeData(values, streamId, 0, false), ChunkStreamId.Data);
  }

  #sendCommand(command: RtmpCommand, streamId = 0): void {
    this.connection.send(encodeCommand(command, streamId, this.#amf3), ChunkStreamId.Command);
  }

  #onMessage(message: RtmpMessage): void {
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
      if (!(error instanceof OriginError)) throw error;
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
    if (!this.#options.applications.includes(scope.application)) {
      return this.#rejectConnect(command, `Unknown application '${scope.application}'`);
    }
    this.#scope = scope;
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
    });
  }

  #rejectConnect(command: RtmpCommand, reason: string): void {
    this.log.warn('connect rejected', { reason });
    this.#sendCommand(errorCommand(command.transactionId,
      statusInfo('error', 'NetConnection.Connect.Rejected', reason, { application: reason })));
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
        this.#sendCommand(resultCommand(tx, null, 0)); // live streams have no length; recordings come with VOD
        return;
      case '_result':
      case '_error':
      case 'onBWDone':
      case 'onStatus':
        return; // replies to calls we did not make, or notifications: nothing to answer
      default:
        this.log.info('unknown method called', { method: command.name });
        if (tx !== 0) {
          this.#sendCommand(errorCommand(tx, statusInfo('error', 'NetConnection.Call.Failed', `Method not found (${command.name}).`)));
        }
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
        if (role instanceof Player) role.pause(first === true);
        return;
      case 'receiveAudio':
        if (role instanceof Player) role.receiveAudio(first !== false);
        return;
      case 'receiveVideo':
        if (role instanceof Player) role.receiveVideo(first !== false);
        return;
      case 'seek':
        this.sendStatus(streamId, statusInfo('error', 'NetStream.Seek.Failed', 'Live streams cannot seek.'));
        return;
      default:
        this.#onConnectionCommand(command);
    }
  }

  #publish(streamId: number, rawName: AmfValue, rawType: AmfValue): void {
    const name = typeof rawName === 'string' ? rawName : '';
    if (this.#streams.get(streamId)) this.#closeRole(streamId, false);
    const type: PublishType = rawType === 'record' || rawType === 'append' ? rawType : 'live';
    let publisher: Publisher;
    try {
      const bare = parseStreamName(name);
      publisher = new Publisher(this, streamId, bare, type, this.#origin.hub.open(streamKey(this.#scope!, bare)));
      publisher.start();
    } catch (error) {
      if (!(error instanceof OriginError)) throw error;
      this.log.warn('publish refused', { name, reason: error.message });
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Publish.BadName', error.message, { details: name }));
      return;
    }
    if (type !== 'live') this.log.warn('recording is not available yet: publishing live only', { stream: name, type });
    this.#streams.set(streamId, publisher);
  }

  #play(streamId: number, args: AmfValue[]): void {
    const [rawName, rawStart, rawDuration, rawReset] = args;
    const name = typeof rawName === 'string' ? rawName : '';
    if (this.#streams.get(streamId)) this.#closeRole(streamId, false);
    let bare: string;
    try {
      bare = parseStreamName(name);
    } catch (error) {
      if (!(error instanceof OriginError)) throw error;
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Play.StreamNotFound', error.message, { details: name }));
      return;
    }
    const start = typeof rawStart === 'number' ? rawStart : -2000;
    const key = streamKey(this.#scope!, bare);
    // No recordings exist yet (VOD arrives with recording): a recorded-only play finds a live stream or nothing.
    if (playMode(start) === 'recorded' && !this.#origin.hub.find(key)?.isPublished) {
      this.sendStatus(streamId, statusInfo('error', 'NetStream.Play.StreamNotFound', `Failed to play ${bare}; stream not found.`, { details: bare }));
      return;
    }
    const player = new Player(this, streamId, bare, this.#origin.hub.open(key), {
      duration: typeof rawDuration === 'number' ? rawDuration : -1,
      reset: rawReset !== false && rawReset !== 0,
      maxBacklogBytes: this.#options.maxPlayerBacklogBytes,
    });
    this.#streams.set(streamId, player);
    this.log.info('play', { stream: key, start });
    player.start();
  }

  #closeRole(streamId: number, notify: boolean): void {
    const role = this.#streams.get(streamId);
    if (role instanceof Publisher) role.close(notify);
    else if (role instanceof Player) role.close();
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
    if (this.#scope) this.log.info('disconnected', { app: this.#scope.path });
    this.emit('close');
  }
}
