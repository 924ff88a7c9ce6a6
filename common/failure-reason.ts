/**
 * What to close a peer with when handling its bytes threw: a protocol violation by the peer is
 * named by its code (and closes that peer only); anything else is a bug here, logged with its stack.
 */
import { ProtocolError } from '#protocol/errors.ts';
import type { Logger } from './logger.ts';

export function failureReason(error: unknown, log: Logger, what: string): string {
  if (error instanceof ProtocolError) return `${error.code}: ${error.message}`;
  log.error(`internal error while handling ${what}`, { error: (error as Error).stack ?? String(error) });
  return 'internal error';
}
