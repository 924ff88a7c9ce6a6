/**
 * The libuv stream handle under a plain TCP net.Socket, and its descriptor: what direct writes
 * (common/direct-write.ts) work with. Node has no public way to reach either, so the handle is
 * found by feature test (`_handle` with a numeric `fd`): a socket without one (TLS, the RTMPT
 * tunnel, a future Node that renames it) gets `null` and is used as a stream, as before.
 * test/common/direct-write.test.ts fails if a plain net.Socket stops having it.
 */
import { Socket } from 'node:net';

export interface LibuvStreamHandle {
  readonly fd: number;
}

export interface SocketHandle {
  /** The socket's descriptor; to be used only while `live()`. */
  readonly fd: number;
  /**
   * The socket is open and still on this handle. A handle keeps its descriptor while it lives and
   * is dropped (`_handle` set to null) in the same turn as the descriptor is closed, so while this
   * answers true, `fd` is this socket's and not a newer connection's that reused the number.
   */
  live(): boolean;
}

function handleOf(socket: Socket): unknown {
  return (socket as unknown as { _handle?: unknown })._handle;
}

function isStreamHandle(handle: unknown): handle is LibuvStreamHandle {
  return typeof handle === 'object' && handle !== null && typeof (handle as Partial<LibuvStreamHandle>).fd === 'number';
}

/** The handle of a plain, open TCP socket (not TLS), or null when it has none. */
export function socketHandle(socket: unknown): SocketHandle | null {
  if (!(socket instanceof Socket) || 'encrypted' in socket) return null;
  const handle = handleOf(socket);
  // `fd` is a getter calling into Node: read once, here.
  if (!isStreamHandle(handle) || handle.fd < 0) return null;
  return { fd: handle.fd, live: () => !socket.destroyed && handleOf(socket) === handle };
}
