/**
 * Denial-of-service benchmark (issue 14): one address must not lock a school out.
 *
 *   npm run bench:dos [-- --rtmp 5000 --ws 2000 --seconds 30]
 *
 * A real cluster on loopback (origin and edge as separate processes, default limits). From
 * 127.0.0.2 an attacker opens --rtmp connections to the edge's RTMP port that complete the
 * handshake and then send only acknowledgements (never `connect`), and --ws WebSockets to /ws that
 * stay idle (they answer pings, as a browser would), reopening what the edge closes for the whole
 * window. From 127.0.0.1, throughout: ffmpeg publishes a stream to the edge, ffmpeg plays it back
 * (decoded frames counted), a browser-protocol client joined to a classroom pings every second, and
 * every 2 s a fresh RTMP client connects and a fresh browser joins. Prints, sampled from the edge's
 * /metrics every second: connections held by the attacker's address and in all, refusals by reason;
 * and whether the normal clients worked, against the goals: the attacker holds at most
 * maxConnectionsPerAddress (200), every fresh connect and join succeeds, every ping is answered,
 * and the player decodes at least 90% of the frames a 30 fps stream sends in the window.
 */
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { RtmpClient } from '#common/rtmp-client.ts';
import { defaultClientLimits } from '#common/client-limits.ts';
import { acknowledgementMessage } from '#protocol/rtmp/control.ts';
import { ChunkStreamId } from '#protocol/rtmp/message.ts';
import { decodeFrames, publishTestStream, stopAll } from '../test/support/processes.ts';
import { startCluster, type EdgeProcess } from '../test/support/cluster.ts';
import { scrapeMetrics } from '../test/support/prometheus.ts';
import { waitForPublished } from '../test/support/observe.ts';
import { joinReply } from '../test/support/ws-join.ts';

const { values } = parseArgs({
  options: {
    rtmp: { type: 'string', default: '5000' },
    ws: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  console.log('usage: node bench/dos.ts [--rtmp 5000] [--ws 2000] [--seconds 30]');
  process.exit(0);
}
const RTMP_CONNECTIONS = Number(values.rtmp);
const WEBSOCKETS = Number(values.ws);
const SECONDS = Number(values.seconds);
const ATTACKER = '127.0.0.2';
/** Connection attempts the attacker keeps in flight at once (its connect rate is what the kernel and the edge allow). */
const IN_FLIGHT = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the attacker achieved. */
const attack = { rtmpHandshaken: 0, rtmpRefused: 0, rtmpClosedLater: 0, wsOpened: 0, wsRefused: 0, wsClosedLater: 0 };
const attackerSockets = new Set<Socket | WebSocket>();
let attacking = true;

/** One attacker RTMP connection: handshake, then only an acknowledgement every 3 s until the edge closes it; reopened while attacking. */
async function rtmpAttacker(port: number): Promise<void> {
  while (attacking) {
    // The socket's errors are ours to swallow from the start: a refused connection is reset by the edge.
    const socket = connect({ host: '127.0.0.1', port, localAddress: ATTACKER });
    socket.on('error', () => {});
    let client: RtmpClient;
    try {
      await once(socket, 'connect');
      client = await RtmpClient.over(socket, { timeoutMs: 5000 });
    } catch {
      socket.destroy();
      attack.rtmpRefused++;
      await sleep(200);
      continue;
    }
    attack.rtmpHandshaken++;
    attackerSockets.add(socket);
    if (!attacking) socket.destroy(); // the window ended while this one was opening
    let sequence = 0;
    const acks = setInterval(() => client.send(acknowledgementMessage(sequence += 1000), ChunkStreamId.Control), 3000);
    if (!socket.destroyed) await once(socket, 'close');
    clearInterval(acks);
    attackerSockets.delete(socket);
    if (attacking) attack.rtmpClosedLater++;
  }
}

/** One attacker WebSocket on /ws: opened and left idle (pings answered) until the edge closes it; reopened while attacking. */
async function wsAttacker(httpPort: number): Promise<void> {
  while (attacking) {
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, { localAddress: ATTACKER });
    ws.on('error', () => {});
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('unexpected-response', (_req, res) => { res.resume(); resolve(false); });
      ws.once('close', () => resolve(false));
    });
    if (!opened) {
      attack.wsRefused++;
      ws.terminate();
      await sleep(200);
      continue;
    }
    attack.wsOpened++;
    attackerSockets.add(ws);
    if (!attacking) ws.terminate(); // the window ended while this one was opening
    if (ws.readyState !== ws.CLOSED) await once(ws, 'close');
    attackerSockets.delete(ws);
    if (attacking) attack.wsClosedLater++;
  }
}

