/**
 * Starting a listener as every server of the project does: resolve with the address actually
 * bound (port 0 picks a free one), reject on a bind error (address in use, no permission).
 */
import type { AddressInfo, Server } from 'node:net';

/** 0.0.0.0 or ::, an address to bind to but no place a client can dial. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

