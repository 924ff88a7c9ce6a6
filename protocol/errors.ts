/**
 * Typed errors of the protocol codecs. Codecs throw these on bad input; the session
 * that fed the bytes logs `code` and `message` and closes only its own connection.
 */

export class ProtocolError extends Error {
  /** Stable machine-readable reason, e.g. 'handshake.bad_version', 'chunk.message_too_large'. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The RTMP handshake was malformed (bad version byte, short or inconsistent packets). */
export class HandshakeError extends ProtocolError {}

/** The chunk stream broke a rule or a limit (chunk size, message size, chunk stream count, ...). */
export class ChunkStreamError extends ProtocolError {}

/** AMF0/AMF3 data was malformed, truncated, nested too deep or used an unsupported feature. */
export class AmfError extends ProtocolError {}

/** An FLV file or tag was malformed. */
export class FlvError extends ProtocolError {}
