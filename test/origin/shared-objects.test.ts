/**
 * Remote shared objects through the origin with independent clients (npm rtmp-client,
 * python3-librtmp sending raw type 19 messages) and the project's client for AMF3 (type 16):
 * a change by one reaches the other with the right version, send and clear reach every
 * subscriber, a persistent object survives an origin restart, and malformed messages, an
 * oversize object and a change storm are refused with a status while other clients carry on.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RtmpClient } from '#common/rtmp-client.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { startOrigin, type OriginProcess } from '../support/processes.ts';
import { originPerFile } from '../support/origin-fixture.ts';
import { librtmp, npmConnect, npmSharedObject } from '../support/peers.ts';
import { waitForMetric, waitForRoomGone } from '../support/observe.ts';

const MAX_BYTES = 4096;
const RATE = 20;
const LIMITS = ['--so-max-bytes', String(MAX_BYTES), '--so-max-changes-per-second', String(RATE)];
const fixture = originPerFile(LIMITS);

function restartable(dataDir?: string): Promise<OriginProcess> {
  return startOrigin(LIMITS, { dataDir });
}

describe('two clients share an object', () => {
  test('rtmp-client sets a slot; python3-librtmp and another rtmp-client see it with the new version', async () => {
    const a = await npmConnect(`${fixture.base}/live/room1`);
    const b = await npmConnect(`${fixture.base}/live/room1`);
    const soA = await npmSharedObject(a, 'notes');
    const soB = await npmSharedObject(b, 'notes');
    const seen = new Promise<unknown>((resolve) => { soB.onSync = (list) => { const c = list.find((e) => e.name === 'topic'); if (c) resolve(c.newValue); }; });
    soA.setProperty('topic', { title: 'Fractions', page: 3 });
    assert.deepEqual(await seen, { title: 'Fractions', page: 3 });
    assert.equal(soB.version, 1);
    // python3-librtmp joins late: its initial sync carries the slot and the version.
    const late = await librtmp('so', `${fixture.base}/live/room1`, 'live/room1', { name: 'notes' });
    assert.deepEqual(late.data, { topic: { title: 'Fractions', page: 3 } });
    assert.equal(late.version, 1);
    assert.deepEqual(late.events.slice(0, 2).map((e: { kind: string }) => e.kind), ['useSuccess', 'clear']);
    // python3-librtmp sets one: rtmp-client sees version 2.
    const second = new Promise<unknown>((resolve) => { soB.onSync = (list) => { const c = list.find((e) => e.name === 'byPython'); if (c) resolve(c.newValue); }; });
    const py = await librtmp('so', `${fixture.base}/live/room1`, 'live/room1', { name: 'notes', set: { byPython: 'hello' }, until_key: 'byPython' });
    assert.equal(py.events.at(-1).kind, 'success', 'the requester gets success, not change');
    assert.equal(await second, 'hello');
    assert.equal(soB.version, 2);
    a.close();
    b.close();
  });

  test('AMF3 clients get type 16; send reaches every subscriber; remove and clear bump the version', async () => {
    const { client: x } = await RtmpClient.connect(`${fixture.base}/live/room2`, { objectEncoding: 3 });
    const { client: y } = await RtmpClient.connect(`${fixture.base}/live/room2`);
    const types = new Set<number>();
    x.on('message', (m) => { if (m.type === 16 || m.type === 19) types.add(m.type); });
    const sx = await x.sharedObject('board').connect();
    const sy = await y.sharedObject('board').connect();
    const got = sy.waitFor((e) => e.kind === 'change' && e.key === 'shape');
    const accepted = sx.waitFor((e) => e.kind === 'success');
    sx.set('shape', { kind: 'circle', r: 2, tags: ['a', 'b'] });
    await Promise.all([got, accepted]);
    assert.deepEqual(sy.data.shape, { kind: 'circle', r: 2, tags: ['a', 'b'] });
    assert.deepEqual(sx.data.shape, sy.data.shape);
    assert.deepEqual([...types], [MessageType.SharedObjectAmf3]);
    const sends = [sx, sy].map((so) => new Promise<unknown[]>((resolve) => so.once('send', (_h, args) => resolve(args))));
    sy.send('ping', 1, 'two');
    assert.deepEqual(await Promise.all(sends), [[1, 'two'], [1, 'two']]);
    const removed = sx.waitFor((e) => e.kind === 'remove');
    sy.remove('shape');
    await removed;
    assert.equal(sx.version, 2);
    assert.deepEqual(sx.data, {});
    sx.set('again', 1);
    await sy.waitFor((e) => e.kind === 'change');
    const cleared = sy.waitFor((e) => e.kind === 'clear');
    sx.clear();
    await cleared;
    assert.equal(sy.version, 4);
    assert.deepEqual(sy.data, {});
    x.close();
    y.close();
  });
});

describe('persistence', () => {
  test('a persistent object (python3-librtmp, flag 2) is written atomically and survives an origin restart', async () => {
    const first = await restartable();
    const url = `rtmp://127.0.0.1:${first.port}/live/keep`;
    await librtmp('so', url, 'live/keep', { name: 'settings', persistent: true, set: { lang: 'fr' }, until_key: 'lang' });
    const file = join(first.dataDir, 'shared-objects/live/keep/settings.json');
    await waitForRoomGone(first, 'live/keep');
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(stored.version, 1);
    assert.ok(stored.slots.lang);
    await first.stop();
    const second = await restartable(first.dataDir);
    const { client } = await RtmpClient.connect(`rtmp://127.0.0.1:${second.port}/live/keep`);
    const so = await client.sharedObject('settings', true).connect();
    assert.deepEqual(so.data, { lang: 'fr' });
    assert.equal(so.version, 1);
    client.close();
    await second.stop();
  });
});

describe('limits and bad input: refused with a status, others carry on', () => {
  test('an oversize object is refused with SharedObject.SizeLimit and nothing changes', async () => {
    const { client: big } = await RtmpClient.connect(`${fixture.base}/live/limits`);
    const { client: other } = await RtmpClient.connect(`${fixture.base}/live/limits`);
    const so = await big.sharedObject('heavy').connect();
    const watcher = await other.sharedObject('heavy').connect();
    const status = new Promise<string>((resolve) => so.once('status', (code) => resolve(code)));
    so.set('blob', 'x'.repeat(MAX_BYTES));
    assert.equal(await status, 'SharedObject.SizeLimit');
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_shared_object_refusals_total', (refused) => refused >= 1, { labels: { code: 'SharedObject.SizeLimit' } });
    so.set('small', 1);
    await watcher.waitFor((e) => e.kind === 'change' && e.key === 'small');
    assert.deepEqual(watcher.data, { small: 1 });
    assert.equal(watcher.version, 1, 'the refused change made no version');
    big.close();
    other.close();
  });

  test('a change storm gets SharedObject.RateLimit; a calm client in the same object is unaffected', async () => {
    const { client: storm } = await RtmpClient.connect(`${fixture.base}/live/storm`);
    const { client: calm } = await RtmpClient.connect(`${fixture.base}/live/storm`);
    const so = await storm.sharedObject('cursor').connect();
    const calmSo = await calm.sharedObject('cursor').connect();
    const statuses: string[] = [];
    so.on('status', (code) => statuses.push(code));
    for (let i = 0; i < 500; i++) so.set('pos', i);
    await so.waitFor((e) => e.kind === 'status');
    assert.deepEqual([...new Set(statuses)], ['SharedObject.RateLimit']);
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_shared_object_refusals_total', (refused) => refused >= 1, { labels: { code: 'SharedObject.RateLimit' } });
    calmSo.set('mine', 'ok');
    await calmSo.waitFor((e) => e.kind === 'success' && e.key === 'mine');
    assert.equal(calmSo.data.mine, 'ok');
    // The storm's budget (about RATE changes) got through, then one version for the calm client.
    assert.ok(calmSo.version > 1 && calmSo.version < 100, `version ${calmSo.version}`);
    storm.close();
    calm.close();
  });

  test('malformed AMF in a shared object message (python3-librtmp) gets SharedObject.BadMessage; the connection stays', async () => {
    // name "notes", version 0, flags 0, then RequestChange with key "k" and a string claiming 255 bytes.
    const hex = '00056e6f746573' + '00000000' + '00000000' + '00000000' + '03' + '00000006' + '00016b' + '0200ff';
    const out = await librtmp('raw', `${fixture.base}/live/room1`, 'live/room1', { hex, method: 'createStream' });
    assert.deepEqual(out.statuses, [{ kind: 'status', code: 'SharedObject.BadMessage', level: 'error' }]);
    assert.equal(out.result.name, '_result', 'the same connection still answers calls');
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_shared_object_refusals_total', (refused) => refused >= 1, { labels: { code: 'SharedObject.BadMessage' } });
  });

  test('a shared object message without a readable name closes only that client', async () => {
    const { client: bad } = await RtmpClient.connect(`${fixture.base}/live/room3`);
    const { client: good } = await RtmpClient.connect(`${fixture.base}/live/room3`);
    bad.send({ type: MessageType.SharedObjectAmf0, streamId: 0, timestamp: 0, payload: Buffer.from([0x00, 0x40, 0x61]) }, 3);
    await new Promise<void>((resolve) => bad.once('close', resolve));
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_connections_closed_total', (closed) => closed >= 1, { labels: { reason: 'so.truncated' } });
    assert.deepEqual(await good.call('createStream'), [1]);
    good.close();
  });
});
