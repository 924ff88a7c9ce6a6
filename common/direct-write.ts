/**
 * Writing to a TCP socket's descriptor directly when Node has nothing queued for it: the merged
 * media writes of a fan-out (common/write-batcher.ts), one per player per interval, skip Node's
 * stream machinery (a write request object, its callback and a nextTick for each write) and cost
 * one `write(2)`. In bench:fanout (200 players, origin only, alternated runs) that is about 7 % of
 * the origin's CPU: the user-mode part of each write roughly halves; the kernel's part stays.
 *
 * Within a write pass (the batcher's flush: every stream and connection due at once), direct writes
 * are held to the pass's end and made in one call of the native batch writer
 * (common/native/write-many.ts), which takes the per-write crossing into Node out of each: another
 * tenth of the origin's CPU at 200 players. Without the addon they go one `fs.writeSync` at a time.
 *
 * Order is kept: the descriptor is written only while the socket's own queue is empty (everything
 * written through the socket before has reached the kernel), a connection written twice in a pass
 * has both joined in order, and what the kernel does not take (a full send buffer, EAGAIN) or an
 * error goes through `socket.write`, which queues it and reports errors as usual; later writes then
 * see the queue and go the same way.
 *
 * Node has no public way to reach a socket's descriptor: it is the libuv handle's
 * (common/socket-handle.ts). TLS sockets, the RTMPT tunnel and a Node without it get `null` and are
 * written as before.
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { socketHandle, type SocketHandle } from './socket-handle.ts';
import { writeMany, type WriteMany } from './native/write-many.ts';

export interface DirectWriter {
  /**
   * Writes `data` (to the descriptor if nothing is queued, else through the socket), in order with the
   * socket's own writes; while a pass is open, the socket must be written only through its writer
   * (RtmpConnection writes everything through it), since the pass holds what the writer is given.
   */
  write(data: Buffer): void;
  /** Bytes that went to the descriptor directly (the socket's `bytesWritten` counts only its own). */
  readonly bytesDirect: number;
}

/**
 * Direct writes held while a pass runs and made at its end in one native call. Each writer with
 * something held is listed once; the pass is process-wide, as the batcher's timer is.
 */
export class DirectWritePass {
  readonly #writeMany: WriteMany | null;
  readonly #held: SocketDirectWriter[] = [];
  readonly #buffers: Buffer[] = [];
  #fds = new Int32Array(256);
  #results = new Int32Array(256);
  #open = false;

  /** `writeMany` null: no pass ever opens, every direct write is made at once. */
  constructor(writeMany: WriteMany | null) {
    this.#writeMany = writeMany;
  }

  get open(): boolean { return this.#open; }

  /** Runs `work`, holding the direct writes it makes until it returns (or throws), then writes them all. */
  run(work: () => void): void {
    if (!this.#writeMany || this.#open) return work();
    this.#open = true;
    try {
      work();
    } finally {
      this.#open = false;
      this.#writeHeld();
    }
  }

  hold(writer: SocketDirectWriter): void {
    this.#held.push(writer);
  }

  #writeHeld(): void {
    const writers = this.#held;
    if (writers.length === 0) return;
    if (this.#fds.length < writers.length) {
      this.#fds = new Int32Array(writers.length * 2);
      this.#results = new Int32Array(writers.length * 2);
    }
    let count = 0;
    try {
      for (const writer of writers) {
        const data = writer.takeHeld();
        if (data === null) continue;
        writers[count] = writer;
        this.#fds[count] = writer.fd;
        this.#buffers[count++] = data;
      }
      this.#writeMany!(this.#fds, this.#buffers, this.#results, count);
      for (let i = 0; i < count; i++) writers[i]!.settle(this.#buffers[i]!, Math.max(0, this.#results[i]!));
    } finally {
      writers.length = 0;
      this.#buffers.fill(EMPTY, 0, count);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** The process's pass (WriteBatcher's flush runs in it); never opens without the native batch writer. */
export const directWritePass = new DirectWritePass(writeMany);

class SocketDirectWriter implements DirectWriter {
  readonly #stream: Socket;
  readonly #handle: SocketHandle;
  readonly #pass: DirectWritePass;
  #bytesDirect = 0;
  /** What this pass holds for the descriptor, in order; null when nothing is held. */
  #held: Buffer[] | null = null;

  constructor(stream: Socket, handle: SocketHandle, pass: DirectWritePass) {
    this.#stream = stream;
    this.#handle = handle;
    this.#pass = pass;
  }

  get bytesDirect(): number { return this.#bytesDirect; }
  get fd(): number { return this.#handle.fd; }

  write(data: Buffer): void {
    if (this.#held) {
      this.#held.push(data);
      return;
    }
    if (this.#stream.writableLength === 0 && this.#descriptorLive()) {
      if (this.#pass.open) {
        this.#held = [data];
        this.#pass.hold(this);
        return;
      }
      let written = 0;
      try {
        written = writeSync(this.#handle.fd, data);
      } catch {
        // EAGAIN (the kernel's buffer is full) or the peer is gone: the socket queues it or reports the error.
      }
      this.settle(data, written);
      return;
    }
    this.#stream.write(data);
  }

  /** The socket is open and its descriptor number still its own. */
  #descriptorLive(): boolean {
    return this.#stream.writable && this.#handle.live();
  }

  /** The pass ends: what it held, joined (settle() follows); null if the socket is gone meanwhile (its descriptor number may be another's now). */
  takeHeld(): Buffer | null {
    const held = this.#held!;
    this.#held = null;
    if (!this.#descriptorLive()) return null;
    return held.length === 1 ? held[0]! : Buffer.concat(held);
  }

  /** `written` of `data` reached the kernel; the rest goes through the socket, which queues it or reports the error. */
  settle(data: Buffer, written: number): void {
    this.#bytesDirect += written;
    if (written === data.length) return;
    this.#stream.write(written > 0 ? data.subarray(written) : data);
  }
}

/** The direct writer of a plain, open TCP socket (not TLS), or null when it has no descriptor to write to. */
export function directWriter(socket: unknown, pass: DirectWritePass = directWritePass): DirectWriter | null {
  const handle = socketHandle(socket);
  return handle ? new SocketDirectWriter(socket as Socket, handle, pass) : null;
}
