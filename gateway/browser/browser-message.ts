/**
 * Checking the fields of one message of the browser protocol (README "Browser protocol"): a message
 * that is not what its type needs throws BadMessage, whose `code` the browser gets in its error reply.
 * Used by the WebSocket session (ws-session.ts) and its WebRTC signalling (browser-webrtc.ts); the
 * message types and codes themselves are protocol/browser/browser-protocol.ts, which the web client
 * imports too.
 */
import { SAFE_NAME_RE, type BrowserErrorCode, type CallId, type ServerMessage } from '#protocol/browser/browser-protocol.ts';
import type { Logger } from '#common/logger.ts';
import { countEdgeInternalError } from '../edge-metrics.ts';

export type { BrowserErrorCode };

export class BadMessage extends Error {
  readonly code: BrowserErrorCode;
  constructor(code: BrowserErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type Json = Record<string, unknown>;

/**
 * A failure of ours, not the browser's, while handling one of its messages (now or after an await):
 * logged with its stack and counted (internal errors, `browser_message`); the reply tells the browser
 * only that its message (`id`) failed.
 */
export function internalErrorReply(log: Logger, what: string, error: unknown, id: CallId | undefined, fields: Record<string, unknown> = {}): ServerMessage {
  log.error(`internal error ${what}`, { ...fields, error: (error as Error).stack ?? String(error) });
  countEdgeInternalError('browser_message');
  return { type: 'error', code: 'bad_message', message: 'internal error', ...(id === undefined ? {} : { id }) };
}

export function field(message: Json, key: string, kind: 'string' | 'boolean', options: { optional?: boolean; max?: number; min?: number } = {}): string | boolean | undefined {
  const value = message[key];
  if (value === undefined && options.optional) return undefined;
  if (typeof value !== kind) throw new BadMessage('bad_message', `'${key}' must be a ${kind}`);
  if (typeof value === 'string' && (value.length > (options.max ?? 256) || value.length < (options.min ?? 0))) {
    throw new BadMessage('bad_message', `'${key}' must be ${options.min ?? 0}..${options.max ?? 256} characters`);
  }
  return value as string | boolean;
}
export const str = (m: Json, key: string, max = 256, min = 1) => field(m, key, 'string', { max, min }) as string;
export const optStr = (m: Json, key: string, max = 256) => field(m, key, 'string', { optional: true, max }) as string | undefined;

/** A call id chosen by the browser: a short string or a safe integer. */
export function callId(m: Json): string | number {
  const id = m.id;
  if ((typeof id === 'string' && id.length > 0 && id.length <= 64) || (typeof id === 'number' && Number.isSafeInteger(id))) return id;
  throw new BadMessage('bad_message', "'id' must be a string of 1..64 characters or an integer");
}

/** A room or stream name: 1..64 letters, digits, '_', '.' or '-'. */
export function safeName(m: Json, key: string): string {
  const value = str(m, key, 64);
  if (!SAFE_NAME_RE.test(value)) throw new BadMessage('bad_message', `'${key}' must be 1..64 letters, digits, '_', '.' or '-'`);
  return value;
}
