/**
 * Enhanced RTMP (E-RTMP v2, veovera/enhanced-rtmp) audio tags: SoundFormat 9 (ExHeader) switches
 * the tag header to an AudioPacketType and a FourCC codec id, and AudioPacketType.Multitrack adds
 * track ids, so one stream can carry a second audio track beside the legacy one. The edge uses it
 * to carry a browser's Opus (track 1) beside the AAC every RTMP client plays (track 0), so a
 * browser on another edge gets the original audio. Pure functions: bytes in, values out; like
 * codecs.ts they return null for payloads they cannot make sense of (payloads are opaque to a
 * server and a strange one must never cost the connection).
 */

/** SoundFormat 9: the upper nibble of an E-RTMP audio tag's first byte. */
export const SOUND_FORMAT_EX_HEADER = 9;

export const AudioPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

export const AvMultitrackType = { OneTrack: 0, ManyTracks: 1, ManyTracksManyCodecs: 2 } as const;

/** The audio FourCCs E-RTMP defines. */
export const AudioFourCc = { Opus: 'Opus', Aac: 'mp4a', Mp3: '.mp3', Flac: 'fLaC', Ac3: 'ac-3', Eac3: 'ec-3' } as const;

/** One track's part of an E-RTMP audio message. */
export interface EnhancedAudioTrack {
  /** 0 for a message without multitrack signalling (the default track). */
  trackId: number;
  fourCc: string;
  /** A view of the message's bytes: the codec's data for this track. */
  data: Buffer;
}

export interface EnhancedAudioTag {
  /** SequenceStart, CodedFrames, SequenceEnd, MultichannelConfig (after any ModEx and Multitrack signalling). */
  packetType: number;
  multitrack: boolean;
  tracks: EnhancedAudioTrack[];
}

/** The bytes of a 4-character code; RangeError for anything else (a programming error, not input). */
function fourCcBytes(fourCc: string): Buffer {
  const bytes = Buffer.from(fourCc, 'latin1');
  if (bytes.length !== 4) throw new RangeError(`a FourCC has 4 characters, got ${JSON.stringify(fourCc)}`);
  return bytes;
}

/**
 * One track of audio as an E-RTMP multitrack message (AvMultitrackType.OneTrack): header byte,
 * packet type, FourCC, track id, then `data` (SequenceStart: the codec's configuration, for Opus
 * the OpusHead; CodedFrames: one packet).
 */
export function encodeAudioTrackTag(track: { trackId: number; fourCc: string; packetType: number; data: Buffer }): Buffer {
  if (!Number.isInteger(track.trackId) || track.trackId < 0 || track.trackId > 255) throw new RangeError(`track id ${track.trackId} is not 0-255`);
  const header = Buffer.alloc(7);
  header[0] = (SOUND_FORMAT_EX_HEADER << 4) | AudioPacketType.Multitrack;
  header[1] = (AvMultitrackType.OneTrack << 4) | (track.packetType & 0x0f);
  fourCcBytes(track.fourCc).copy(header, 2);
  header[6] = track.trackId;
  return Buffer.concat([header, track.data]);
}

/** True when the payload is an E-RTMP audio tag (SoundFormat 9). */
export function isEnhancedAudio(payload: Buffer): boolean {
  return payload.length > 0 && payload[0]! >> 4 === SOUND_FORMAT_EX_HEADER;
}

/**
 * Reads an E-RTMP audio tag: every track in it, with views of their data. Null when the payload
 * is not one or is cut short (a track size past the end, a missing FourCC or track id).
 */
export function parseEnhancedAudioTag(payload: Buffer): EnhancedAudioTag | null {
  if (!isEnhancedAudio(payload)) return null;
  let at = 0;
  let packetType = payload[at++]! & 0x0f;
  // ModEx: modifiers (a nanosecond timestamp offset) before the real packet type; skipped.
  while (packetType === AudioPacketType.ModEx) {
    if (at >= payload.length) return null;
    let size = payload[at++]! + 1;
    if (size === 256) {
      if (at + 2 > payload.length) return null;
      size = payload.readUInt16BE(at) + 1;
      at += 2;
    }
    at += size;
    if (at >= payload.length) return null;
    packetType = payload[at++]! & 0x0f;
  }
  if (packetType !== AudioPacketType.Multitrack) {
    if (at + 4 > payload.length) return null;
    return { packetType, multitrack: false, tracks: [{ trackId: 0, fourCc: payload.toString('latin1', at, at + 4), data: payload.subarray(at + 4) }] };
  }
  if (at >= payload.length) return null;
  const multitrackType = payload[at]! >> 4;
  packetType = payload[at++]! & 0x0f;
  if (packetType === AudioPacketType.Multitrack) return null;
  let fourCc = '';
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) {
    if (at + 4 > payload.length) return null;
    fourCc = payload.toString('latin1', at, at + 4);
    at += 4;
  }
  const tracks: EnhancedAudioTrack[] = [];
  while (at < payload.length) {
    if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) {
      if (at + 4 > payload.length) return null;
      fourCc = payload.toString('latin1', at, at + 4);
      at += 4;
    }
    if (at >= payload.length) return null;
    const trackId = payload[at++]!;
    if (multitrackType === AvMultitrackType.OneTrack) {
      tracks.push({ trackId, fourCc, data: payload.subarray(at) });
      break;
    }
    if (at + 3 > payload.length) return null;
    const size = payload.readUIntBE(at, 3);
    at += 3;
    if (at + size > payload.length) return null;
    tracks.push({ trackId, fourCc, data: payload.subarray(at, at + size) });
    at += size;
  }
  return tracks.length > 0 ? { packetType, multitrack: true, tracks } : null;
}

/**
 * The track an audio payload belongs to for fan-out: 0 (the default track every client plays) for
 * legacy tags, E-RTMP tags without multitrack signalling, unreadable ones and multitrack messages
 * that include track 0; otherwise the message's first track id.
 */
export function additionalTrackOf(payload: Buffer): number {
  if (!isEnhancedAudio(payload)) return 0;
  const tracks = parseEnhancedAudioTag(payload)?.tracks;
  if (!tracks || tracks.some((track) => track.trackId === 0)) return 0;
  return tracks[0]!.trackId;
}
