/**
 * A time written into a video frame's pixels and read back after encoding, transport and decoding,
 * for end-to-end latency: two rows of 32 blocks across the top of the frame, the millisecond
 * counter's bits (most significant first) in the upper row and their complements in the lower one.
 * A bit is read by comparing its two blocks, so no threshold depends on the codec's levels, and a
 * pair too close to call rejects the whole frame (a half-decoded or blended frame gives no figure
 * rather than a wrong one). The layout is relative to the frame size: a frame the sender or the
 * reader scaled reads the same.
 *
 * Both functions close over nothing: browser pages run the same code from their source text
 * (`${writeStamp}` in a page script), Node runs it on raw gray frames.
 */

/** Paints `value` (0..2^32-1) into a `width` x `height` frame through `fill` (a rectangle of one luma, 0..255). */
export function writeStamp(value: number, width: number, height: number, fill: (x: number, y: number, w: number, h: number, luma: number) => void): void {
  const bits = 32;
  // The two rows take the top sixth of the frame.
  const rowHeight = height / 12;
  for (let i = 0; i < bits; i++) {
    const one = Math.floor(value / 2 ** (bits - 1 - i)) % 2 === 1;
    const x = Math.round((i * width) / bits);
    const w = Math.round(((i + 1) * width) / bits) - x;
    fill(x, 0, w, Math.round(rowHeight), one ? 255 : 0);
    fill(x, Math.round(rowHeight), w, Math.round(2 * rowHeight) - Math.round(rowHeight), one ? 0 : 255);
  }
}

/** The value writeStamp painted, read through `luma` (0..255 at a pixel), or null when any bit is unclear. */
export function readStamp(width: number, height: number, luma: (x: number, y: number) => number): number | null {
  const bits = 32;
  const rowHeight = height / 12;
  /** Minimum difference between a bit's two blocks (of 255): black and white, whatever the codec did to them. */
  const minContrast = 64;
  // The mean of a 3x3 grid in the middle half of a block: away from edges the codec smears.
  const blockMean = (bit: number, row: number): number => {
    let sum = 0;
    for (let gx = 0; gx < 3; gx++) {
      for (let gy = 0; gy < 3; gy++) {
        const x = Math.floor(((bit + 0.25 + gx * 0.25) * width) / bits);
        const y = Math.floor((row + 0.25 + gy * 0.25) * rowHeight);
        sum += luma(x, y);
      }
    }
    return sum / 9;
  };
  let value = 0;
  for (let i = 0; i < bits; i++) {
    const upper = blockMean(i, 0);
    const lower = blockMean(i, 1);
    if (Math.abs(upper - lower) < minContrast) return null;
    value = value * 2 + (upper > lower ? 1 : 0);
  }
  return value;
}
