/**
 * Which live origin a new room goes to: the one with the fewest rooms placed on it (ties: the lowest
 * lease id). Rooms are counted at placement, while reported loads (clients, CPU) lag a lease refresh:
 * a burst of new rooms (a school at 9:00) would otherwise all land on the origin that looked idle.
 * The Redis directory makes the same choice inside its placement script (placement-scripts.ts), where
 * the counts are a sorted set in that order.
 */
import type { LiveOrigin } from './origin-directory.ts';

export function leastLoaded(origins: Iterable<LiveOrigin>): LiveOrigin | null {
  let best: LiveOrigin | null = null;
  for (const origin of origins) {
    if (!best || compareLoad(origin, best) < 0) best = origin;
  }
  return best;
}

function compareLoad(a: LiveOrigin, b: LiveOrigin): number {
  return a.rooms - b.rooms || (a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : 0);
}
