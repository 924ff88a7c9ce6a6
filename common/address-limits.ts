/**
 * Limits per client address, so one client (one machine, or one attacker) cannot take what a whole
 * school needs: connections held at once, connections still in their handshake at once, and new
 * connections per second (a token bucket). Each process (origin, edge) keeps one AddressLimits that
 * every listener taking clients asks first (RTMP and RTMPS ports, the HTTP port's connections, and
 * sessions that outlive a connection: RTMPT tunnels, WebRTC sessions); the global maxConnections
 * stays behind it as the last line. A refusal is counted by protocol and reason
 * (`<prefix>_address_refusals_total`) and logged, rate-limited per address and reason; the addresses
 * holding the most connections are a metric (`<prefix>_address_top_connections`) and go in the log
 * line of a refusal by the global limit (`topHolders`).
 */
import { CodedError } from '#protocol/errors.ts';
import type { Logger } from './logger.ts';
import { LogThrottle } from './log-throttle.ts';
import { MetricGroup } from './metrics/registry.ts';
import { TokenBucket } from './token-bucket.ts';

export interface AddressLimitSettings {
  /** Connections one address may hold at once, of every protocol. */
  maxConnectionsPerAddress: number;
  /** Connections of one address still in their handshake (RTMP) or before their first request (HTTP) at once. */
  maxHandshakesPerAddress: number;
  /** New connections per second one address may open, sustained, and the burst above it. */
  connectionsPerSecondPerAddress: number;
  connectionBurstPerAddress: number;
}

export type AddressRefusalReason = 'connections' | 'handshakes' | 'rate';

/** Which setting a refusal reason is, for the client's error and the log. */
const SETTING_OF: Record<AddressRefusalReason, keyof AddressLimitSettings> = {
  connections: 'maxConnectionsPerAddress',
  handshakes: 'maxHandshakesPerAddress',
  rate: 'connectionsPerSecondPerAddress',
};

/** A connection refused by its address's limit: `message` is what the client is told. */
export class AddressRefusal extends CodedError {
  readonly reason: AddressRefusalReason;
  readonly address: string;

  constructor(reason: AddressRefusalReason, address: string, limit: number) {
    const what = reason === 'connections' ? `connections held at once (${limit})`
      : reason === 'handshakes' ? `connections still in their handshake (${limit})` : `new connections per second (${limit})`;
    super(`address.${reason}`, `too many ${what} from ${address} (${SETTING_OF[reason]})`);
    this.reason = reason;
    this.address = address;
  }
}

/** What one address holds now. */
interface AddressEntry {
  connections: number;
  handshakes: number;
  readonly newConnections: TokenBucket;
}

/** One admitted connection of an address: `handshakeDone()` once it completed its handshake, `release()` when it closes (both idempotent). */
export class AddressLease {
  readonly address: string;
  readonly #entry: AddressEntry;
  #handshaking = true;
  #held = true;

  constructor(address: string, entry: AddressEntry) {
    this.address = address;
    this.#entry = entry;
  }

