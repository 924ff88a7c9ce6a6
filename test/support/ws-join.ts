/**
 * A browser's join on an edge's WebSocket channel (`/ws`, README "Browser protocol"), for tests of
 * who may join: waits for `hello`, sends `{ type: 'join', ...message }`, resolves with the first
 * `joined` or `error` reply and closes the socket.
 */
import WebSocket from 'ws';

export function joinReply(edgeHttpPort: number, message: object): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edgeHttpPort}/ws`);
    ws.on('error', reject);
    ws.on('message', (data) => {
      const reply = JSON.parse(String(data)) as Record<string, any>;
      if (reply.type === 'hello') return ws.send(JSON.stringify({ type: 'join', ...message }));
      if (reply.type === 'joined' || reply.type === 'error') {
        resolve(reply);
        ws.close();
      }
    });
  });
}
