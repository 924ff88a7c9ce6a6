/**
 * What application code sees of a connected client. The origin's RTMP session implements it
 * (origin/session/app-client.ts); the edge will implement the same interface for clients it
 * relays, so applications never depend on how a client is connected.
 */
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import { OriginError } from '../core/errors.ts';
import type { Scope } from '../core/scope.ts';
import type { SharedObjectClient } from '../shared-objects/registry.ts';
import type { Identity } from '#common/auth/identity.ts';

export interface ConnectParams {
  /** The connect command object: app, tcUrl, flashVer, objectEncoding, ... */
  readonly commandObject: AmfObject;
  /** Connect arguments after the command object (user name, role, token, ...). */
  readonly args: readonly AmfValue[];
}

export interface AppClient extends SharedObjectClient {
  /** Unique within the origin process. */
  readonly id: string;
  readonly remoteAddress: string;
  /** Name of the edge the client came through; null when it connected to the origin directly. */
  readonly via: string | null;
  readonly scope: Scope;
  readonly params: ConnectParams;
  /**
   * Who the client is, as authorization decided at connect (origin/auth/): from its token, or by
   * policy its declared role or anonymous; null where each publish and play brings its own token.
   */
  readonly identity: Identity | null;
  /** 3 when the client asked for AMF3 (commands type 17, shared objects type 16). */
  readonly objectEncoding: 0 | 3;
  /**
   * Calls `method` on the client (NetConnection.client[method]) and resolves with its return
   * value. Rejects with ClientCallError if the client answers `_error`, with CallTimeoutError
   * after callTimeoutMs, and with ClientGoneError if it disconnects first.
   */
  invoke(method: string, ...args: AmfValue[]): Promise<AmfValue>;
  /** Calls `method` on the client without waiting for (or asking for) an answer. */
  notify(method: string, ...args: AmfValue[]): void;
  /** Disconnects the client; `reason` is logged. */
  close(reason?: string | null): void;
}

/** The client answered a server call with `_error`; `info` is its status object. */
export class ClientCallError extends OriginError {
  readonly info: AmfValue;
  constructor(method: string, info: AmfValue) {
    const description = typeof info === 'object' && info !== null && 'description' in info ? String(info.description) : '';
    super('call.client_error', `client answered ${method} with _error${description ? `: ${description}` : ''}`);
    this.info = info;
  }
}

/** The client did not answer a server call within callTimeoutMs. */
export class CallTimeoutError extends OriginError {}

/** The client disconnected before answering a server call. */
export class ClientGoneError extends OriginError {}
