/**
 * RTP header extension elements (RFC 8285): the one-byte form (profile 0xBEDE, ids 1-14,
 * 1-16 bytes each) and the two-byte form (profile 0x100X, ids 1-255, 0-255 bytes each) that
 * WebRTC uses to carry mid, rid, audio level, transport-wide sequence numbers and the like
 * inside RtpPacket.extension. Which id means what is negotiated in SDP, not known here.
 */

import { requireBytes, requireInteger } from './bounds.ts';
import type { RtpHeaderExtension, RtpPacket } from './rtp-packet.ts';

export const ONE_BYTE_PROFILE = 0xbede;
/** The two-byte form's profile is 0x100 followed by 4 application-dependent bits. */
export const TWO_BYTE_PROFILE = 0x1000;
const TWO_BYTE_PROFILE_MASK = 0xfff0;
/** One-byte form: id 15 means "stop here" (RFC 8285 4.2), id 0 a padding byte. */
const ONE_BYTE_STOP_ID = 15;
const ONE_BYTE_MAX_ID = 14;
const ONE_BYTE_MAX_LENGTH = 16;
const TWO_BYTE_MAX_ID = 255;
const TWO_BYTE_MAX_LENGTH = 255;

export interface HeaderExtensionElement {
  id: number;
  data: Buffer;
}

export function isOneByteProfile(profile: number): boolean {
  return profile === ONE_BYTE_PROFILE;
}

export function isTwoByteProfile(profile: number): boolean {
  return (profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE;
}

/**
 * The elements of an RFC 8285 extension, in order (data shares memory with the packet); null
 * when the profile is neither form (an RFC 3550 extension of some other profile). Throws
 * RtpError 'rtp.bad_extension' when an element runs past the extension.
 */
export function parseHeaderExtensionElements(extension: RtpHeaderExtension): HeaderExtensionElement[] | null {
  if (isOneByteProfile(extension.profile)) return parseElements(extension.data, 1);
  if (isTwoByteProfile(extension.profile)) return parseElements(extension.data, 2);
  return null;
}

/** Reads elements whose header is `headerSize` bytes: one (4-bit id, 4-bit length - 1) or two (id, length). */
function parseElements(data: Buffer, headerSize: 1 | 2): HeaderExtensionElement[] {
  const elements: HeaderExtensionElement[] = [];
  let offset = 0;
  while (offset < data.length) {
    // A zero byte where an element could start is padding, in both forms.
    if (data[offset] === 0) {
      offset++;
      continue;
    }
    requireBytes(data, offset, headerSize, 'rtp.bad_extension', 'header extension element header');
    const id = headerSize === 1 ? data[offset]! >> 4 : data[offset]!;
    if (headerSize === 1 && id === ONE_BYTE_STOP_ID) break;
    const length = headerSize === 1 ? (data[offset]! & 0x0f) + 1 : data[offset + 1]!;
    offset += headerSize;
    requireBytes(data, offset, length, 'rtp.bad_extension', `header extension element ${id}`);
    elements.push({ id, data: data.subarray(offset, offset + length) });
    offset += length;
  }
  return elements;
}

/**
 * Builds an extension from elements: the one-byte form when every element fits it, otherwise
 * (or with `twoByte`) the two-byte form with `appBits` in the profile's low nibble. Pads to a
 * 32-bit boundary with zeros. Throws RtpError 'rtp.bad_field' for ids or lengths neither form allows.
 */
export function buildHeaderExtension(elements: readonly HeaderExtensionElement[], options: { twoByte?: boolean; appBits?: number } = {}): RtpHeaderExtension {
  const fitsOneByte = elements.every((e) => e.id >= 1 && e.id <= ONE_BYTE_MAX_ID && e.data.length >= 1 && e.data.length <= ONE_BYTE_MAX_LENGTH);
  const headerSize = options.twoByte || !fitsOneByte ? 2 : 1;
  const appBits = options.appBits ?? 0;
  requireInteger(appBits, 0, 15, 'two-byte header extension application bits');
  for (const { id, data } of elements) {
    requireInteger(id, 1, TWO_BYTE_MAX_ID, 'header extension id');
    requireInteger(data.length, 0, TWO_BYTE_MAX_LENGTH, `header extension element ${id} length`);
  }
  const size = elements.reduce((sum, e) => sum + headerSize + e.data.length, 0);
  const data = Buffer.alloc(Math.ceil(size / 4) * 4);
  let offset = 0;
  for (const element of elements) {
    if (headerSize === 1) {
      data[offset++] = (element.id << 4) | (element.data.length - 1);
    } else {
      data[offset++] = element.id;
      data[offset++] = element.data.length;
    }
    offset += element.data.copy(data, offset);
  }
  return { profile: headerSize === 1 ? ONE_BYTE_PROFILE : TWO_BYTE_PROFILE | appBits, data };
}

/** The data of the first element with `id` in the packet's RFC 8285 extension, or undefined. */
export function findHeaderExtension(packet: RtpPacket, id: number): Buffer | undefined {
  if (!packet.extension) return undefined;
  return parseHeaderExtensionElements(packet.extension)?.find((e) => e.id === id)?.data;
}
