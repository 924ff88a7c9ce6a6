/**
 * The calling side of RTMP transactions, whatever carries the commands: allocates transaction ids,
 * keeps each call's promise until its `_result` or `_error` arrives (in any order), ignores replies
 * to transactions it never opened, and rejects what is still pending when the connection ends.
 * RtmpClient (a socket) and the edge's LinkClient (a session on the origin link) both use it.
 */
import type { AmfObject, AmfValue } from '#protocol/amf/types.ts';
import type { RtmpCommand } from '#protocol/rtmp/command.ts';

/** A call answered with `_error`: `info` carries the server's status object. */
export class RtmpCallError extends Error {
  readonly info: AmfObject;
  constructor(method: string, info: AmfObject) {
    super(`${method} failed: ${String(info.code)} ${String(info.description ?? '')}`);
    this.info = info;
  }
}

interface PendingCall {
  method: string;
  resolve: (values: AmfValue[]) => void;
  reject: (error: Error) => void;
}

export class RtmpTransactions {
  readonly #pending = new Map<number, PendingCall>();
  /** Transaction 0 means "no answer wanted", so ids start at 1. */
  #nextTransaction = 1;

  /** Calls awaiting their answer. */
  get pendingCount(): number { return this.#pending.size; }

  /**
   * Opens a transaction for `method` and hands its id to `send` (which writes the command); the
   * promise resolves with the command object and values of `_result`, or rejects with RtmpCallError.
   */
  open(method: string, send: (transactionId: number) => void): Promise<AmfValue[]> {
    const transactionId = this.#nextTransaction++;
    return new Promise((resolve, reject) => {
      this.#pending.set(transactionId, { method, resolve, reject });
      send(transactionId);
    });
  }

  /** Settles the call a `_result`/`_error` answers; false when the command is no answer to a pending call. */
  settle(command: RtmpCommand): boolean {
    if (command.name !== '_result' && command.name !== '_error') return false;
    const pending = this.#pending.get(command.transactionId);
    if (!pending) return false;
    this.#pending.delete(command.transactionId);
    if (command.name === '_result') pending.resolve([command.commandObject, ...command.args]);
    else pending.reject(new RtmpCallError(pending.method, (command.args[0] ?? {}) as AmfObject));
    return true;
  }

  /** The connection ended: nothing pending will be answered. */
  rejectAll(error: Error): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(error);
  }
}
