/** Byte helpers for codec tests: hex literals and a seeded PRNG so fuzz failures replay. */

/** Bytes from a hex string; whitespace is ignored so fixtures can be laid out by field. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Hex of a Latin-1 string, to splice readable names into hex fixtures. */
export const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** mulberry32: a fixed-seed PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `length` pseudo-random bytes from `seed`. */
export function randomBytes(length: number, seed: number): Buffer {
  const random = prng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}
