/**
 * Why a server closed a client connection, as a bounded metric label: the code of a protocol
 * violation (`handshake.bad_version`, `chunk.message_too_large`, `amf.too_deep`, `so.truncated`: the
 * codecs' ProtocolError codes, which close reasons start with) or one of a few fixed names for the
 * reasons the servers give in words; anything else is `other`. Operators see which bad input or
 * timeout costs them clients; tests read the same counter instead of the log.
 */
import type { RtmpConnection } from '../rtmp-connection.ts';
import { EventCounter } from './registry.ts';

/** `code: message`, the shape of a ProtocolError's close reason. */
const CODED_REASON = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+){1,3}): /;

const WORDED_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^handshake timeout$/, 'handshake.timeout'],
  [/^connect timeout: /, 'connect.timeout'],
  [/^idle for /, 'idle_timeout'],
  [/ before connect$/, 'session.before_connect'],
  [/^second connect /, 'session.second_connect'],
  [/^more than \d+ messages while waiting/, 'session.connect_flood'],
  [/^internal error$/, 'internal_error'],
  [/^socket error: /, 'socket_error'],
  [/^disconnected by an administrator/, 'admin.kick'],
  [/^connection reset$/, 'connection_reset'],
  [/^authentication not completed within /, 'auth_timeout'],
  [/^edge not reading: /, 'backlog_limit'],
  [/^no frame from the edge for /, 'silent'],
];

/** The label of a close reason. */
export function closeReasonCode(reason: string): string {
  const coded = CODED_REASON.exec(reason);
  if (coded && coded[1]!.length <= 48) return coded[1]!;
  return WORDED_REASONS.find(([pattern]) => pattern.test(reason))?.[1] ?? 'other';
}

/** A counter of connections closed with a reason (a normal close has none), by reason code. */
export function closedConnectionsCounter(name: string, whose: string): EventCounter<'reason'> {
  return new EventCounter<'reason'>({
    name,
    help: `${whose} closed by the server for a reason, by code: a protocol violation's (handshake.*, chunk.*, amf.*, so.*, command.*, link.*), handshake.timeout, connect.timeout, idle_timeout, session.before_connect, internal_error, admin.kick, auth_timeout, backlog_limit, silent, other.`,
    labelNames: ['reason'],
  });
}

/** Counts `connection`'s close in `counter` when it closes with a reason. */
export function countCloses(connection: RtmpConnection, counter: EventCounter<'reason'>): void {
  connection.once('close', (reason) => {
    if (reason) counter.inc({ reason: closeReasonCode(reason) });
  });
}
