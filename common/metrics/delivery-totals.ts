/**
 * What every LiveDelivery of the process sent and dropped, by consumer kind (its `label`: the
 * origin's `player` and `link subscription`, the edge's `relay player`): a delivery joins when it is
 * made and adds its counters when it closes (RunningTotals), so the media path counts nothing more
 * than each delivery's own counters. The origin's and the edge's metrics read their own kinds, so
 * both can live in one process.
 */
import type { DeliveryCounters } from '../media/live-delivery.ts';
import { RunningTotals } from './running-totals.ts';

/** What a delivery exposes to be totalled. */
export interface CountedDelivery {
  readonly counters: Readonly<DeliveryCounters>;
}

const FIELDS: readonly (keyof DeliveryCounters)[] = ['packetsSent', 'bytesSent', 'packetsDropped', 'bytesDropped', 'dropEpisodes'];

class DeliveryTotals {
  readonly #byKind = new Map<string, RunningTotals<CountedDelivery, keyof DeliveryCounters>>();

  /** The totals of one consumer kind (made on first use). */
  of(kind: string): RunningTotals<CountedDelivery, keyof DeliveryCounters> {
    let totals = this.#byKind.get(kind);
    if (!totals) this.#byKind.set(kind, (totals = new RunningTotals(FIELDS, (delivery) => delivery.counters)));
    return totals;
  }
}

export const deliveryTotals = new DeliveryTotals();
