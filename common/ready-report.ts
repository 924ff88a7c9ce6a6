/**
 * The machine-readable "ready" report of a server process: with `--ready-fd N`, once everything
 * listens, the process writes one JSON line to file descriptor N (then closes it) naming every
 * address it bound, per part (`origin`, `edge`, or both for `npm start`):
 *
 *   {"ready":true,"pid":1234,"origin":{"rtmp":{"address":"127.0.0.1","port":1936},"http":{...},"link":{...,"tls":false}},"edge":{...}}
 *
 * A supervisor or a test learns the ports (port 0 picks free ones) from this line, never from the log.
 * A listener that is not running (no link secret, no RTMPS, no policy port) is absent.
 */
import { closeSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

export type ListenerName = 'rtmp' | 'rtmps' | 'http' | 'link' | 'policy';

export interface BoundAddress {
  address: string;
  port: number;
  /** The link listener only: whether edges must speak TLS to it. */
  tls?: boolean;
}

/** What one part of the process listens on. */
export type ListenAddresses = Partial<Record<ListenerName, BoundAddress>>;

/** The parts of a process and their addresses: an origin, an edge, or both. */
export interface ServiceAddresses {
  origin?: ListenAddresses;
  edge?: ListenAddresses;
}

export interface ReadyReport extends ServiceAddresses {
  ready: true;
  pid: number;
}

export const READY_USAGE = '[--ready-fd N]';

export class ReadyOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadyOptionError';
  }
}

/** Takes `--ready-fd N` (or `--ready-fd=N`) out of the arguments; the rest go to the configuration. */
export function takeReadyFd(argv: readonly string[]): { fd: number | null; rest: string[] } {
  let fd: number | null = null;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== '--ready-fd' && !arg.startsWith('--ready-fd=')) {
      rest.push(arg);
      continue;
    }
    const value = arg === '--ready-fd' ? argv[++i] : arg.slice('--ready-fd='.length);
    if (value === undefined || !/^\d+$/.test(value) || Number(value) < 3) throw new ReadyOptionError(`--ready-fd takes a file descriptor number of 3 or more, got ${JSON.stringify(value ?? '')}`);
    fd = Number(value);
  }
  return { fd, rest };
}

/** An AddressInfo as the report shows it. */
export function boundAddress(info: AddressInfo, extra: Omit<BoundAddress, 'address' | 'port'> = {}): BoundAddress {
  return { address: info.address, port: info.port, ...extra };
}

/** Writes the report line to `fd` and closes it, so a reader sees the line and then the end. */
export function writeReadyReport(fd: number, addresses: ServiceAddresses): void {
  const report: ReadyReport = { ready: true, pid: process.pid, ...addresses };
  writeSync(fd, JSON.stringify(report) + '\n');
  closeSync(fd);
}
