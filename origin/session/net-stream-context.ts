/**
 * What a NetStream role (player, publisher) needs from the session that owns it: the connection
 * to write to, the session's logger, and replies encoded the way this client asked for
 * (AMF0 or AMF3 command messages).
 */
import type { AmfValue } from '#protocol/amf/types.ts';
import type { SessionTransport } from '#common/session-transport.ts';
import type { Logger } from '#common/logger.ts';
import type { StatusInfo } from './status.ts';

export interface NetStreamContext {
  readonly connection: SessionTransport;
  readonly log: Logger;
  /** `timestamp`: a live player stamps its messages with its media's time (0 otherwise). */
  sendStatus(streamId: number, info: StatusInfo, timestamp?: number): void;
  sendData(streamId: number, values: AmfValue[], timestamp?: number): void;
}
