/**
 * Per-address limits (common/address-limits.ts) on their own: connections held, handshakes in
 * progress and new connections per second are counted per address; each refusal says which limit;
 * a lease gives back what it held exactly once; other addresses are never affected; the top holders
 * are the addresses holding the most.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressLease, AddressLimits, AddressRefusal, type AddressLimitSettings } from '#common/address-limits.ts';
import { Logger } from '#common/logger.ts';

const settings: AddressLimitSettings = { maxConnectionsPerAddress: 5, maxHandshakesPerAddress: 3, connectionsPerSecondPerAddress: 1, connectionBurstPerAddress: 20 };
const limits = (overrides: Partial<AddressLimitSettings> = {}) => new AddressLimits({ ...settings, ...overrides }, new Logger('test'));

function lease(result: AddressLease | AddressRefusal): AddressLease {
  assert.ok(result instanceof AddressLease, `admitted (${result instanceof AddressRefusal ? result.message : ''})`);
  return result;
}

test('connections held per address: one more is refused until one is released; other addresses unaffected', () => {
  const addresses = limits();
  const held = Array.from({ length: 5 }, () => {
    const one = lease(addresses.admit('192.0.2.1', 'rtmp'));
    one.handshakeDone();
    return one;
  });
  const refused = addresses.admit('192.0.2.1', 'rtmp');
  assert.ok(refused instanceof AddressRefusal);
  assert.equal(refused.reason, 'connections');
  assert.equal(refused.code, 'address.connections');
  assert.match(refused.message, /maxConnectionsPerAddress/);
  lease(addresses.admit('192.0.2.2', 'http'));
  held[0]!.release();
  held[0]!.release(); // twice gives back once
  lease(addresses.admit('192.0.2.1', 'rtmp')).handshakeDone();
  assert.ok(addresses.admit('192.0.2.1', 'rtmp') instanceof AddressRefusal);
  assert.equal(addresses.connectionsOf('192.0.2.1'), 5);
  assert.equal(addresses.connections, 6);
  assert.equal(addresses.refusals('connections'), 2);
});

test('handshakes in progress per address: a connection past its handshake makes room', () => {
  const addresses = limits();
  const pending = Array.from({ length: 3 }, () => lease(addresses.admit('192.0.2.3', 'rtmp')));
  const refused = addresses.admit('192.0.2.3', 'rtmp');
  assert.ok(refused instanceof AddressRefusal && refused.reason === 'handshakes');
  pending[0]!.handshakeDone();
  pending[0]!.handshakeDone();
  lease(addresses.admit('192.0.2.3', 'rtmp'));
  assert.ok(addresses.admit('192.0.2.3', 'rtmp') instanceof AddressRefusal);
  pending[1]!.release(); // a connection that closes in its handshake gives back both
  lease(addresses.admit('192.0.2.3', 'rtmp')).release();
  assert.equal(addresses.connectionsOf('192.0.2.3'), 3);
});

test('new connections per second: past the burst an address is refused even if it closes each at once', () => {
  const addresses = limits({ connectionBurstPerAddress: 4 });
  for (let i = 0; i < 4; i++) lease(addresses.admit('192.0.2.4', 'ws')).release();
  const refused = addresses.admit('192.0.2.4', 'ws');
  assert.ok(refused instanceof AddressRefusal && refused.reason === 'rate');
  assert.match(refused.message, /connectionsPerSecondPerAddress/);
  lease(addresses.admit('192.0.2.5', 'ws'));
  assert.equal(addresses.refusals('rate'), 1);
});

test('top holders: the addresses holding the most, most first; addresses holding nothing are left out', () => {
  const addresses = limits({ maxConnectionsPerAddress: 100, maxHandshakesPerAddress: 100, connectionBurstPerAddress: 100 });
  const counts: Record<string, number> = { '10.0.0.1': 3, '10.0.0.2': 9, '10.0.0.3': 1, '10.0.0.4': 7, '10.0.0.5': 2, '10.0.0.6': 5, '10.0.0.7': 4 };
  for (const [address, count] of Object.entries(counts)) for (let i = 0; i < count; i++) lease(addresses.admit(address, 'rtmp'));
  lease(addresses.admit('10.0.0.8', 'rtmp')).release();
  assert.deepEqual(addresses.topHolders(), [
    { address: '10.0.0.2', connections: 9 }, { address: '10.0.0.4', connections: 7 }, { address: '10.0.0.6', connections: 5 },
    { address: '10.0.0.7', connections: 4 }, { address: '10.0.0.1', connections: 3 },
  ]);
  assert.equal(addresses.describeTopHolders(), '10.0.0.2=9 10.0.0.4=7 10.0.0.6=5 10.0.0.7=4 10.0.0.1=3');
  addresses.close();
});
