/**
 * Browsers in a classroom over the edge's WebSocket (/ws), with real peers on loopback: headless
 * Chromium (Debian's, driven by playwright-core) loads the edge's web client, joins a room, calls
 * the classroom's methods, sets a shared object slot that a python3-librtmp client in the same
 * room reads, and receives the change that client makes; invalid JSON, oversize messages and a
 * flood get error replies and limits while a second page carries on; the classroom page itself
 * (the build the edge serves, with its cache headers) joins, chats and draws. An RTMP client and a browser see each other's calls. The classroom runs
 * under its default policy (`required`): every member joins with a token, as a school's portal
 * would give it (the page from a `?room=&token=` link, the others with `{ token }`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.ts';
import WebSocket from 'ws';
import { RtmpClient } from '#common/rtmp-client.ts';
import { RemoteSharedObject } from '#common/remote-shared-object.ts';
import { sharedObjectMessage } from '#protocol/rtmp/shared-object.ts';
import type { RtmpMessage } from '#protocol/rtmp/message.ts';
import { stopAll } from '../support/processes.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { librtmp } from '../support/peers.ts';
import { waitForMetric } from '../support/observe.ts';
import { mintToken } from '../support/tokens.ts';
import { connectionState, ensureWebClientBuilt } from '../support/web-client.ts';

let cluster: Cluster;
let browser: BrowserContext;
const edge = () => cluster.edges[0]!;

before(async () => {
  await ensureWebClientBuilt();
  // `--auth` given: the classroom keeps its default policy, required.
  cluster = await startCluster(['edge-ws'], { originArgs: ['--auth', 'live=legacy'] });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stopAll();
});

/** A token for `name` in classroom `room`, signed by the test origin. */
const member = (room: string, name: string, role: 'teacher' | 'student' = 'student') => mintToken(cluster.origin.dataDir, { room: `classroom/${room}`, role, name });

/** A page of the edge's web client with a ClassroomClient open on /ws as `window.c`. */
async function openClient(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  await page.goto(`http://127.0.0.1:${edge().httpPort}/`);
  await page.evaluate(async () => {
    const module = '/classroom-client.js'; // served by the edge, imported by the page
    const { ClassroomClient } = await import(module);
    const w = globalThis as unknown as Record<string, any>;
    w.c = await ClassroomClient.open(`ws://${(globalThis as any).location.host}/ws`);
    w.received = [];
    w.c.addEventListener('message', (e: any) => w.received.push(e.detail));
  });
  return page;
}

