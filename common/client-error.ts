/**
 * The base of every refusal a client is told about (an RTMP status or `_error`, an HTTP status, a
 * WebSocket error) while its connection stays up: origin and edge both throw and catch it, so an
 * error's kind, not the process that raised it, decides how it reaches the client.
 */
import { CodedError } from '#protocol/errors.ts';

export class ClientError extends CodedError {}
