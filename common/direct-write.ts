/**
 * Writing to a TCP socket's descriptor directly when Node has nothing queued for it: the merged
 * media writes of a fan-out (common/write-batcher.ts), one per player per interval, skip Node's
 * stream machinery (a write request object, its callback and a nextTick for each write) and cost
 * one `write(2)`. In bench:fanout (200 players, origin only, alternated runs) that is about 7 % of
 * the origin's CPU: the user-mode part of each write roughly halves; the kernel's part stays.
 *
 * Order is kept: the descriptor is written only while the socket's own queue is empty (everything
 * written through the socket before has reached the kernel), and what the kernel does not take
 * (a full send buffer, EAGAIN) or an error goes through `socket.write`, which queues it and reports
 * errors as usual; later writes then see the queue and go the same way.
 *
 * Node has no public way to reach a socket's descriptor: it is the libuv handle's
 * (common/socket-handle.ts). TLS sockets, the RTMPT tunnel and a Node without it get `null` and are
 * written as before.
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { socketHandle } from './socket-handle.ts';

export interface DirectWriter {
  /** Writes `data` (to the descriptor if nothing is queued, else through the socket), in order with the socket's own writes. */
  write(data: Buffer): void;
  /** Bytes that went to the descriptor directly (the socket's `bytesWritten` counts only its own). */
  readonly bytesDirect: number;
}

/** The direct writer of a plain, open TCP socket (not TLS), or null when it has no descriptor to write to. */
export function directWriter(socket: unknown): DirectWriter | null {
  const tcp = socketHandle(socket);
  if (!tcp) return null;
  const stream = socket as Socket;
  const { fd, live } = tcp;
  let bytesDirect = 0;
  return {
    get bytesDirect() { return bytesDirect; },
    write(data: Buffer): void {
      if (stream.writableLength === 0 && stream.writable && live()) {
        let written = 0;
        try {
          written = writeSync(fd, data);
        } catch {
          // EAGAIN (the kernel's buffer is full) or the peer is gone: the socket queues it or reports the error.
        }
        bytesDirect += written;
        if (written === data.length) return;
        if (written > 0) data = data.subarray(written);
      }
      stream.write(data);
    },
  };
}