  handshakeDone(): void {
    if (!this.#handshaking) return;
    this.#handshaking = false;
    this.#entry.handshakes--;
  }

  release(): void {
    if (!this.#held) return;
    this.handshakeDone();
    this.#held = false;
    this.#entry.connections--;
  }
}

/** An address of a connection holding it: its own entry, for connections a socket did not say the address of. */
const UNKNOWN_ADDRESS = 'unknown';
/** Addresses shown by the top-holders metric and log line. */
const TOP_HOLDERS = 5;

export class AddressLimits {
  readonly #settings: AddressLimitSettings;
  readonly #throttle: LogThrottle;
  readonly #entries = new Map<string, AddressEntry>();
  /** Refusals so far by `protocol reason`, read by the metric. */
  readonly #refusals = new Map<string, number>();
  #metrics: MetricGroup | null = null;
  #sweptAt = 0;

  constructor(settings: AddressLimitSettings, log: Logger) {
    this.#settings = settings;
    this.#throttle = new LogThrottle(log);
  }

  /** Connections held now, all addresses together. */
  get connections(): number {
    let total = 0;
    for (const entry of this.#entries.values()) total += entry.connections;
    return total;
  }

  /** Connections `address` holds now. */
  connectionsOf(address: string): number {
    return this.#entries.get(address)?.connections ?? 0;
  }

  /** Refusals so far, all protocols and reasons together (or of one reason). */
  refusals(reason?: AddressRefusalReason): number {
    let total = 0;
    for (const [key, count] of this.#refusals) if (!reason || key.endsWith(` ${reason}`)) total += count;
    return total;
  }

  /** The addresses holding the most connections, most first. */
  topHolders(count = TOP_HOLDERS): Array<{ address: string; connections: number }> {
    const top: Array<{ address: string; connections: number }> = [];
    for (const [address, entry] of this.#entries) {
      if (entry.connections === 0) continue;
      if (top.length === count && entry.connections <= top[count - 1]!.connections) continue;
      top.push({ address, connections: entry.connections });
      top.sort((a, b) => b.connections - a.connections);
      if (top.length > count) top.pop();
    }
    return top;
  }

  /** The top holders as one log field: `203.0.113.9=200 198.51.100.7=12`. */
  describeTopHolders(): string {
    return this.topHolders().map(({ address, connections }) => `${address}=${connections}`).join(' ');
  }

  /**
   * Admits a new connection of `address` over `protocol` (for the metric and log), or refuses it:
   * the refusal is counted and logged here, the caller tells its client (RTMP: the socket is closed;
   * HTTP: 429 with the refusal's message).
   */
  admit(address: string | undefined, protocol: string): AddressLease | AddressRefusal {
    const key = address || UNKNOWN_ADDRESS;
    this.#sweep();
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { connections: 0, handshakes: 0, newConnections: new TokenBucket(this.#settings.connectionsPerSecondPerAddress, this.#settings.connectionBurstPerAddress) };
      this.#entries.set(key, entry);
    }
    const reason: AddressRefusalReason | null = entry.connections >= this.#settings.maxConnectionsPerAddress ? 'connections'
      : entry.handshakes >= this.#settings.maxHandshakesPerAddress ? 'handshakes'
        : !entry.newConnections.take() ? 'rate' : null;
    if (reason) return this.#refuse(key, protocol, reason, entry);
    entry.connections++;
    entry.handshakes++;
    return new AddressLease(key, entry);
  }

  /** Adds the metrics (`prefix`: classroom_edge, classroom_origin); close() takes them out. */
  registerMetrics(prefix: string): void {
    const group = new MetricGroup();
    group.counter({ name: `${prefix}_address_refusals_total`, help: 'Connections refused by a per-address limit, by protocol and reason (connections: maxConnectionsPerAddress, handshakes: maxHandshakesPerAddress, rate: connectionsPerSecondPerAddress).', labelNames: ['protocol', 'reason'] },
      () => [...this.#refusals].map(([key, count]) => {
        const [protocol, reason] = key.split(' ') as [string, string];
        return [{ protocol, reason }, count] as const;
      }));
    group.gauge({ name: `${prefix}_address_top_connections`, help: `Connections held by the ${TOP_HOLDERS} addresses holding the most, by address.`, labelNames: ['address'] },
      () => this.topHolders().map(({ address, connections }) => [{ address }, connections] as const));
    group.gauge({ name: `${prefix}_address_connections`, help: 'Connections held now, all addresses together (what the per-address limits count).' }, () => this.connections);
    this.#metrics = group;
  }

  close(): void {
    this.#metrics?.close();
    this.#metrics = null;
    this.#throttle.close();
  }

  #refuse(address: string, protocol: string, reason: AddressRefusalReason, entry: AddressEntry): AddressRefusal {
    const limit = this.#settings[SETTING_OF[reason]];
    const refusal = new AddressRefusal(reason, address, limit);
    const counted = `${protocol} ${reason}`;
    this.#refusals.set(counted, (this.#refusals.get(counted) ?? 0) + 1);
    this.#throttle.warn(`${address} ${reason}`, 'connection refused: per-address limit', () => ({
      peer: address, protocol, reason, limit: SETTING_OF[reason], [SETTING_OF[reason]]: limit, connections: entry.connections, handshakes: entry.handshakes,
    }));
    return refusal;
  }

  /**
   * Forgets addresses holding nothing whose bucket has filled again (their state no longer matters),
   * at most once a second: a client that connects and closes at once still meets its rate limit.
   */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#sweptAt < 1000) return;
    this.#sweptAt = now;
    for (const [address, entry] of this.#entries) {
      if (entry.connections === 0 && entry.newConnections.msUntilFull === 0) this.#entries.delete(address);
    }
  }
}
