/** Typed errors of the origin's core (hub, streams, scopes), mapped by sessions to RTMP status codes. */
import { ClientError } from '#common/client-error.ts';

/** A refusal of the origin's core the client is told about (status or _error); the connection stays up. */
export class OriginError extends ClientError {}

/** A stream or application name is not acceptable (bad characters, `..`, too long). */
export class BadNameError extends OriginError {}
