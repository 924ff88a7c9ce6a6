/**
 * What an edge in cluster mode (`--cluster`) counts about routing sessions to their rooms' owners,
 * and the directory's view it exports on its /metrics (`classroom_edge_cluster_*`; edge-named, so
 * the origin and the edge of `npm start --cluster` share one registry without a clash):
 * origins seen, whether Redis answers, placements waiting for it, routing decisions and the
 * `cluster.not_owner` refusals the edge re-routed.
 */
import { EventCounter, type MetricGroup } from '#common/metrics/registry.ts';
import type { RedisOriginDirectory } from '../../origin/cluster/redis-origin-directory.ts';

/**
 * How a session was routed: `placed` (its room's owner found or chosen, the session sent there),
 * `moved` (a `live` session moved to its stream's origin), `replayed` (kept through its origin's loss,
 * replayed on the new owner), `rerouted` (refused with cluster.not_owner, sent again to the owner),
 * `unroutable` (no live origin reachable in time: closed).
 */
export type RoutingDecision = 'placed' | 'moved' | 'replayed' | 'rerouted' | 'unroutable';

/** What became of a `cluster.not_owner` refusal: `rerouted` (to the owner it named, or the directory's owner), `failed` (no other owner reachable, or a second refusal: the client is told). */
export type NotOwnerOutcome = 'rerouted' | 'failed';

const routingDecisions = new EventCounter<'decision'>({
  name: 'classroom_edge_cluster_routes_total',
  help: 'Sessions routed to an origin in cluster mode, by decision (placed, moved, replayed, rerouted, unroutable).',
  labelNames: ['decision'],
});

const notOwnerRefusals = new EventCounter<'outcome'>({
  name: 'classroom_edge_cluster_not_owner_total',
  help: 'Connects an origin refused with cluster.not_owner (the edge\'s view of the room was stale), by outcome (rerouted, failed).',
  labelNames: ['outcome'],
});

export function countRouting(decision: RoutingDecision): void {
  routingDecisions.inc({ decision });
}

export function countNotOwner(outcome: NotOwnerOutcome): void {
  notOwnerRefusals.inc({ outcome });
}

/** Adds the cluster routing metrics and the directory's view to an edge's group. */
export function addClusterRoutingMetrics(group: MetricGroup, directory: RedisOriginDirectory): void {
  group.add(routingDecisions);
  group.add(notOwnerRefusals);
  group.gauge({ name: 'classroom_edge_cluster_origins', help: 'Live origins the edge\'s directory saw at its last listing (it links to each).' },
    () => directory.knownOrigins().length);
  group.gauge({ name: 'classroom_edge_cluster_directory_available', help: '1 while the edge\'s directory store (Redis) answers, else 0.' },
    () => (directory.stats.available ? 1 : 0));
  group.gauge({ name: 'classroom_edge_cluster_waiting_placements', help: 'Room placements of this edge waiting for Redis to come back.' },
    () => directory.stats.waitingPlacements);
}
