/**
 * What every session of the origin shares: the services of the origin it belongs to. Sessions
 * get this one object instead of a growing list of constructor arguments.
 */
import type { StreamHub } from './stream-hub.ts';

export interface OriginContext {
  /** Live streams, published into and subscribed from. */
  readonly hub: StreamHub;
}
