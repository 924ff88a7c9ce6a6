/**
 * Remoting through the origin, client to server and server to client, driven by independent
 * clients (python3-librtmp, npm rtmp-client) and by the project's client for AMF3: results,
 * _error for unknown methods with the connection kept, connect rejection with a reason,
 * server calls awaited with a timeout, and malformed AMF refused while others carry on.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtmpCallError, RtmpClient } from '#common/rtmp-client.ts';
import { amf0Encode } from '#protocol/amf/amf0.ts';
import { AmfTypedObject } from '#protocol/amf/types.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { stop } from '../support/processes.ts';
import { originPerFile } from '../support/origin-fixture.ts';
import { librtmp, librtmpBackground, npmCall, npmConnect } from '../support/peers.ts';
import { waitForMetric } from '../support/observe.ts';

const fixture = originPerFile(['--call-timeout-ms', '1500']);

const teacher = (name: string) => ({ name, role: 'teacher' });

describe('client to server', () => {
  test('python3-librtmp: a call returns its result; an unknown method returns _error and the connection stays up', async () => {
    const out = await librtmp('remoting', `${fixture.base}/classroom/remote1`, 'classroom/remote1',
      { connect: { name: 'py', role: 'student' }, method: 'whoami' });
    assert.equal(out.first.name, '_result');
    assert.equal(out.first.args[0].name, 'py');
    assert.equal(out.first.args[0].role, 'student');
    assert.equal(out.unknown.name, '_error');
    assert.equal(out.unknown.args[0].code, 'NetConnection.Call.Failed');
    assert.match(out.unknown.args[0].description, /Method not found \(noSuchMethodFromPython\)/);
    assert.equal(out.again.name, '_result', 'the same connection answers after the _error');
  });

  test('rtmp-client (npm): result, _error, and the connection still works', async () => {
    const nc = await npmConnect(`${fixture.base}/classroom/remote2`, { name: 'npm', role: 'student' });
    assert.deepEqual(await npmCall(nc, 'echo', { text: 'hi', n: 3 }), { text: 'hi', n: 3 });
    await assert.rejects(npmCall(nc, 'noSuchMethod'), (e: Error & { info: { code: string } }) => e.info.code === 'NetConnection.Call.Failed');
    await assert.rejects(npmCall(nc, 'clearWhiteboard'), (e: Error & { info: { description: string } }) => /Only a teacher/.test(e.info.description));
    assert.equal(((await npmCall(nc, 'whoami')) as { name: string }).name, 'npm');
    nc.close();
  });

  test('connect is rejected with the application\'s reason (NetConnection.Connect.Rejected, reason in application)', async () => {
    await assert.rejects(npmConnect(`${fixture.base}/classroom/remote3`), (e: Error & { info: { code: string; application: string } }) => {
      assert.equal(e.info.code, 'NetConnection.Connect.Rejected');
      assert.match(e.info.application, /A name is required/);
      return true;
    });
    const { client } = await RtmpClient.connect(`${fixture.base}/classroom/remote3`, { connectArgs: ['Ann', 'teacher'] });
    await assert.rejects(RtmpClient.connect(`${fixture.base}/classroom/remote3`, { connectArgs: ['Ann'] }),
      (e: RtmpCallError) => /already in use/.test(String(e.info.application)));
    await assert.rejects(RtmpClient.connect(`${fixture.base}/classroom/remote3`, { connectArgs: ['Bob', 'admin'] }),
      (e: RtmpCallError) => /Unknown role/.test(String(e.info.application)));
    await assert.rejects(RtmpClient.connect(`${fixture.base}/classroom`, { connectArgs: ['Bob'] }),
      (e: RtmpCallError) => /Join a room/.test(String(e.info.application)));
    client.close();
  });

  test('AMF3 (objectEncoding 3): type 17 replies, AMF3 arguments decode, typed objects and dates round-trip', async () => {
    const client = await RtmpClient.open('127.0.0.1', fixture.origin.port);
    const types = new Set<number>();
    client.on('message', (m) => types.add(m.type));
    await client.connectApp('classroom/remote4', `${fixture.base}/classroom/remote4`, { objectEncoding: 3, connectArgs: [teacher('Amf3')] });
    assert.ok(client.amf3);
    const value = { list: [1, 2.5, 'three'], typed: new AmfTypedObject('org.example.Point', { x: 1, y: 2 }), when: new Date(1_700_000_000_000) };
    const [echoed] = await client.call('echo', value);
    assert.deepEqual(echoed, value);
    assert.ok(types.has(MessageType.CommandAmf3) && !types.has(MessageType.CommandAmf0), `command types ${[...types]}`);
    client.close();
  });
});

describe('server to client', () => {
  test('a server call is answered by python3-librtmp and by the project\'s client; a silent client times out', async () => {
    const room = `${fixture.base}/classroom/presence`;
    const { client: t } = await RtmpClient.connect(room, { connectArgs: [teacher('T')] });
    const py = await librtmpBackground('answer', room, 'classroom/presence', { connect: { name: 'py' }, seconds: 15 });
    const { client: own } = await RtmpClient.connect(room, { connectArgs: ['own'], objectEncoding: 3 });
    own.onCall('areYouThere', (who) => `own here for ${String(who)}`);
    const { client: silent } = await RtmpClient.connect(room, { connectArgs: ['silent'] });
    silent.onCall('areYouThere', () => new Promise(() => {})); // never answers
    const [answers] = await t.call('checkPresence');
    const byName = Object.fromEntries((answers as Array<{ name: string; answered: boolean; answer?: string; error?: string }>).map((a) => [a.name, a]));
    assert.equal(byName.py!.answer, 'python here');
    assert.equal(byName.own!.answer, 'own here for T');
    assert.equal(byName.silent!.answered, false);
    assert.match(String(byName.silent!.error), /callTimeoutMs/);
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_client_calls_failed_total', (timedOut) => timedOut >= 1, { labels: { outcome: 'timed_out' } });
    for (const c of [t, own, silent]) c.close();
    await stop(py);
  });
});

describe('malformed AMF', () => {
  test('a call with malformed arguments gets _error; the client and others carry on', async () => {
    const room = `${fixture.base}/classroom/bad`;
    const { client: bad } = await RtmpClient.connect(room, { connectArgs: ['bad'] });
    const { client: good } = await RtmpClient.connect(room, { connectArgs: ['good'] });
    const refused = new Promise<{ description: string }>((resolve) => {
      bad.on('command', (c) => { if (c.name === '_error' && c.transactionId === 77) resolve(c.args[0] as { description: string }); });
    });
    // echo, transaction 77, null, then an object whose member claims more bytes than there are.
    const payload = Buffer.concat([amf0Encode(['echo', 77, null]), Buffer.from([0x03, 0x00, 0x05, 0x61])]);
    bad.send({ type: MessageType.CommandAmf0, streamId: 0, timestamp: 0, payload }, 3);
    assert.match((await refused).description, /arguments of 'echo' are malformed: amf.truncated/);
    assert.deepEqual(await bad.call('echo', 'still here'), ['still here']);
    assert.deepEqual(await good.call('echo', 'fine'), ['fine']);
    await waitForMetric(fixture.origin.httpPort, 'classroom_origin_client_calls_failed_total', (malformed) => malformed >= 1, { labels: { outcome: 'malformed' } });
    bad.close();
    good.close();
  });
});
