/**
 * RTP's counters wrap: sequence numbers after 65535, timestamps after 2^32 - 1. Comparing
 * them, counting losses and ordering packets needs them unwrapped into numbers that keep
 * growing (RFC 3550 A.1 "extended" sequence numbers). These helpers do it by taking each new
 * value as the nearest one to the last, forward or back (serial number arithmetic, RFC 1982).
 */

import { requireUint } from './bounds.ts';

/** `b - a` for `bits`-bit counters, as the shortest signed distance (b "newer" when positive). */
export function wrappingDistance(a: number, b: number, bits: number): number {
  const range = 2 ** bits;
  const forward = (((b - a) % range) + range) % range;
  return forward >= range / 2 ? forward - range : forward;
}

/** Signed distance from sequence number `a` to `b`, in -32768..32767. */
export function sequenceNumberDistance(a: number, b: number): number {
  return wrappingDistance(a, b, 16);
}

/** Signed distance from RTP timestamp `a` to `b`, in -2^31..2^31-1 ticks. */
export function timestampDistance(a: number, b: number): number {
  return wrappingDistance(a, b, 32);
}

/**
 * Unwraps a `bits`-bit counter. The first value is taken as it is; each later value becomes
 * the extended value nearest to the previous one, so values reordered before the first can
 * come out below it (negative if they cross zero).
 */
class WrappingCounterUnwrapper {
  readonly #bits: number;
  #last: number | null = null;

  constructor(bits: number) {
    this.#bits = bits;
  }

  unwrap(value: number): number {
    requireUint(value, this.#bits, 'wrapping counter value');
    const last = this.#last;
    const extended = last === null ? value : last + wrappingDistance(last, value, this.#bits);
    this.#last = extended;
    return extended;
  }

  /** The last extended value, or null before the first. */
  get last(): number | null {
    return this.#last;
  }
}

/** 16-bit RTP sequence numbers to extended sequence numbers (cycles * 65536 + sequence number). */
export class SequenceNumberUnwrapper extends WrappingCounterUnwrapper {
  constructor() {
    super(16);
  }
}

/** 32-bit RTP timestamps to timestamps that keep growing (exact as numbers for 2^21 wraps). */
export class TimestampUnwrapper extends WrappingCounterUnwrapper {
  constructor() {
    super(32);
  }
}
