/**
 * What the edge can do with the ffmpeg it finds: checked once at start (`ffmpeg -hide_banner
 * -encoders`, through the FfmpegProcess wrapper) and logged, naming each feature that is off for
 * want of ffmpeg or of an encoder it needs. Nothing is switched here: a feature that lacks its
 * encoder fails when a viewer or publisher uses it (its transcoder's exit says why); the start-up
 * report lets an operator see it before anyone does.
 */
import { FfmpegProcess, type FfmpegExit } from './ffmpeg.ts';
import type { Logger } from './logger.ts';

/** The encoders the edge's transcoders use (libopus also decodes the browsers' Opus). */
export type FfmpegEncoder = 'libx264' | 'libopus' | 'aac';
export const FFMPEG_ENCODERS: readonly FfmpegEncoder[] = ['libx264', 'libopus', 'aac'];

/** Each feature that runs ffmpeg and the encoders it needs (gateway/playback/transcoder.ts, gateway/webrtc/*-to-*.ts). */
export const FFMPEG_FEATURES: ReadonlyArray<{ feature: string; needs: readonly FfmpegEncoder[] }> = [
  { feature: 'HTTP/WS-FLV playback of Flash-era streams (Sorenson Spark, VP6, Nellymoser, Speex, MP3 re-encoded to H.264/AAC)', needs: ['libx264', 'aac'] },
  { feature: 'WebRTC playback of video that must be re-encoded (H.264 with B-frames, Sorenson Spark, VP6)', needs: ['libx264'] },
  { feature: 'sound in WebRTC playback of RTMP streams (AAC re-encoded to Opus)', needs: ['libopus'] },
  { feature: 'sound of WebRTC publishers for RTMP players and recordings (Opus re-encoded to AAC)', needs: ['libopus', 'aac'] },
  { feature: 'WebRTC publishing in VP8 (re-encoded to H.264 for RTMP players and recordings)', needs: ['libx264'] },
];

export interface FfmpegCapabilities {
  /** ffmpeg ran and listed its encoders. */
  found: boolean;
  /** Why it could not be asked (not installed, failed), null when found. */
  problem: string | null;
  encoders: Record<FfmpegEncoder, boolean>;
  /** Features off for want of ffmpeg or an encoder, with what is missing. */
  disabled: Array<{ feature: string; missing: FfmpegEncoder[] }>;
}

/**
 * The encoder names in `ffmpeg -encoders` output: after the legend's ` ------` line, one encoder a
 * line as ` FLAGS name  description` (flags: 6 characters, the first V, A or S).
 */
export function parseEncoderList(listing: string): Set<string> {
  const names = new Set<string>();
  let inList = false;
  for (const line of listing.split('\n')) {
    if (!inList) {
      inList = /^\s*-{6}\s*$/.test(line);
      continue;
    }
    const match = /^\s*[VAS.][A-Z.]{5}\s+(\S+)/.exec(line);
    if (match) names.add(match[1]!);
  }
  return names;
}

/** What is on and off, given the encoders found (none when ffmpeg itself is missing). */
export function capabilitiesOf(encoders: ReadonlySet<string> | null, problem: string | null = null): FfmpegCapabilities {
  const has = (encoder: FfmpegEncoder) => encoders?.has(encoder) ?? false;
  return {
    found: encoders !== null,
    problem,
    encoders: Object.fromEntries(FFMPEG_ENCODERS.map((encoder) => [encoder, has(encoder)])) as Record<FfmpegEncoder, boolean>,
    disabled: FFMPEG_FEATURES.map(({ feature, needs }) => ({ feature, missing: needs.filter((encoder) => !has(encoder)) })).filter(({ missing }) => missing.length > 0),
  };
}

/** Asks `binary` for its encoders; never throws (a missing ffmpeg is a capability report too). */
export async function checkFfmpeg(binary = 'ffmpeg'): Promise<FfmpegCapabilities> {
  const ffmpeg = new FfmpegProcess({ global: ['-encoders'], inputs: [], outputs: [] }, binary);
  ffmpeg.stdin.end();
  let listing = '';
  ffmpeg.stdout.setEncoding('utf8');
  ffmpeg.stdout.on('data', (text: string) => { listing += text; });
  const exit = await new Promise<FfmpegExit>((resolve) => ffmpeg.once('exit', resolve));
  if (exit.code !== 0) return capabilitiesOf(null, `${exit.reason}${exit.stderr ? `: ${exit.stderr.split('\n').at(-1)}` : ''}`);
  return capabilitiesOf(parseEncoderList(listing));
}

/** One line when all is there; otherwise a warning naming what is missing and each feature that is off. */
export function logFfmpegCapabilities(capabilities: FfmpegCapabilities, log: Logger): void {
  const encoders = FFMPEG_ENCODERS.map((encoder) => `${encoder}:${capabilities.encoders[encoder] ? 'yes' : 'no'}`).join(',');
  if (capabilities.disabled.length === 0) {
    log.info('ffmpeg found with every encoder the edge uses', { encoders });
    return;
  }
  log.warn(capabilities.found ? 'ffmpeg lacks encoders the edge uses' : 'ffmpeg not usable: features that transcode are off', {
    problem: capabilities.problem ?? undefined, encoders, disabled: capabilities.disabled.length,
  });
  for (const { feature, missing } of capabilities.disabled) log.warn(`disabled: ${feature}`, { missing: missing.join(',') });
}