/** Runs `count` attackers, at most IN_FLIGHT of them starting at once. */
async function startAttackers(count: number, attacker: () => Promise<void>): Promise<Promise<void>[]> {
  const running: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    running.push(attacker());
    if (i % IN_FLIGHT === IN_FLIGHT - 1) await sleep(50);
  }
  return running;
}

/** A browser on /ws from 127.0.0.1 joined to a classroom, pinging every second. */
async function steadyBrowser(httpPort: number): Promise<{ pings: number; pongs: number; stop(): void; closed: () => boolean }> {
  const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`);
  let closed = false;
  ws.on('close', () => { closed = true; });
  ws.on('error', () => {});
  const state = { pings: 0, pongs: 0 };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'hello') ws.send(JSON.stringify({ type: 'join', room: 'dos-bench', name: 'Steady' }));
      else if (message.type === 'joined') resolve();
      else if (message.type === 'pong') state.pongs++;
      else if (message.type === 'error') reject(new Error(String(data)));
    });
  });
  const timer = setInterval(() => { state.pings++; ws.send(JSON.stringify({ type: 'ping', id: state.pings })); }, 1000);
  return { get pings() { return state.pings; }, get pongs() { return state.pongs; }, stop: () => { clearInterval(timer); ws.close(); }, closed: () => closed };
}

/** Every 2 s a fresh RTMP connect and a fresh browser join from 127.0.0.1, counted. */
function freshClients(edge: EdgeProcess): { tried: number; rtmpFailed: number; joinFailed: number; stop(): Promise<void> } {
  const state = { tried: 0, rtmpFailed: 0, joinFailed: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      state.tried++;
      const rtmp = RtmpClient.connect(`${edge.base}/live`, { timeoutMs: 5000 }).then(({ client, info }) => {
        client.close();
        if (info.code !== 'NetConnection.Connect.Success') state.rtmpFailed++;
      }, () => { state.rtmpFailed++; });
      const join = Promise.race([joinReply(edge.httpPort, { room: 'dos-bench', name: `Fresh${state.tried}` }), sleep(5000).then(() => null)]).then(
        (reply) => { if (reply?.type !== 'joined') state.joinFailed++; }, () => { state.joinFailed++; });
      await Promise.all([rtmp, join, sleep(2000)]);
    }
  })();
  return { get tried() { return state.tried; }, get rtmpFailed() { return state.rtmpFailed; }, get joinFailed() { return state.joinFailed; },
    stop: async () => { running = false; await loop; } };
}

interface Sample { attackerHeld: number; allHeld: number; clients: number }

async function sampleEdge(edge: EdgeProcess): Promise<Sample & { refusals: Record<string, number> }> {
  const scrape = await scrapeMetrics(edge.httpPort);
  const refusals: Record<string, number> = {};
  for (const sample of scrape.samples('classroom_edge_address_refusals_total')) {
    const key = `${sample.labels.protocol}/${sample.labels.reason}`;
    refusals[key] = (refusals[key] ?? 0) + sample.value;
  }
  refusals['global/max_connections'] = scrape.value('classroom_edge_connection_refusals_total', { reason: 'max_connections' });
  return {
    attackerHeld: scrape.value('classroom_edge_address_top_connections', { address: ATTACKER }),
    allHeld: scrape.value('classroom_edge_address_connections'),
    clients: scrape.value('classroom_edge_clients'),
    refusals,
  };
}

async function main(): Promise<void> {
  const cluster = await startCluster(['dos-edge']);
  const edge = cluster.edges[0]!;
  try {
    const streamUrl = `${edge.base}/live/dos`;
    publishTestStream(streamUrl);
    await waitForPublished(cluster.origin, 'live/dos', 20_000);
    const browser = await steadyBrowser(edge.httpPort);
    console.log(`attack: ${RTMP_CONNECTIONS} RTMP connections (handshake, then acknowledgements only) and ${WEBSOCKETS} idle WebSockets from ${ATTACKER}, for ${SECONDS} s`);
    const attackers = [...await startAttackers(RTMP_CONNECTIONS, () => rtmpAttacker(edge.port)), ...await startAttackers(WEBSOCKETS, () => wsAttacker(edge.httpPort))];
    const fresh = freshClients(edge);
    const playing = decodeFrames(streamUrl, SECONDS);
    const samples: Sample[] = [];
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(1000);
      const sample = await sampleEdge(edge);
      samples.push(sample);
      if (samples.length % 5 === 0) console.log(`  ${samples.length} s: ${ATTACKER} holds ${sample.attackerHeld}, all ${sample.allHeld}; attacker RTMP ${attack.rtmpHandshaken} handshaken, ${attack.rtmpRefused} refused; WebSocket ${attack.wsOpened} opened, ${attack.wsRefused} refused`);
    }
    const last = await sampleEdge(edge);
    const played = await playing;
    await fresh.stop();
    const browserOpen = !browser.closed();
    browser.stop();
    attacking = false;
    for (const socket of attackerSockets) (socket instanceof WebSocket ? socket.terminate() : socket.destroy());
    await Promise.allSettled(attackers);

    const maxAttacker = Math.max(...samples.map((s) => s.attackerHeld));
    const maxAll = Math.max(...samples.map((s) => s.allHeld));
    const perAddress = defaultClientLimits.maxConnectionsPerAddress;
    const expectedFrames = SECONDS * 30;
    const ok = (pass: boolean) => (pass ? 'OK' : 'MISSED');
    console.log('\nconnections held (sampled every second from the edge\'s /metrics):');
    console.log(`  by ${ATTACKER}: max ${maxAttacker}, at the end ${last.attackerHeld}   goal <= ${perAddress} (maxConnectionsPerAddress)   ${ok(maxAttacker <= perAddress)}`);
    console.log(`  by all addresses: max ${maxAll}, at the end ${last.allHeld}; edge clients at the end ${last.clients}`);
    console.log(`attacker: RTMP ${attack.rtmpHandshaken} handshaken, ${attack.rtmpRefused} refused, ${attack.rtmpClosedLater} closed later (connect deadline, limits); `
      + `WebSocket ${attack.wsOpened} opened, ${attack.wsRefused} refused, ${attack.wsClosedLater} closed later`);
    console.log(`refusals by protocol/reason: ${Object.entries(last.refusals).map(([key, count]) => `${key} ${count}`).join(', ')}`);
    console.log('normal clients from 127.0.0.1:');
    console.log(`  fresh RTMP connects: ${fresh.tried - fresh.rtmpFailed}/${fresh.tried} succeeded   goal all   ${ok(fresh.rtmpFailed === 0)}`);
    console.log(`  fresh browser joins: ${fresh.tried - fresh.joinFailed}/${fresh.tried} succeeded   goal all   ${ok(fresh.joinFailed === 0)}`);
    console.log(`  joined browser: ${browser.pongs}/${browser.pings} pings answered, ${browserOpen ? 'still open' : 'closed'}   goal all, open   ${ok(browser.pongs >= browser.pings - 1 && browserOpen)}`);
    console.log(`  player (ffmpeg, ${SECONDS} s): ${played.video} video frames decoded of ~${expectedFrames}   goal >= 90%   ${ok(played.video >= expectedFrames * 0.9)}`);
  } finally {
    attacking = false;
    for (const socket of attackerSockets) (socket instanceof WebSocket ? socket.terminate() : socket.destroy());
    await stopAll();
  }
}

await main();
process.exit(0);
