/**
 * The application's view of one RTMP session (the AppClient interface): created when connect
 * is accepted, it runs the client's calls against the application and answers `_result` or
 * `_error`, makes server-to-client calls and matches their replies, and passes shared object
 * messages to the room. Everything goes out in the client's object encoding: AMF3 clients get
 * commands as type 17 and shared objects as type 16. A bad call or a malformed message is
 * answered with an error status; the connection stays up.
 */
import type { AmfValue } from '#protocol/amf/types.ts';
import { encodeCommand, type CommandArgumentsError, type RtmpCommand } from '#protocol/rtmp/command.ts';
import { ChunkStreamId, type RtmpMessage } from '#protocol/rtmp/message.ts';
import { decodeSharedObject, SharedObjectError, sharedObjectMessage, type SharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { Logger } from '#common/logger.ts';
import { ClientError } from '#common/client-error.ts';
import type { Scope } from '../core/scope.ts';
import { MethodNotFoundError, type Application } from '../app/application.ts';
import { CallTimeoutError, ClientCallError, ClientGoneError, type AppClient, type ConnectParams } from '../app/client.ts';
import type { Room } from '../app/room.ts';
import type { Identity } from '#common/auth/identity.ts';
import { RateLimiter } from '../shared-objects/rate-limiter.ts';
import { SharedObjectStatus } from '../shared-objects/registry.ts';
import { errorCommand, resultCommand, statusInfo } from './status.ts';
import { countFailedClientCall } from '../origin-metrics.ts';

export interface AppClientOptions {
  callTimeoutMs: number;
  maxChangesPerSecond: number;
}

interface PendingCall {
  method: string;
  resolve: (value: AmfValue) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class SessionAppClient implements AppClient {
  readonly id: string;
  readonly remoteAddress: string;
  readonly via: string | null;
  readonly scope: Scope;
  readonly params: ConnectParams;
  readonly identity: Identity | null;
  readonly objectEncoding: 0 | 3;
  readonly changeLimiter: RateLimiter;
  readonly #connection: SessionTransport;
  readonly #application: Application<unknown>;
  readonly #options: AppClientOptions;
  readonly #log: Logger;
  readonly #pending = new Map<number, PendingCall>();
  #room: Room | null = null;
  #nextTransaction = 1;

  constructor(connection: SessionTransport, scope: Scope, params: ConnectParams, amf3: boolean, application: Application<unknown>, options: AppClientOptions, identity: Identity | null) {
    this.id = String(connection.id);
    this.remoteAddress = connection.remoteAddress;
    this.via = connection.via;
    this.scope = scope;
    this.params = params;
    this.identity = identity;
    this.objectEncoding = amf3 ? 3 : 0;
    this.changeLimiter = new RateLimiter(options.maxChangesPerSecond);
    this.#connection = connection;
    this.#application = application;
    this.#options = options;
    this.#log = connection.log;
  }

  get room(): Room | null { return this.#room; }

  /** Enters the application's room; throws ConnectRejectedError (with the reason for the client). */
  join(): void {
    this.#room = this.#application.connect(this);
  }

  invoke(method: string, ...args: AmfValue[]): Promise<AmfValue> {
    if (this.#connection.closed) return Promise.reject(new ClientGoneError('call.client_gone', `client ${this.id} is gone`));
    const transactionId = this.#nextTransaction++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(transactionId);
        this.#log.warn('client call timed out', { method, limit: `callTimeoutMs ${this.#options.callTimeoutMs}` });
        countFailedClientCall('timed_out');
        reject(new CallTimeoutError('call.timeout', `client ${this.id} did not answer ${method} within ${this.#options.callTimeoutMs} ms (callTimeoutMs)`));
      }, this.#options.callTimeoutMs);
      this.#pending.set(transactionId, { method, resolve, reject, timer });
      this.#send({ name: method, transactionId, commandObject: null, args });
    });
  }

  notify(method: string, ...args: AmfValue[]): void {
    this.#send({ name: method, transactionId: 0, commandObject: null, args });
  }

  sendSharedObject(message: SharedObjectMessage): void {
    // On the command chunk stream: shared object messages keep their order with calls and replies.
    this.#connection.send(sharedObjectMessage(message, this.objectEncoding === 3), ChunkStreamId.Command);
  }

  close(reason: string | null = null): void {
    this.#connection.close(reason);
  }

  /** A NetConnection.call from the client to a method of the application. */
  handleCall(command: RtmpCommand): void {
    const { name, transactionId } = command;
    this.#application.call(this, name, command.args).then(
      (value) => {
        if (transactionId !== 0) this.#send(resultCommand(transactionId, null, value));
      },
      (error: Error) => {
        if (error instanceof MethodNotFoundError) this.#log.info('unknown method called', { method: name });
        else if (error instanceof ClientError) this.#log.info('call failed', { method: name, reason: error.message });
        else this.#log.error('method threw', { method: name, error: error.stack ?? String(error) });
        // Only refusals the application meant are explained; a bug's details stay in the log.
        const description = error instanceof ClientError ? error.message : `Failed to execute method (${name}).`;
        if (transactionId !== 0) this.#send(errorCommand(transactionId, statusInfo('error', 'NetConnection.Call.Failed', description)));
      },
    );
  }

  /** A call whose arguments could not be decoded: refused, the connection stays. */
  handleMalformedCall(error: CommandArgumentsError): void {
    if (!this.changeLimiter.take()) return; // a flood of them is dropped quietly after the budget
    this.#log.warn('malformed call refused', { method: error.commandName, reason: error.message });
    countFailedClientCall('malformed');
    if (error.transactionId !== 0) {
      this.#send(errorCommand(error.transactionId, statusInfo('error', 'NetConnection.Call.Failed', error.message)));
    }
  }

  /** `_result`/`_error` from the client; returns false if it answers no call of ours. */
  handleReply(command: RtmpCommand): boolean {
    const pending = this.#pending.get(command.transactionId);
    if (!pending) return false;
    this.#pending.delete(command.transactionId);
    clearTimeout(pending.timer);
    // Flash puts the return value after a null command object.
    if (command.name === '_result') pending.resolve(command.args[0] ?? command.commandObject ?? null);
    else pending.reject(new ClientCallError(pending.method, command.args[0] ?? command.commandObject ?? null));
    return true;
  }

  /** A type 19 or 16 message. Undecodable with a readable name: status BadMessage; else a protocol error. */
  handleSharedObject(message: RtmpMessage): void {
    const room = this.#room!;
    let decoded: SharedObjectMessage;
    try {
      decoded = decodeSharedObject(message);
    } catch (error) {
      if (!(error instanceof SharedObjectError) || error.objectName === null) throw error;
      if (this.changeLimiter.take()) room.sharedObjects.refuse(this, error.objectName, SharedObjectStatus.BadMessage, `${error.code}: ${error.message}`);
      return;
    }
    room.sharedObjects.handle(this, decoded);
  }

  /** Throws PublishRefusedError when the application refuses this name for this client. */
  checkPublish(stream: string): void {
    this.#application.checkPublish(this, stream);
  }

  published(stream: string): void {
    this.#application.streamPublished(this, stream);
  }

  unpublished(stream: string): void {
    this.#application.streamUnpublished(this, stream);
  }

  /** The connection is gone: pending calls fail, the application and room let go of the client. */
  leave(): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new ClientGoneError('call.client_gone', `client ${this.id} disconnected before answering ${pending.method}`));
    }
    this.#pending.clear();
    if (this.#room) this.#application.disconnect(this);
    this.#room = null;
  }

  #send(command: RtmpCommand): void {
    this.#connection.send(encodeCommand(command, 0, this.objectEncoding === 3), ChunkStreamId.Command);
  }
}