test('the edge serves the built web client (hashed assets immutable, the rest revalidated), mpegts.js, and nothing outside its folders', async () => {
  const base = `http://127.0.0.1:${edge().httpPort}`;
  const index = await fetch(`${base}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const assets = [...(await index.text()).matchAll(/(?:src|href)="(\/assets\/app-[A-Z0-9]+\.(?:js|css))"/g)].map((m) => m[1]!);
  assert.equal(assets.length, 2, `the page names its script and stylesheet: ${assets.join(', ')}`);
  for (const asset of assets) {
    const response = await fetch(`${base}${asset}`);
    assert.equal(response.status, 200, asset);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable', asset);
    assert.match(response.headers.get('content-type') ?? '', asset.endsWith('.js') ? /javascript/ : /css/);
  }
  const protocolClient = await fetch(`${base}/classroom-client.js`);
  assert.equal(protocolClient.status, 200);
  assert.equal(protocolClient.headers.get('cache-control'), 'no-cache');
  const vendor = await fetch(`${base}/vendor/mpegts.js`);
  assert.equal(vendor.status, 200);
  assert.match(vendor.headers.get('content-type') ?? '', /javascript/);
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/vendor/..%2f..%2fpackage.json', '/%00', '/nope.js']) {
    assert.equal((await fetch(`${base}${path}`)).status, 404, path);
  }
  assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
});

test('a page joins over WebSocket, calls, and shares a slot with a python3-librtmp client', async () => {
  const page = await openClient();
  try {
    const joined = await page.evaluate((token) => (globalThis as any).c.join('wsroom', 'Ann', 'teacher', token), await member('wsroom', 'Ann', 'teacher'));
    assert.equal(joined.code, 'NetConnection.Connect.Success');
    const calls = await page.evaluate(async () => {
      const c = (globalThis as any).c;
      const echo = await c.call('echo', { at: { $date: '2026-11-25T10:00:00.000Z' }, bytes: { $bytes: 'AQID' }, list: [1, 'two', null] });
      const me = await c.call('whoami');
      const failed = await c.call('noSuchMethod').then(() => null, (e: any) => ({ code: e.code, message: e.message }));
      const chat = await c.chat('hello from chromium');
      return { echo, me, failed, chat };
    });
    assert.deepEqual(calls.echo, { at: { $date: '2026-11-25T10:00:00.000Z' }, bytes: { $bytes: 'AQID' }, list: [1, 'two', null] });
    assert.equal(calls.me.name, 'Ann');
    assert.equal(calls.me.role, 'teacher');
    assert.equal(calls.failed?.code, 'call_failed');
    assert.equal(calls.chat.text, 'hello from chromium');

    // The browser writes a slot of a client-owned shared object; librtmp (through the same edge) reads it and writes its own.
    const initial = await page.evaluate(async () => {
      const c = (globalThis as any).c;
      const data = await c.useSharedObject('notes');
      c.setSlot('notes', 'fromBrowser', { text: 'written in chromium', n: 7 });
      await c.waitFor('so.change', (m: any) => m.name === 'notes' && 'fromBrowser' in m.changed);
      return data;
    });
    assert.deepEqual(initial, {});
    const fromPython = page.evaluate(() => (globalThis as any).c.waitFor('so.change', (m: any) => m.name === 'notes' && 'fromPython' in m.changed, 20_000));
    const python = await librtmp('so', `${edge().base}/classroom/wsroom`, 'classroom/wsroom',
      { connect: { token: await member('wsroom', 'Py') }, name: 'notes', set: { fromPython: 'written by librtmp' }, until_key: 'fromPython' });
    assert.deepEqual(python.data.fromBrowser, { text: 'written in chromium', n: 7 });
    const change = await fromPython;
    assert.equal(change.changed.fromPython, 'written by librtmp');
    assert.equal(await page.evaluate(() => (globalThis as any).c.sharedObjects.get('notes').data.fromPython), 'written by librtmp');
  } finally {
    await page.close();
  }
});

test('an RTMP client and a browser call each other through the origin (checkPresence, roster)', async () => {
  const page = await openClient();
  const { client } = await RtmpClient.connect(`${edge().base}/classroom/mixed`, { connectArgs: [{ token: await member('mixed', 'Teach', 'teacher') }] });
  const beaToken = await member('mixed', 'Bea');
  try {
    await page.evaluate(async (token) => {
      const c = (globalThis as any).c;
      c.methods.set('areYouThere', (teacher: string) => `browser here for ${teacher}`);
      await c.join('mixed', 'Bea', 'student', token);
      await c.useSharedObject('roster');
    }, beaToken);
    const [answers] = await client.call('checkPresence', 3000);
    const bea = (answers as Array<Record<string, unknown>>).find((a) => a.name === 'Bea');
    assert.equal(bea?.answered, true);
    assert.equal(bea?.answer, 'browser here for Teach');
    const roster = await page.evaluate(() => Object.values((globalThis as any).c.sharedObjects.get('roster').data).map((m: any) => m.name).sort());
    assert.deepEqual(roster, ['Bea', 'Teach']);
  } finally {
    client.close();
    await page.close();
  }
});

test('a call before join, a refused join and a write to a classroom object get clear errors', async () => {
  const [first, second] = await Promise.all([openClient(), openClient()]);
  try {
    const early = await first.evaluate(() => (globalThis as any).c.call('whoami').catch((e: any) => e.code));
    assert.equal(early, 'not_joined');
    // Two people whose portal gave them the same display name: the second cannot sit beside the first.
    await first.evaluate((token) => (globalThis as any).c.join('refusals', 'Dup', 'student', token), await member('refusals', 'Dup'));
    const refused = await second.evaluate((token) => (globalThis as any).c.join('refusals', 'Dup', 'student', token).catch((e: any) => ({ code: e.code, message: e.message })),
      await mintToken(cluster.origin.dataDir, { room: 'classroom/refusals', role: 'student', name: 'Dup', sub: 'another-dup' }));
    assert.equal(refused.code, 'join_failed');
    assert.match(refused.message, /name/i);
    const status = await first.evaluate(async () => {
      const c = (globalThis as any).c;
      await c.useSharedObject('chat', true);
      const denied = c.waitFor('so.status', (m: any) => m.name === 'chat');
      c.setSlot('chat', 'm99999999', 'forged');
      return denied;
    });
    assert.equal(status.code, 'SharedObject.NoWriteAccess');
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

test('invalid JSON, oversize messages and a flood get error replies and limits; a second page carries on', async () => {
  const [bad, good] = await Promise.all([openClient(), openClient()]);
  try {
    await bad.evaluate((token) => (globalThis as any).c.join('abuse', 'Mallory', 'student', token), await member('abuse', 'Mallory'));
    await good.evaluate((token) => (globalThis as any).c.join('abuse', 'Gus', 'student', token), await member('abuse', 'Gus'));
    const errors = await bad.evaluate(async () => {
      const w = globalThis as any;
      const next = () => w.c.waitFor('error');
      const out: any[] = [];
      for (const raw of ['{not json', '[1,2]', '{"type":"call","id":1}', '{"type":"teleport"}', JSON.stringify({ type: 'call', id: 2, method: 'echo', args: [{ $date: 'soon' }] })]) {
        const reply = next();
        w.c.send(raw);
        out.push(await reply);
      }
      const big = next();
      w.c.send(JSON.stringify({ type: 'call', id: 3, method: 'echo', args: ['x'.repeat(70 * 1024)] }));
      out.push(await big);
      return out.map((e) => e.code);
    });
    assert.deepEqual(errors, ['bad_json', 'bad_message', 'bad_message', 'bad_message', 'bad_message', 'too_large']);

    // A flood: far more than the rate limit at once; the excess is dropped with a rate_limited reply.
    const flood = await bad.evaluate(async () => {
      const w = globalThis as any;
      const limited = w.c.waitFor('error', (m: any) => m.code === 'rate_limited');
      for (let i = 0; i < 400; i++) w.c.send({ type: 'ping', id: i });
      await limited;
      await new Promise((r) => setTimeout(r, 500));
      return { pongs: w.received.filter((m: any) => m.type === 'pong').length, open: w.c.open };
    });
    assert.ok(flood.pongs >= 50 && flood.pongs < 400, `${flood.pongs} of 400 pings answered`);
    assert.equal(flood.open, true, 'a flood alone does not close the connection at once');

    // The second page is unaffected throughout.
    const echoed = await good.evaluate(() => (globalThis as any).c.call('echo', 'still here'));
    assert.equal(echoed, 'still here');

    // Repeated abuse closes the abuser only, and is logged.
    const closed = await bad.evaluate(async () => {
      const w = globalThis as any;
      const done = new Promise((resolve) => w.c.addEventListener('close', (e: any) => resolve(e.detail.code)));
      for (let i = 0; i < 60; i++) { w.c.send('nope'); await new Promise((r) => setTimeout(r, 25)); }
      return done;
    });
    assert.equal(closed, 1008);
    await waitForMetric(edge().httpPort, 'classroom_edge_browser_closes_total', (closes) => closes >= 1, { labels: { reason: 'abuse' } });
    assert.equal(await good.evaluate(() => (globalThis as any).c.call('echo', 42)), 42);
  } finally {
    await Promise.all([bad.close(), good.close()]);
  }
});

test('the classroom page joins, shows the roster, sends chat and draws a stroke', async () => {
  const page = await browser.newPage();
  try {
    // The link `npm run token` prints: the page fills in the room, the token and the token's name.
    await page.goto(`http://127.0.0.1:${edge().httpPort}/?room=pageroom&token=${await member('pageroom', 'Pat', 'teacher')}`);
    assert.equal(await page.getByLabel('Your name').inputValue(), 'Pat');
    // No camera or microphone: this test runs outside a loopback-only namespace, where no WebRTC may start.
    await page.getByLabel('Camera', { exact: true }).selectOption('none');
    await page.getByLabel('Microphone', { exact: true }).selectOption('none');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.waitForSelector('#connection-state[data-state="joined"]');
    assert.equal(await connectionState(page), 'joined');
    await page.waitForSelector('.roster li:has-text("Pat")');
    await page.getByRole('textbox', { name: 'Message' }).fill('hi class');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForSelector('.chat-log li:has-text("Pat: hi class")');
    const box = (await page.locator('#board').boundingBox())!;
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + 100, box.y + 80, { steps: 5 });
    await page.mouse.up();
    const { client } = await RtmpClient.connect(`${edge().base}/classroom/pageroom`, { connectArgs: [{ token: await member('pageroom', 'Viewer') }] });
    try {
      const deadline = Date.now() + 5000;
      let strokes: unknown[] = [];
      while (Date.now() < deadline && strokes.length === 0) {
        [strokes] = (await client.call('getWhiteboard')) as [unknown[]];
        if (strokes.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(strokes.length, 1);
      const stroke = strokes[0] as { by: unknown; points: number[] };
      assert.equal(typeof stroke.by, 'string');
      assert.ok(stroke.points.length >= 4, `${stroke.points.length} coordinates`);
    } finally {
      client.close();
    }
  } finally {
    await page.close();
  }
});

/**
 * `notes.send('draw', value)` with a value of 8.1 MB in AMF0, under the 8 MiB message limit, that names
 * one 8 MB string twice (the second time by reference) beside 100,000 nulls: the origin writes it out
 * in full to the object's users (16.1 MB, under RTMP's 16 MiB), which the edge's JSON budget for one
 * value (16 MiB, 8 bytes a value besides the text) refuses. Written by hand: our encoder writes no references.
 */
function expandingSend(version: number): RtmpMessage {
  const holder = Buffer.concat([Buffer.from([0x03, 0x00, 0x01, 0x73, 0x0c]), u32(8_000_000), Buffer.alloc(8_000_000, 0x61), Buffer.from([0x00, 0x00, 0x09])]);
  // The strict array is AMF0 reference 0, the holder object reference 1.
  const value = Buffer.concat([Buffer.from([0x0a]), u32(100_002), holder, Buffer.from([0x07, 0x00, 0x01]), Buffer.alloc(100_000, 0x05)]);
  const message = sharedObjectMessage({ name: 'notes', version, persistent: false, events: [{ kind: 'send', handler: 'draw', args: [] }] });
  // The event's length sits in the 4 bytes after its type, which follows the name and the 12-byte header.
  const lengthAt = 2 + 'notes'.length + 12 + 1;
  const payload = Buffer.concat([message.payload, value]);
  payload.writeUInt32BE(payload.readUInt32BE(lengthAt) + value.length, lengthAt);
  return { ...message, payload };
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

test('a shared-object message JSON cannot carry reaches a browser as an unrepresentable error; the session goes on', { timeout: 120_000 }, async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${edge().httpPort}/ws`);
  const replies: Array<Record<string, any>> = [];
  const waiters: Array<{ match: (reply: Record<string, any>) => boolean; resolve: (reply: Record<string, any>) => void }> = [];
  const next = (match: (reply: Record<string, any>) => boolean) => new Promise<Record<string, any>>((resolve) => {
    const seen = replies.find(match);
    if (seen) resolve(seen);
    else waiters.push({ match, resolve });
  });
  ws.on('message', (data) => {
    const reply = JSON.parse(String(data)) as Record<string, any>;
    replies.push(reply);
    for (const waiter of waiters.filter((w) => w.match(reply))) waiter.resolve(reply);
  });
  await next((reply) => reply.type === 'hello');
  ws.send(JSON.stringify({ type: 'join', room: 'bigvalue', name: 'Page', token: await member('bigvalue', 'Page') }));
  await next((reply) => reply.type === 'joined');
  ws.send(JSON.stringify({ type: 'so.use', name: 'notes' }));
  await next((reply) => reply.type === 'so.sync' && reply.name === 'notes');
  const { client } = await RtmpClient.connect(`${edge().base}/classroom/bigvalue`, { connectArgs: [{ token: await member('bigvalue', 'Flash') }] });
  try {
    const notes = await new RemoteSharedObject(client, 'notes', false).connect(10_000);
    client.send(expandingSend(notes.version), 3);
    notes.set('small', 'still here');
    const error = await next((reply) => reply.type === 'error' && reply.code === 'unrepresentable');
    assert.match(error.message, /message 'draw' of shared object 'notes'/);
    const change = await next((reply) => reply.type === 'so.change' && reply.name === 'notes' && 'small' in reply.changed);
    assert.equal(change.changed.small, 'still here');
    ws.send(JSON.stringify({ type: 'call', id: 'after', method: 'echo', args: ['ok'] }));
    const result = await next((reply) => reply.id === 'after');
    assert.deepEqual([result.type, result.value], ['result', 'ok']);
  } finally {
    client.close();
    ws.close();
  }
});

test('the edge counted no internal error and no undecodable origin message for its browsers', async () => {
  assert.equal(await edge().metric('classroom_edge_internal_errors_total'), 0);
  assert.equal(await edge().metric('classroom_edge_connections_closed_total', { reason: 'internal_error' }), 0);
});
