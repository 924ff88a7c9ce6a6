/**
 * The clocks of RTCP: NTP timestamps (RFC 3550 4; seconds since 1900 and a 32-bit fraction)
 * to and from Unix milliseconds, the compact "middle 32 bits" form that receiver reports echo,
 * and the mapping a sender report gives from a stream's RTP timestamps to the sender's
 * wallclock, which is how audio and video of one sender are lined up (RFC 3550 6.4.1).
 */

import { requireInteger, requireUint } from './bounds.ts';
import { timestampDistance } from './wraparound.ts';

export interface NtpTimestamp {
  /** Seconds since 1900-01-01 UTC, modulo 2^32 (era 0 ends in 2036). */
  seconds: number;
  /** Fraction of a second in units of 2^-32 s. */
  fraction: number;
}

/** Seconds from 1900-01-01 (NTP epoch) to 1970-01-01 (Unix epoch). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;
const FRACTION_UNITS = 2 ** 32;
/** Compact NTP (LSR/DLSR) counts 1/65536 s. */
const COMPACT_UNITS = 65536;

export function ntpFromUnixMillis(unixMillis: number): NtpTimestamp {
  const wholeSeconds = Math.floor(unixMillis / 1000);
  const fraction = Math.floor(((unixMillis - wholeSeconds * 1000) / 1000) * FRACTION_UNITS);
  return { seconds: (wholeSeconds + NTP_UNIX_OFFSET_SECONDS) % FRACTION_UNITS, fraction };
}

/**
 * Unix milliseconds of an NTP timestamp. Seconds with the top bit clear are taken to be in
 * era 1 (from 2036-02-07), as RFC 4330 3 suggests, so the mapping holds from 1968 to 2104.
 */
export function unixMillisFromNtp({ seconds, fraction }: NtpTimestamp): number {
  requireUint(seconds, 32, 'NTP seconds');
  requireUint(fraction, 32, 'NTP fraction');
  const era = seconds < 0x80000000 ? FRACTION_UNITS : 0;
  return (seconds + era - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction / FRACTION_UNITS) * 1000;
}

/** The middle 32 bits of an NTP timestamp: what a report block's LSR field echoes of a sender report. */
export function compactNtp({ seconds, fraction }: NtpTimestamp): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/** Milliseconds in a compact NTP duration (a report block's DLSR, or now - LSR - DLSR for the round-trip time). */
export function compactNtpToMillis(compact: number): number {
  return (compact / COMPACT_UNITS) * 1000;
}

/** What a sender report says of a stream's clock: this RTP timestamp was sampled at this NTP time. */
export interface SenderClockReference {
  ntpTimestamp: NtpTimestamp;
  rtpTimestamp: number;
}

/**
 * The sender's wallclock (Unix ms, fractional) at which the sample with `rtpTimestamp` was
 * taken, from the latest sender report of its SSRC and the stream's clock rate (90000 for
 * video, 48000 for Opus). Timestamps up to 2^31 ticks either side of the report map correctly
 * across the 32-bit wrap. Comparable between the streams of one sender: audio/video sync.
 */
export function rtpTimestampToUnixMillis(rtpTimestamp: number, report: SenderClockReference, clockRate: number): number {
  requireUint(rtpTimestamp, 32, 'RTP timestamp');
  requireUint(report.rtpTimestamp, 32, 'sender report RTP timestamp');
  requireInteger(clockRate, 1, 2 ** 32 - 1, 'clock rate');
  const ticks = timestampDistance(report.rtpTimestamp, rtpTimestamp);
  return unixMillisFromNtp(report.ntpTimestamp) + (ticks * 1000) / clockRate;
}
