/**
 * SDP (RFC 8866) as WebRTC peers write it, read only as far as the edge needs: the media sections
 * of an offer with their mid, direction and payload formats (rtpmap, fmtp), and the choice of what
 * the edge takes from a browser (H.264 packetization-mode 1, else VP8; and Opus). The transport parts (ICE,
 * DTLS) are for the WebRTC stack, which gets the offer text as it came. Bounded and strict: a
 * hostile offer is an SdpError with a code, never an exception of another kind.
 */
import { SdpError } from '../errors.ts';

export interface SdpLimits {
  /** Largest offer accepted, in bytes. */
  maxBytes: number;
  maxMediaSections: number;
  /** Payload formats one media section may list. */
  maxFormats: number;
}

export const defaultSdpLimits: SdpLimits = { maxBytes: 64 * 1024, maxMediaSections: 16, maxFormats: 64 };

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpFormat {
  payloadType: number;
  /** Encoding name as written (H264, opus, VP8, rtx, ...). */
  codec: string;
  clockRate: number;
  channels: number | null;
  /** The fmtp parameters, as written after the payload type; '' when none. */
  parameters: string;
}

export interface SdpMediaSection {
  kind: string;
  mid: string;
  direction: SdpDirection;
  /** In the order of the m= line (the sender's preference). */
  formats: SdpFormat[];
}

const DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];
/** What a line of SDP may hold: printable text and tabs (RFC 8866 forbids NUL, CR and LF inside). */
const LINE = /^[a-z]=[\x20-\x7e\t\u00a0-\uffff]*$/;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** An offer's bytes as text: SDP is UTF-8 (RFC 8866), and bytes that are not are refused rather than replaced. */
export function decodeSdp(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new SdpError('sdp.not_utf8', 'the SDP is not valid UTF-8');
  }
}

