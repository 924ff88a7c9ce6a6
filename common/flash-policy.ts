/**
 * Flash's cross-domain policies, served the same way by the origin and the edge: the URL policy
 * (`/crossdomain.xml` on every HTTP port) and the socket policy, which a Flash Player asks for with
 * `<policy-file-request/>\0` on the port it wants (answered by RtmpListener on the RTMP ports) or on
 * the master policy port 843 (FlashPolicyServer, when enabled). Red5 operators had to hand-edit
 * `<allow-access-from domain="*" .../>` into crossdomain.xml; here the allow list is configuration,
 * and by default it names only the hosts the server itself is reached at.
 */
import type { ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { listen } from './listen.ts';
import type { Logger } from './logger.ts';

/** What a Flash Player sends before anything else to ask for the socket policy. */
export const POLICY_REQUEST = Buffer.from('<policy-file-request/>\0', 'latin1');

/** A domain pattern Flash accepts: a host name or address, optionally starting with `*.`, or `*` alone. */
const DOMAIN = /^(\*|(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]+\]?)$/;

/** Checks an allow list from configuration; a bad entry is an error, never silently dropped. */
export function parsePolicyDomains(list: string): string[] {
  const domains = list.split(',').map((d) => d.trim()).filter(Boolean);
  for (const domain of domains) {
    if (!DOMAIN.test(domain)) throw new Error(`not a domain for a Flash policy: ${JSON.stringify(domain)}`);
  }
  return domains;
}

export class FlashPolicy {
  /** Domains allowed; set from configuration, or from the server's own public hosts once it knows them. */
  domains: string[];
  /** Ports the socket policy opens (the server's RTMP and RTMPS ports), known once it listens. */
  ports: number[] = [];

  constructor(domains: string[]) {
    this.domains = domains;
  }

  /** The URL policy for /crossdomain.xml (to-ports belongs to socket policies only). */
  urlPolicy(): string {
    return this.#document('<site-control permitted-cross-domain-policies="master-only"/>', '');
  }

  /** Answers a GET of /crossdomain.xml (every HTTP port of origin and edge). */
  sendUrlPolicy(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/x-cross-domain-policy', 'cache-control': 'no-cache' });
    res.end(this.urlPolicy());
  }

  /** The socket policy, followed by the NUL byte that ends it on the wire. */
  socketPolicy(): Buffer {
    const ports = [...new Set(this.ports)].sort((a, b) => a - b).join(',');
    return Buffer.from(`${this.#document('', ports ? ` to-ports="${ports}"` : '')}\0`, 'utf8');
  }

  #document(head: string, toPorts: string): string {
    const allow = this.domains.map((domain) => `  <allow-access-from domain="${domain}"${toPorts}/>\n`).join('');
    return '<?xml version="1.0"?>\n'
      + '<!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd">\n'
      + `<cross-domain-policy>\n${head ? `  ${head}\n` : ''}${allow}</cross-domain-policy>\n`;
  }
}

/**
 * Reads a socket's first bytes to tell a policy request from RTMP (whose first byte is 3, or 6 for
 * RTMPE): resolves 'policy' once the whole request arrived, 'other' at the first byte that cannot
 * start one, with every byte read put back for the next reader. A socket that sends nothing, or a
 * broken request, resolves 'other' too: the RTMP handshake then refuses it with its own error.
 */
export function sniffPolicyRequest(socket: import('node:net').Socket): Promise<'policy' | 'other'> {
  return new Promise((resolve) => {
    let seen = Buffer.alloc(0);
    const finish = (result: 'policy' | 'other') => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (result === 'other' && seen.length > 0) socket.unshift(seen);
      resolve(result);
    };
    const onData = (data: Buffer) => {
      seen = Buffer.concat([seen, data]);
      const length = Math.min(seen.length, POLICY_REQUEST.length);
      if (!seen.subarray(0, length).equals(POLICY_REQUEST.subarray(0, length))) finish('other');
      else if (seen.length >= POLICY_REQUEST.length) finish('policy');
    };
    const onClose = () => finish('other');
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Answers a socket that asked for the policy, then closes it (as Flash expects). */
export function answerPolicyRequest(socket: import('node:net').Socket, policy: FlashPolicy): void {
  socket.end(policy.socketPolicy());
}

/** The master socket policy server (port 843): answers policy requests, closes anything else. */
export class FlashPolicyServer {
  readonly #server: Server;
  readonly #log: Logger;

  constructor(policy: FlashPolicy, timeoutMs: number, log: Logger) {
    this.#log = log;
    this.#server = createServer((socket) => {
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      void sniffPolicyRequest(socket).then((kind) => {
        if (kind === 'policy') {
          answerPolicyRequest(socket, policy);
        } else {
          this.#log.debug('not a policy request; closed', { peer: socket.remoteAddress });
          socket.destroy();
        }
      });
    });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    const address = await listen(this.#server, port, host);
    this.#log.info('Flash socket policy listening', { address: `${address.address}:${address.port}` });
    return address;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
  }
}
