/**
 * Checks shared by the RTP-side codecs: that declared lengths stay inside the bytes received
 * (every parser asks before it reads), and that fields handed to a serializer fit their bits.
 * Both throw RtpError, so a caller handles one error type whatever the codec.
 */

import { RtpError } from '../errors.ts';

/** Throws `code` unless `data` holds `length` bytes from `offset`; `what` names the structure for the message. */
export function requireBytes(data: Uint8Array, offset: number, length: number, code: string, what: string): void {
  if (offset + length > data.length) {
    throw new RtpError(code, `${what} needs ${length} bytes at offset ${offset}, only ${Math.max(0, data.length - offset)} left`);
  }
}

/** Throws 'rtp.bad_field' unless `value` is an integer from `min` to `max`. */
export function requireInteger(value: number, min: number, max: number, what: string, code = 'rtp.bad_field'): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RtpError(code, `${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** Throws 'rtp.bad_field' unless `value` is an unsigned integer of at most `bits` bits. */
export function requireUint(value: number, bits: number, what: string): void {
  requireInteger(value, 0, 2 ** bits - 1, what);
}
