/**
 * The edge registry's rules on their own, with stand-in links (no sockets, no clock waits):
 * health from the last Pong, the pick order (fewest clients, then round trip), unique names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Applications } from '../../origin/app/applications.ts';
import type { EdgeLink } from '../../origin/link/edge-link.ts';
import { EdgeRegistry } from '../../origin/link/edge-registry.ts';

const PING_MS = 5000;

interface StubLink {
  edgeName: string;
  address: string;
  connectedAt: Date;
  authenticated: boolean;
  authenticatedAt: number;
  lastPongAt: number;
  rttMs: number | null;
  load: Record<string, unknown> | null;
  loadAt: number;
  sessionCount: number;
  relay: { streamKeys(): string[] };
}

function link(name: string, fields: Partial<StubLink> = {}): EdgeLink {
  const now = Date.now();
  const stub: StubLink = {
    edgeName: name, address: '127.0.0.1:1', connectedAt: new Date(now), authenticated: true, authenticatedAt: now - 60_000,
    lastPongAt: now, rttMs: 1, load: null, loadAt: 0, sessionCount: 0, relay: { streamKeys: () => [] }, ...fields,
  };
  return stub as unknown as EdgeLink;
}

function registry(): EdgeRegistry {
  const applications = { get: () => undefined } as unknown as Applications;
  return new EdgeRegistry({ pingIntervalMs: PING_MS, applications, applicationNames: [] });
}

describe('edge registry', () => {
  test('healthy means authenticated with a Pong within three ping intervals (or just linked)', () => {
    const edges = registry();
    const now = Date.now();
    assert.equal(edges.healthy(link('a', { lastPongAt: now - 3 * PING_MS + 100 }), now), true);
    assert.equal(edges.healthy(link('b', { lastPongAt: now - 3 * PING_MS - 100 }), now), false);
    assert.equal(edges.healthy(link('c', { lastPongAt: 0, authenticatedAt: now - 1000 }), now), true, 'no Pong yet, linked a second ago');
    assert.equal(edges.healthy(link('d', { authenticated: false }), now), false);
  });

  test('pick: the healthy edge with the fewest clients, then the lowest round trip; none gives null', () => {
    const edges = registry();
    assert.equal(edges.pick(), null);
    const now = Date.now();
    edges.register(link('busy', { load: { clients: 40, publicUrl: 'rtmp://busy' } }));
    edges.register(link('far', { load: { clients: 3 }, rttMs: 80 }));
    edges.register(link('near', { load: { clients: 3, publicUrl: 'rtmp://near' }, rttMs: 2 }));
    edges.register(link('silent', { load: { clients: 0 }, lastPongAt: now - 10 * PING_MS }));
    edges.register(link('no-report', { sessionCount: 5 }));
    const pick = edges.pick();
    assert.equal(pick?.name, 'near');
    assert.equal(pick?.publicUrl, 'rtmp://near');
    assert.equal(edges.list().find((e) => e.name === 'no-report')?.clients, 5, 'sessions count when the edge reports none');
    assert.equal(edges.list().find((e) => e.name === 'silent')?.healthy, false);
  });

  test('a name is held by one link: the second is refused until the first leaves', () => {
    const edges = registry();
    const first = link('edge-a');
    assert.equal(edges.register(first), null);
    assert.match(edges.register(link('edge-a', { address: '10.0.0.2:5' })) ?? '', /already linked \(from 127\.0\.0\.1:1\)/);
    edges.unregister(first);
    assert.equal(edges.register(link('edge-a')), null);
  });
});
