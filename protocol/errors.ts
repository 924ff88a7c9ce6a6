/**
 * Typed errors of the protocol codecs. Codecs throw these on bad input; the session
 * that fed the bytes logs `code` and `message` and closes only its own connection.
 */

/** An error with a stable machine-readable reason, e.g. 'handshake.bad_version', 'chunk.message_too_large'. */
export class CodedError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad bytes from a peer: the connection that received them is closed. */
export class ProtocolError extends CodedError {}

/** The RTMP handshake was malformed (bad version byte, short or inconsistent packets). */
export class HandshakeError extends ProtocolError {}

/** The chunk stream broke a rule or a limit (chunk size, message size, chunk stream count, ...). */
export class ChunkStreamError extends ProtocolError {}

/** AMF0/AMF3 data was malformed, truncated, nested too deep or used an unsupported feature. */
export class AmfError extends ProtocolError {}

/** An FLV file or tag was malformed. */
export class FlvError extends ProtocolError {}

/** A command or data message did not have the shape RTMP requires (name, transaction id, ...). */
export class CommandError extends ProtocolError {}

/**
 * RTP, RTCP or an RTP payload (H.264 per RFC 6184, Opus per RFC 7587, AVCC/Annex-B NAL unit
 * framing) was truncated or malformed, or broke a limit; codes start with 'rtp.', 'rtcp.', 'h264.' or 'opus.'.
 */
export class RtpError extends ProtocolError {}

/** An SDP offer was malformed, too large, or asked for nothing this server can take; codes start with 'sdp.'. */
export class SdpError extends ProtocolError {}

/**
 * An Ogg page (RFC 3533) or an Ogg Opus header (RFC 7845) was truncated, malformed, failed its
 * CRC or broke a limit, or a packet handed to the writer could not be framed; codes start with 'ogg.'.
 */
export class OggError extends ProtocolError {}
