/** A TCP port on 127.0.0.1 for a server a test or benchmark is about to start. */
import { createServer } from 'node:net';

/** A port the kernel reports free on 127.0.0.1 right now (bound and released at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
