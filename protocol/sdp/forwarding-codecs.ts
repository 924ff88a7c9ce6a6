/**
 * Whether a playing browser's offer can take a stream published over WebRTC as it is, RTP packet
 * for packet (forwarded, not transcoded): its receiving sections must offer the publisher's video
 * codec with the same packetization (H.264: the same packetization-mode; the same profile-level-id
 * preferred, then the same profile and constraints, then the same profile) and Opus for the
 * publisher's audio. Payload types may differ: the forwarder rewrites them to the viewer's.
 */
import { fmtpParameters, type EgressChoice, type IngestChoice, type SdpFormat, type SdpMediaSection } from './sdp.ts';

const RECEIVING = new Set(['recvonly', 'sendrecv']);

function parameter(format: SdpFormat, name: string): string {
  return (fmtpParameters(format.parameters).get(name) ?? '').toLowerCase();
}

/** The viewer's format that carries the publisher's `published` video as it is, or undefined. */
function matchingVideo(formats: readonly SdpFormat[], published: SdpFormat): SdpFormat | undefined {
  const sameCodec = formats.filter((f) => f.codec.toLowerCase() === published.codec.toLowerCase() && f.clockRate === published.clockRate);
  if (!/^h264$/i.test(published.codec)) return sameCodec[0];
  // packetization-mode absent means 0 (RFC 6184 8.1).
  const mode = (f: SdpFormat) => parameter(f, 'packetization-mode') || '0';
  const h264 = sameCodec.filter((f) => mode(f) === mode(published));
  const profileLevel = parameter(published, 'profile-level-id');
  // profile-level-id is profile_idc, constraint flags, level_idc (two hex digits each): the whole, then profile and constraints, then profile.
  const sameStart = (digits: number) => h264.find((f) => parameter(f, 'profile-level-id').slice(0, digits) === profileLevel.slice(0, digits));
  return sameStart(6) ?? sameStart(4) ?? sameStart(2) ?? h264[0];
}

/**
 * What to send a viewer whose offer has `sections`, forwarding the publisher's RTP (`published`:
 * what the edge took from the publisher): the viewer's mid and payload type per track. Null when
 * the offer cannot take the publisher's video as it is (or takes none of its tracks): the viewer
 * then plays the stream the ordinary way.
 */
export function chooseForwardedCodecs(sections: readonly SdpMediaSection[], published: IngestChoice): EgressChoice | null {
  const choice: EgressChoice = { video: null, audio: null };
  let offersVideo = false;
  for (const section of sections) {
    if (!RECEIVING.has(section.direction)) continue;
    if (section.kind === 'video' && !offersVideo) {
      offersVideo = true;
      const format = published.video && matchingVideo(section.formats, published.video.format);
      if (format) choice.video = { mid: section.mid, format, codec: published.video!.codec };
    } else if (section.kind === 'audio' && !choice.audio && published.audio) {
      const format = section.formats.find((f) => /^opus$/i.test(f.codec) && f.clockRate === 48000);
      if (format) choice.audio = { mid: section.mid, format };
    }
  }
  if (published.video && offersVideo && !choice.video) return null;
  return choice.video || choice.audio ? choice : null;
}
