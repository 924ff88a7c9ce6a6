/**
 * The CRC-32 of Ogg pages (RFC 3533 6): polynomial 0x04c11db7, initial value 0, no bit
 * reflection and no final XOR. It is not zlib's CRC-32 (which reflects), so node:zlib's crc32
 * cannot be used. Pure.
 */

const OGG_CRC_POLYNOMIAL = 0x04c11db7;

/** One entry per byte value: the CRC register after shifting that byte through it MSB first. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let register = byte << 24;
    for (let bit = 0; bit < 8; bit++) {
      register = register & 0x80000000 ? (register << 1) ^ OGG_CRC_POLYNOMIAL : register << 1;
    }
    table[byte] = register >>> 0;
  }
  return table;
})();

/** The Ogg CRC of `data`, continuing from `crc` (so a page can be summed in pieces). */
export function oggCrc32(data: Uint8Array, crc = 0): number {
  let register = crc >>> 0;
  for (const byte of data) {
    register = ((register << 8) ^ CRC_TABLE[((register >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return register;
}
