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
 * for backpressure), found by feature test: a socket without one (TLS, the RTMPT tunnel, a future
 * Node that renames it) gets `null` and is read as before. test/common/read-switch.test.ts fails if
 * a plain net.Socket stops having it.
 */
import { Socket } from 'node:net';

export interface ReadSwitch {
  /** No more reads from the kernel until `start`; what arrives meanwhile waits in the socket's receive buffer. */
  stop(): void;
  start(): void;
}

interface LibuvStreamHandle {
  readStop(): number;
  readStart(): number;
}

function isStreamHandle(handle: unknown): handle is LibuvStreamHandle {
  return typeof handle === 'object' && handle !== null
    && typeof (handle as Partial<LibuvStreamHandle>).readStop === 'function'
    && typeof (handle as Partial<LibuvStreamHandle>).readStart === 'function';
}

/** The read switch of a plain TCP socket (not TLS), or null when it has none. */
export function readSwitch(socket: unknown): ReadSwitch | null {
  if (!(socket instanceof Socket) || 'encrypted' in socket) return null;
  const handle: unknown = (socket as unknown as { _handle?: unknown })._handle;
  if (!isStreamHandle(handle)) return null;
  return {
    // net.Socket's own flag (`handle.reading`) is left as it is: net.Socket then neither restarts
    // reads behind our back nor skips its own stop when backpressure needs one.
    stop: () => { if (!socket.destroyed) handle.readStop(); },
    start: () => { if (!socket.destroyed) handle.readStart(); },
  };
}
