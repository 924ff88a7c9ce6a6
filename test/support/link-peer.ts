/**
 * A scripted edge for testing the origin's side of the edge link, built only on the protocol
 * codec (frames and proofs): it authenticates (or fails to), opens client sessions, sends RTMP
 * commands as Message frames, records every frame the origin sends, answers pings, and can stop
 * reading its socket to play a lagging edge. The real edge (gateway/) is tested on its own.
 */
import { EventEmitter, once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { edgeProof, newLinkNonce, originProof, proofMatches } from '#protocol/link/link-auth.ts';
import { encodeLinkFrame, LINK_PROTOCOL_VERSION, LinkFrameDecoder, LinkFrameKind, type LinkFrame } from '#protocol/link/link-frame.ts';
import type { AmfValue } from '#protocol/amf/types.ts';
import { decodeCommand, encodeCommand, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { MessageType } from '#protocol/rtmp/message.ts';

export type FrameOf<K extends LinkFrame['kind']> = Extract<LinkFrame, { kind: K }>;

export interface LinkPeerOptions {
  name: string;
  secret: string;
  /** Answer the origin's pings (default true). */
  answerPings?: boolean;
  /** Link over TLS, trusting this certificate (PEM). */
  tlsCa?: Buffer;
}

export class LinkPeer extends EventEmitter<{ frame: [LinkFrame]; close: [] }> {
  readonly socket: Socket;
  readonly name: string;
  /** Every frame received, in order. */
  readonly frames: LinkFrame[] = [];
  readonly #decoder = new LinkFrameDecoder();
  #closed = false;
  #nextTransaction = 1;

  private constructor(socket: Socket, options: LinkPeerOptions) {
    super();
    this.socket = socket;
    this.name = options.name;
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => {
      for (const frame of this.#decoder.push(data)) {
        this.frames.push(frame);
        if (frame.kind === LinkFrameKind.Ping && options.answerPings !== false) this.send({ kind: LinkFrameKind.Pong, id: frame.id });
        this.emit('frame', frame);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => { this.#closed = true; this.emit('close'); });
  }

  get closed(): boolean { return this.#closed; }

  /** A TCP connection to the origin's link port, nothing sent yet. */
  static async open(port: number, options: LinkPeerOptions): Promise<LinkPeer> {
    if (options.tlsCa) {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: options.tlsCa, servername: 'localhost' });
      await once(socket, 'secureConnect');
      return new LinkPeer(socket, options);
    }
    const socket = tcpConnect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new LinkPeer(socket, options);
  }

  /**
   * Connects and runs the handshake: Hello, then Auth for the Challenge. Resolves with AuthOk
   * (its proof checked against originProof) or AuthFailed.
   */
  static async connect(port: number, options: LinkPeerOptions): Promise<{ peer: LinkPeer; result: FrameOf<typeof LinkFrameKind.AuthOk> | FrameOf<typeof LinkFrameKind.AuthFailed>; originProofValid: boolean }> {
    const peer = await LinkPeer.open(port, options);
    const edgeNonce = newLinkNonce();
    peer.send({ kind: LinkFrameKind.Hello, version: LINK_PROTOCOL_VERSION, edgeName: options.name, edgeNonce });
    const challenge = await peer.next(LinkFrameKind.Challenge);
    peer.send({ kind: LinkFrameKind.Auth, proof: edgeProof(options.secret, options.name, challenge.originNonce, edgeNonce) });
    const result = await peer.nextOf((f): f is FrameOf<typeof LinkFrameKind.AuthOk> | FrameOf<typeof LinkFrameKind.AuthFailed> => f.kind === LinkFrameKind.AuthOk || f.kind === LinkFrameKind.AuthFailed);
    const originProofValid = result.kind === LinkFrameKind.AuthOk
      && proofMatches(result.proof, originProof(options.secret, options.name, challenge.originNonce, edgeNonce));
    return { peer, result, originProofValid };
  }

  send(frame: LinkFrame): void {
    if (!this.#closed) this.socket.write(encodeLinkFrame(frame));
  }

  /** The first frame (already received or to come) that matches; frames before it are kept too. */
  nextOf<F extends LinkFrame>(match: (frame: LinkFrame) => frame is F, timeoutMs = 10_000): Promise<F> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('frame', onFrame); reject(new Error(`${this.name}: no matching frame within ${timeoutMs} ms`)); }, timeoutMs);
      const onFrame = (frame: LinkFrame) => {
        if (!match(frame)) return;
        clearTimeout(timer);
        this.off('frame', onFrame);
        resolve(frame);
      };
      this.on('frame', onFrame);
    });
  }

  next<K extends LinkFrame['kind']>(kind: K, where: (frame: FrameOf<K>) => boolean = () => true, timeoutMs?: number): Promise<FrameOf<K>> {
    return this.nextOf((f): f is FrameOf<K> => f.kind === kind && where(f as FrameOf<K>), timeoutMs);
  }

  ofKind<K extends LinkFrame['kind']>(kind: K): FrameOf<K>[] {
    return this.frames.filter((f): f is FrameOf<K> => f.kind === kind);
  }

  /** A client of this edge connects: SessionOpen, then the RTMP connect command; resolves with connect's reply. */
  async openSession(sessionId: number, app: string, connectArgs: AmfValue[] = [], address = '198.51.100.7', port = 40_000 + sessionId): Promise<RtmpCommand> {
    this.send({ kind: LinkFrameKind.SessionOpen, sessionId, remoteAddress: address, remotePort: port, protocol: 'rtmp' });
    const commandObject = { app, tcUrl: `rtmp://edge.test/${app}`, flashVer: 'LNX 11,2,202,235', objectEncoding: 0 };
    return this.command(sessionId, { name: 'connect', transactionId: this.#nextTransaction++, commandObject, args: connectArgs });
  }

  /** Sends a command of a session (on NetStream `streamId`) and resolves with its `_result`/`_error`. */
  async command(sessionId: number, command: RtmpCommand, streamId = 0): Promise<RtmpCommand> {
    const reply = this.nextOf((f): f is FrameOf<typeof LinkFrameKind.Message> => f.kind === LinkFrameKind.Message && f.sessionId === sessionId
      && f.type === MessageType.CommandAmf0 && isReplyTo(f, command.transactionId));
    this.send({ kind: LinkFrameKind.Message, sessionId, ...encodeCommand(command, streamId) });
    return decodeCommand(await reply);
  }

  /** NetConnection.call of a session; resolves with the reply command. */
  call(sessionId: number, method: string, ...args: AmfValue[]): Promise<RtmpCommand> {
    return this.command(sessionId, { name: method, transactionId: this.#nextTransaction++, commandObject: null, args });
  }

  /** createStream, then `play name` on it; resolves with the stream id (statuses arrive as Message frames). */
  async play(sessionId: number, name: string): Promise<number> {
    const reply = await this.call(sessionId, 'createStream');
    const streamId = reply.args[0] as number;
    this.send({ kind: LinkFrameKind.Message, sessionId, ...encodeCommand({ name: 'play', transactionId: 0, commandObject: null, args: [name, -1000] }, streamId) });
    return streamId;
  }

  /** Onstatus codes a session received (any NetStream), in order. */
  statuses(sessionId: number): string[] {
    return this.ofKind(LinkFrameKind.Message)
      .filter((f) => f.sessionId === sessionId && f.type === MessageType.CommandAmf0)
      .map((f) => decodeCommand(f))
      .filter((c) => c.name === 'onStatus')
      .map((c) => String((c.args[0] as { code?: string } | null)?.code));
  }

  /** Stops reading the socket (a lagging edge); `resume()` reads again. */
  stopReading(): void { this.socket.pause(); }
  resume(): void { this.socket.resume(); }

  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = once(this, 'close');
    this.socket.destroy();
    await closed;
  }
}

function isReplyTo(frame: FrameOf<typeof LinkFrameKind.Message>, transactionId: number): boolean {
  try {
    const command = decodeCommand(frame);
    return (command.name === '_result' || command.name === '_error') && command.transactionId === transactionId;
  } catch {
    return false;
  }
}
