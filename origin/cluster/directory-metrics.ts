/**
 * The directory's Prometheus metrics (`classroom_directory_*`): whether the store answers, placements
 * waiting for it, and a count of operations that found it unavailable and waited. The retry counter is
 * one per process (an origin and the edge of `npm start` share it), added to a component's group.
 */
import { EventCounter, type MetricGroup } from '#common/metrics/registry.ts';
import type { OriginDirectory } from './origin-directory.ts';

/** Operations that retry while the store is away. */
export type DirectoryOperation = 'register' | 'list' | 'place' | 'owner' | 'hold';

export const directoryRetries = new EventCounter<'operation'>({
  name: 'classroom_directory_retries_total',
  help: 'Directory operations that found Redis unavailable and waited to try again, by operation (register, list, place, owner, hold).',
  labelNames: ['operation'],
});

/** Adds the directory's metrics to a component's group (its close() removes them). */
export function addDirectoryMetrics(group: MetricGroup, directory: OriginDirectory): void {
  group.add(directoryRetries);
  group.gauge({ name: 'classroom_directory_available', help: '1 while the directory\'s store (Redis) answers, else 0.' },
    () => (directory.stats.available ? 1 : 0));
  group.gauge({ name: 'classroom_directory_waiting_placements', help: 'Room placements waiting for the directory\'s store to come back.' },
    () => directory.stats.waitingPlacements);
}