/** Parses the media sections of an offer; throws SdpError on anything malformed or over a limit. */
export function parseSdp(text: string, limits: SdpLimits = defaultSdpLimits): SdpMediaSection[] {
  if (Buffer.byteLength(text) > limits.maxBytes) throw new SdpError('sdp.too_large', `SDP of ${Buffer.byteLength(text)} bytes exceeds ${limits.maxBytes}`);
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  if (lines[0] !== 'v=0') throw new SdpError('sdp.not_sdp', 'SDP must start with v=0');
  const sections: SdpMediaSection[] = [];
  const mids = new Set<string>();
  let current: (SdpMediaSection & { payloadTypes: number[]; rtpmap: Map<number, SdpFormat>; fmtp: Map<number, string>; hasMid: boolean }) | null = null;
  const finish = () => {
    if (!current) return;
    if (!current.hasMid) throw new SdpError('sdp.no_mid', `the ${current.kind} section has no a=mid (WebRTC bundles by mid)`);
    if (mids.has(current.mid)) throw new SdpError('sdp.duplicate_mid', `two media sections have mid ${JSON.stringify(current.mid)}`);
    mids.add(current.mid);
    current.formats = current.payloadTypes.flatMap((pt) => {
      const format = current!.rtpmap.get(pt);
      return format ? [{ ...format, parameters: current!.fmtp.get(pt) ?? '' }] : [];
    });
    const { kind, mid, direction, formats } = current;
    sections.push({ kind, mid, direction, formats });
  };
  for (const line of lines) {
    if (!LINE.test(line)) throw new SdpError('sdp.bad_line', `not an SDP line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith('m=')) {
      finish();
      if (sections.length >= limits.maxMediaSections) throw new SdpError('sdp.too_many_sections', `more than ${limits.maxMediaSections} media sections`);
      const [kind, port, protocol, ...formats] = line.slice(2).split(' ');
      if (!kind || !port || !protocol || !/^\d+$/.test(port)) throw new SdpError('sdp.bad_media_line', `malformed m= line: ${JSON.stringify(line.slice(0, 80))}`);
      if (formats.length > limits.maxFormats) throw new SdpError('sdp.too_many_formats', `more than ${limits.maxFormats} formats in one section`);
      const payloadTypes = protocol.includes('RTP') ? formats.map((f) => payloadType(f)) : [];
      current = { kind, mid: '', direction: 'sendrecv', formats: [], payloadTypes, rtpmap: new Map(), fmtp: new Map(), hasMid: false };
      continue;
    }
    if (!current || !line.startsWith('a=')) continue;
    const [attribute, value = ''] = splitOnce(line.slice(2), ':');
    if (attribute === 'mid') {
      if (!/^[\w.~-]{1,32}$/.test(value)) throw new SdpError('sdp.bad_mid', `bad mid ${JSON.stringify(value.slice(0, 40))}`);
      current.mid = value;
      current.hasMid = true;
    } else if ((DIRECTIONS as readonly string[]).includes(attribute)) {
      current.direction = attribute as SdpDirection;
    } else if (attribute === 'rtpmap') {
      const match = /^(\d{1,3}) ([\w.-]{1,32})\/(\d{1,6})(?:\/(\d{1,2}))?$/.exec(value);
      if (!match) throw new SdpError('sdp.bad_rtpmap', `malformed a=rtpmap:${value.slice(0, 60)}`);
      const pt = payloadType(match[1]!);
      current.rtpmap.set(pt, { payloadType: pt, codec: match[2]!, clockRate: Number(match[3]), channels: match[4] ? Number(match[4]) : null, parameters: '' });
    } else if (attribute === 'fmtp') {
      const [pt, parameters = ''] = splitOnce(value, ' ');
      current.fmtp.set(payloadType(pt), parameters);
    }
  }
  finish();
  if (sections.length === 0) throw new SdpError('sdp.no_media', 'the SDP has no media section');
  return sections;
}

function payloadType(text: string): number {
  const n = Number(text);
  if (!/^\d{1,3}$/.test(text) || n > 127) throw new SdpError('sdp.bad_payload_type', `bad payload type ${JSON.stringify(text.slice(0, 10))}`);
  return n;
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/** The fmtp parameters as a map (keys lower-cased). */
export function fmtpParameters(parameters: string): Map<string, string> {
  return new Map(parameters.split(';').map((p) => p.trim()).filter(Boolean).map((p) => {
    const [key, value = ''] = splitOnce(p, '=');
    return [key.toLowerCase(), value] as [string, string];
  }));
}

/** The video codecs the edge depacketizes: H.264 goes through as it is, VP8 is transcoded to H.264. */
export type IngestVideoCodec = 'h264' | 'vp8';

export interface IngestChoice {
  video: { mid: string; format: SdpFormat; codec: IngestVideoCodec } | null;
  audio: { mid: string; format: SdpFormat } | null;
}

/** The H.264 (packetization-mode 1: FU-A and STAP-A) format to use: constrained baseline 42e01f first, then any baseline, then any profile. */
function preferredH264(formats: readonly SdpFormat[]): SdpFormat | undefined {
  const h264 = formats.filter((f) => /^h264$/i.test(f.codec) && f.clockRate === 90000 && fmtpParameters(f.parameters).get('packetization-mode') === '1');
  const profile = (f: SdpFormat) => (fmtpParameters(f.parameters).get('profile-level-id') ?? '').toLowerCase();
  return h264.find((f) => profile(f).startsWith('42e0')) ?? h264.find((f) => profile(f).startsWith('42')) ?? h264[0];
}

type VideoPicker = (formats: readonly SdpFormat[]) => { format: SdpFormat; codec: IngestVideoCodec } | undefined;

function pickH264(formats: readonly SdpFormat[]): ReturnType<VideoPicker> {
  const format = preferredH264(formats);
  return format && { format, codec: 'h264' };
}

/** H.264 when the section offers it (no re-encode), else VP8 (the edge transcodes it once). */
function pickH264OrVp8(formats: readonly SdpFormat[]): ReturnType<VideoPicker> {
  const vp8 = formats.find((f) => /^vp8$/i.test(f.codec) && f.clockRate === 90000);
  return pickH264(formats) ?? (vp8 && { format: vp8, codec: 'vp8' });
}

/**
 * Video (`pickVideo`) and Opus from the first video and audio sections whose direction is one
 * of `directions` (the offerer's view); an offer with nothing usable is refused with what it offered.
 */
function chooseCodecs(sections: readonly SdpMediaSection[], directions: readonly SdpDirection[], pickVideo: VideoPicker, nothing: string): IngestChoice {
  const choice: IngestChoice = { video: null, audio: null };
  const offered: string[] = [];
  for (const section of sections) {
    if (!directions.includes(section.direction)) continue;
    offered.push(...section.formats.map((f) => f.codec));
    if (section.kind === 'video' && !choice.video) {
      const best = pickVideo(section.formats);
      if (best) choice.video = { mid: section.mid, ...best };
    } else if (section.kind === 'audio' && !choice.audio) {
      const opus = section.formats.find((f) => /^opus$/i.test(f.codec) && f.clockRate === 48000);
      if (opus) choice.audio = { mid: section.mid, format: opus };
    }
  }
  if (!choice.video && !choice.audio) {
    const codecs = [...new Set(offered)].join(', ') || 'none';
    throw new SdpError('sdp.no_supported_codec', `${nothing}; offered: ${codecs}`);
  }
  return choice;
}

/**
 * What the edge takes from a publishing browser: H.264 with packetization-mode 1 (constrained
 * baseline 42e01f preferred, as RTMP players all decode it; then any baseline, then any profile),
 * else VP8 (for a browser that offers no H.264: transcoded to H.264 once, at the edge), and Opus.
 * A section offering none of them is left out of the answer; an offer with nothing usable at all
 * is refused with the codecs it offered.
 */
export function chooseIngestCodecs(sections: readonly SdpMediaSection[]): IngestChoice {
  return chooseCodecs(sections, ['sendonly', 'sendrecv'], pickH264OrVp8, 'nothing to receive: the edge takes H.264 (packetization-mode 1), VP8 and Opus');
}

/** What the edge sends a playing browser, and in which media section (mid) and payload type. */
export type EgressChoice = IngestChoice;

/**
 * What the edge sends to a browser that plays (WHEP): the same codecs as it takes (H.264 as the
 * RTMP stream carries it, packetization-mode 1; Opus, transcoded from AAC), from sections the
 * browser receives on (recvonly or sendrecv). The payload types are the browser's own, so the
 * RTP the edge sends is what the browser asked for.
 */
export function chooseEgressCodecs(sections: readonly SdpMediaSection[]): EgressChoice {
  return chooseCodecs(sections, ['recvonly', 'sendrecv'], pickH264, 'nothing to send: the edge sends H.264 (packetization-mode 1) and Opus');
}
