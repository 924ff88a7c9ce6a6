/**
 * WebSocket liveness: a socket is pinged every half of `idleTimeoutMs`; one that has answered
 * nothing (no pong, no message) since the previous ping is gone (a browser that vanished, a client
 * that holds the socket open and never reads) and is terminated. Browsers answer pings by
 * themselves, so a live page is never closed. Used for every WebSocket the edge accepts (/ws, WS-FLV).
 */
import type { WebSocket } from 'ws';

/** Keeps `ws` under watch until it closes; `onDead` runs just before a silent socket is terminated. */
export function watchLiveness(ws: WebSocket, idleTimeoutMs: number, onDead: () => void): void {
  let answered = true;
  const heard = () => { answered = true; };
  ws.on('pong', heard);
  ws.on('message', heard);
  const timer = setInterval(() => {
    if (!answered) {
      clearInterval(timer);
      onDead();
      ws.terminate();
      return;
    }
    answered = false;
    if (ws.readyState === ws.OPEN) ws.ping();
  }, Math.max(1, Math.floor(idleTimeoutMs / 2)));
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}
