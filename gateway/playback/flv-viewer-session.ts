/**
 * A playback viewer on the link: one session the origin sees like an RTMP client (SessionOpen
 * with protocol 'http-flv'/'ws-flv' and the browser's address, then connect, createStream and
 * play), so the origin's application may refuse it and the edge still carries one upstream copy
 * of the stream. The origin answers the play with PlayAttach; the edge relay then delivers to
 * this session's MediaOutput (FLV to a browser, or to a transcoder's ffmpeg).
 */
import { EventEmitter } from 'node:events';
import type { AmfObject } from '#protocol/amf/types.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { MessageType, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { LinkFrameKind } from '#protocol/link/link-frame.ts';
import { nextSessionId } from '#common/session-transport.ts';
import type { MediaOutput } from '#common/media/live-delivery.ts';
import type { Logger } from '#common/logger.ts';
import type { LinkSender } from '../session/edge-session.ts';

export interface FlvViewerOptions {
  /** connect's app: `application/room`. */
  app: string;
  stream: string;
  protocol: string;
  remoteAddress: string;
  remotePort: number;
  /** Where the relay delivers the stream. */
  output: MediaOutput;
}

export interface FlvViewerEvents {
  /** The origin started the play (NetStream.Play.Start). */
  playing: [];
  /** The session ended; `reason` says why (null when closed by its owner without one). */
  close: [reason: string | null];
}

const CONNECT_TX = 1;
const CREATE_STREAM_TX = 2;
/** Statuses that end a viewer: the origin refused or lost what it asked for. */
const FAILURES = /^NetConnection\.Connect\.(Rejected|Failed|Closed)$|^NetStream\.Play\.(StreamNotFound|Failed|BadName)$|Play\.Forbidden|\.Failed$/;

function infoOf(command: RtmpCommand): { code: string; description: string } {
  const info = (command.args[0] ?? {}) as AmfObject;
  return { code: typeof info.code === 'string' ? info.code : '', description: typeof info.description === 'string' ? info.description : '' };
}

export class FlvViewerSession extends EventEmitter<FlvViewerEvents> {
  readonly id = nextSessionId();
  readonly output: MediaOutput;
  readonly log: Logger;
  readonly #options: FlvViewerOptions;
  readonly #link: LinkSender;
  #open = false;
  #streamId = 0;
  #closed = false;

  constructor(options: FlvViewerOptions, link: LinkSender, log: Logger) {
    super();
    this.#options = options;
    this.output = options.output;
    this.#link = link;
    this.log = log.child(`${options.protocol}#${this.id}`);
  }

  get streamKey(): string { return `${this.#options.app}/${this.#options.stream}`; }

  /** Opens the session and asks the origin to connect; false (and closed) if the link is down. */
  start(): boolean {
    const { remoteAddress, remotePort, protocol, app } = this.#options;
    this.#open = this.#link.send({ kind: LinkFrameKind.SessionOpen, sessionId: this.id, remoteAddress, remotePort, protocol });
    if (!this.#open) {
      this.close('the edge has no link to the origin');
      return false;
    }
    this.#send(encodeCommand({ name: 'connect', transactionId: CONNECT_TX, args: [], commandObject: {
      app, tcUrl: `rtmp://edge/${app}`, flashVer: `classroom-gateway ${protocol}`, fpad: false, capabilities: 15, audioCodecs: 0x0fff, videoCodecs: 0xff, objectEncoding: 0,
    } }, 0));
    return true;
  }

  /** A message of this session from the origin. */
  deliver(message: RtmpMessage): void {
    if (this.#closed || (message.type !== MessageType.CommandAmf0 && message.type !== MessageType.CommandAmf3)) return;
    let command: RtmpCommand;
    try {
      command = decodeCommand(message);
    } catch {
      return;
    }
    if (command.name === '_error') return this.close(infoOf(command).description || `${command.name} to transaction ${command.transactionId}`);
    if (command.name === '_result' && command.transactionId === CONNECT_TX) {
      this.#send(encodeCommand({ name: 'createStream', transactionId: CREATE_STREAM_TX, commandObject: null, args: [] }, 0));
      return;
    }
    if (command.name === '_result' && command.transactionId === CREATE_STREAM_TX) {
      this.#streamId = typeof command.args[0] === 'number' ? command.args[0] : 1;
      this.#send(encodeCommand({ name: 'play', transactionId: 0, commandObject: null, args: [this.#options.stream, -1000] }, this.#streamId));
      return;
    }
    if (command.name === 'onStatus') {
      const { code, description } = infoOf(command);
      if (code === 'NetStream.Play.Start') {
        this.log.info('playing', { stream: this.streamKey });
        this.emit('playing');
      } else if (FAILURES.test(code)) {
        this.close(`${code}${description ? `: ${description}` : ''}`);
      }
    }
  }

  /** The origin ended the session. */
  closeFromOrigin(reason: string): void {
    this.#open = false;
    this.close(reason || 'closed by the origin');
  }

  close(reason: string | null): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#open) this.#link.send({ kind: LinkFrameKind.SessionClose, sessionId: this.id, reason: 'viewer left' });
    this.#open = false;
    this.log.info('viewer session closed', { stream: this.streamKey, reason: reason ?? undefined });
    this.emit('close', reason);
  }

  #send(message: RtmpMessage): void {
    if (!this.#open) return;
    this.#link.send({ kind: LinkFrameKind.Message, sessionId: this.id, type: message.type, timestamp: message.timestamp, streamId: message.streamId, payload: message.payload });
  }
}
