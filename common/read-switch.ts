/**
 * Turning a TCP socket's reads off and on, for merged reads (common/write-batcher.ts): a publisher's
 * socket read once per merged-write interval instead of once per segment that arrives, as SRS does
 * with its "mr" setting. ffmpeg's 1 Mbit/s stream arrives in about 110 segments a second; each read
 * wakes the process and costs Node far more than decoding what it brings (bench:node-floor), so
 * reading what gathered in the kernel every 50 ms instead is a tenth of the origin's CPU in
 * bench:fanout.
 *
 * Node has no public way to stop a socket's reads: `socket.pause()` keeps reading into the stream's
 * buffer until it holds its high-water mark (64 KiB, half a second of such a stream). So this uses
 * the libuv stream handle under a net.Socket (`readStop`/`readStart`, what net.Socket itself calls
 * for backpressure; common/socket-handle.ts): a socket without one is read as before.
 *
 * While stopped, the socket is read at each interval by `pull`, straight from its descriptor, not
 * by starting libuv's reads again: libuv takes a stopped descriptor out of epoll only when it next
 * reports data (a wake-up for nothing), so a stop and start per interval woke the process twice an
 * interval, once for the interval and once for the publisher's next segment (strace of the origin in
 * bench:fanout: 40 of its 65 wake-ups a second). Pulled, it stays out of epoll, and each interval
 * is one wake-up.
 */
import { readSync } from 'node:fs';
import { socketHandle } from './socket-handle.ts';

export interface ReadSwitch {
  /** No more reads from the kernel until `start`; what arrives meanwhile waits in the socket's receive buffer. */
  stop(): void;
  start(): void;
  /**
   * While stopped: what the kernel holds for the socket now (at most PULL_READS reads of PULL_BYTES,
   * as libuv reads in one turn), each read its own buffer; none when nothing waits, `null` once the
   * peer has ended the stream. A failed read throws its system error (ECONNRESET...).
   */
  pull(): Buffer[] | null;
}

const PULL_BYTES = 64 * 1024;
const PULL_READS = 32;
/** One scratch buffer for every pull of the process; what a read brings is copied out to a buffer of its size. */
let scratch: Buffer | null = null;

/** Reads `fd` (non-blocking, as libuv keeps it) until it has nothing more, as `ReadSwitch.pull` describes. */
function pullFrom(fd: number): Buffer[] | null {
  scratch ??= Buffer.allocUnsafeSlow(PULL_BYTES);
  const reads: Buffer[] = [];
  for (let i = 0; i < PULL_READS; i++) {
    let n: number;
    try {
      n = readSync(fd, scratch, 0, PULL_BYTES, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
    if (n === 0) return reads.length > 0 ? reads : null;
    reads.push(Buffer.copyBytesFrom(scratch, 0, n));
    if (n < PULL_BYTES) break;
  }
  return reads;
}

/** The read switch of a plain TCP socket (not TLS), or null when it has none. */
export function readSwitch(socket: unknown): ReadSwitch | null {
  const tcp = socketHandle(socket);
  if (!tcp) return null;
  const { handle, fd, live } = tcp;
  return {
    // net.Socket's own flag (`handle.reading`) is left as it is: net.Socket then neither restarts
    // reads behind our back nor skips its own stop when backpressure needs one.
    stop: () => { if (live()) handle.readStop(); },
    start: () => { if (live()) handle.readStart(); },
    pull: () => (live() ? pullFrom(fd) : []),
  };
}
