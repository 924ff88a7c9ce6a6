/**
 * The interop matrix: every RTMP client that schools and streamers use, against an edge and the
 * origin, each cell a real publish (decoded back by ffmpeg) or a real play (what the client got,
 * decoded by ffmpeg), or a real call / shared object round trip. The table is printed at the end
 * and kept in README ("Interoperability").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { decodeFrames, publishTestStream, run, selfSignedCertificate, stop, stopAll, tempDir, track } from '../support/processes.ts';
import { librtmp, librtmpPublish, npmCall, npmConnect, npmSharedObject } from '../support/peers.ts';

type Server = 'edge' | 'origin';
interface Urls { rtmp: string; rtmps: string; rtmpt: string | null }

let cluster: Cluster;
let work: string;
let shortClip: string;
const urls = {} as Record<Server, Urls>;
/** client -> server -> what the cell showed ("✓ ..." or "✗ ..."). */
const table = new Map<string, Map<Server, string>>();

before(async () => {
  work = tempDir();
  const { cert, key } = await selfSignedCertificate(work);
  const tls = ['--rtmps-port', '0', '--tls-cert', cert, '--tls-key', key];
  cluster = await startCluster(['matrix-edge'], { originArgs: tls, edgeArgs: tls });
  const edge = cluster.edges[0]!;
  urls.edge = { rtmp: edge.base, rtmps: `rtmps://127.0.0.1:${edge.rtmpsPort}`, rtmpt: `rtmpt://127.0.0.1:${edge.httpPort}` };
  urls.origin = { rtmp: `rtmp://127.0.0.1:${cluster.origin.port}`, rtmps: `rtmps://127.0.0.1:${cluster.origin.rtmpsPort}`, rtmpt: null };
  shortClip = join(work, 'clip.flv');
  const clip = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-c:a', 'aac', '-f', 'flv', shortClip]);
  assert.equal(clip.code, 0, clip.stderr);
});

after(async () => {
  const rows = [...table].map(([client, cells]) => `| ${client} | ${cells.get('edge') ?? '—'} | ${cells.get('origin') ?? '—'} |`);
  const text = ['| client | edge | origin |', '|---|---|---|', ...rows].join('\n');
  console.log(`\ninterop matrix:\n${text}\n`);
  if (process.env.INTEROP_MATRIX_FILE) writeFileSync(process.env.INTEROP_MATRIX_FILE, `${text}\n`);
  await stopAll();
});

let streams = 0;
const streamName = (client: string) => `${client.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${++streams}`;

/** Decodes what ffmpeg gets of a live stream for a few seconds; a cell passes with a second of frames. */
async function decodedFrames(url: string, seconds = 3): Promise<string> {
  const frames = await decodeFrames(url, seconds);
  assert.ok(frames.video >= 30, `ffmpeg decoded ${frames.video} video frames of ${url}: ${frames.stderr}`);
  return `${frames.video} video / ${frames.audio} audio frames decoded`;
}

/** Publishes with ffmpeg for as long as `body` runs, giving it the stream's URL. */
async function withFfmpegSource<T>(base: string, client: string, body: (url: string) => Promise<T>): Promise<T> {
  const url = `${base}/live/${streamName(client)}`;
  const source = publishTestStream(url);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    return await body(url);
  } finally {
    await stop(source);
  }
}

/** A client that writes what it plays to `file` until killed after `seconds`; then ffmpeg decodes the file. */
async function playToFileFor(command: string, args: string[], file: string, seconds: number): Promise<string> {
  const child = track(spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGINT'), seconds * 1000);
  await exited;
  clearTimeout(timer);
  const frames = await decodeFrames(file, 60);
  assert.ok(frames.video >= 30, `${command} wrote ${frames.video} decodable video frames: ${stderr.slice(-500)} ${frames.stderr}`);
  return `${frames.video} video / ${frames.audio} audio frames decoded`;
}

/** A GStreamer pipeline publishing 8 s of H.264/AAC through `sink`; ffmpeg decodes it meanwhile. */
async function gstPublishCell(sink: 'rtmpsink' | 'rtmp2sink', u: Urls): Promise<string> {
  const url = `${u.rtmp}/live/${streamName(sink)}`;
  const published = gstPublish(sink, url);
  await new Promise((r) => setTimeout(r, 1500));
  const decoded = await decodedFrames(url);
  await published;
  return decoded;
}

function gstPublish(sink: 'rtmpsink' | 'rtmp2sink', url: string): Promise<unknown> {
  const child = track(spawn('gst-launch-1.0', ['-q',
    'videotestsrc', 'is-live=true', 'num-buffers=240', '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!',
    'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', 'key-int-max=30', '!', 'h264parse', '!', 'flvmux', 'name=m', 'streamable=true', '!',
    sink, `location=${sink === 'rtmpsink' ? `${url} live=1` : url}`,
    'audiotestsrc', 'is-live=true', 'num-buffers=345', '!', 'audioconvert', '!', 'avenc_aac', '!', 'aacparse', '!', 'm.'], { stdio: ['ignore', 'ignore', 'inherit'] }));
  return once(child, 'exit');
}

const cells: Array<{ client: string; servers?: Server[]; run: (u: Urls, server: Server) => Promise<string> }> = [
  { client: 'ffmpeg publish (RTMP)', run: async (u) => {
    const url = `${u.rtmp}/live/${streamName('ffmpeg')}`;
    const publisher = publishTestStream(url, { seconds: 8 });
    try { await new Promise((r) => setTimeout(r, 1500)); return await decodedFrames(url); } finally { await stop(publisher); }
  } },
  { client: 'ffmpeg play (RTMP)', run: (u) => withFfmpegSource(u.rtmp, 'ffmpeg-play', (url) => decodedFrames(url)) },
  { client: 'rtmpdump play', run: (u) => withFfmpegSource(u.rtmp, 'rtmpdump', (url) => {
    const file = join(work, `${streamName('rtmpdump')}.flv`);
    return playToFileFor('rtmpdump', ['-q', '-v', '-r', url, '-o', file], file, 4);
  }) },
  { client: 'python3-librtmp publish', run: async (u) => {
    const name = streamName('pylibrtmp');
    const publish = await librtmpPublish(`${u.rtmp}/live`, name, 'live', shortClip);
    const decoded = await decodedFrames(`${u.rtmp}/live/${name}`);
    await publish.done;
    return decoded;
  } },
  { client: 'python3-librtmp play', run: (u) => withFfmpegSource(u.rtmp, 'pylibrtmp-play', async (url) => {
    const file = join(work, `${streamName('pyplay')}.flv`);
    const out = await librtmp('play', url, new URL(url).pathname.split('/')[1]!, { seconds: 4, out: file }, 20_000);
    assert.ok(out.bytes > 0);
    const frames = await decodeFrames(file, 60);
    assert.ok(frames.video >= 30, `${frames.video} frames`);
    return `${frames.video} video / ${frames.audio} audio frames decoded`;
  }) },
  { client: 'python3-librtmp call', run: async (u, server) => {
    const out = await librtmp('remoting', `${u.rtmp}/classroom/matrix-${server}`, `classroom/matrix-${server}`,
      { connect: { name: `py-${server}` }, method: 'echo', params: ['hello'] });
    assert.equal(out.first.name, '_result');
    assert.deepEqual(out.first.args, ['hello']);
    assert.equal(out.unknown.name, '_error');
    return 'echo answered; unknown method _error';
  } },
  { client: 'python3-librtmp shared object', run: async (u, server) => {
    const url = `${u.rtmp}/live/so-${server}`;
    const set = await librtmp('so', url, `live/so-${server}`, { name: 'matrix', persistent: true, set: { color: 'red' }, until_key: 'color' });
    assert.ok(set.events.some((e: { kind: string; key?: string }) => e.kind === 'success' && e.key === 'color'), 'the change was confirmed');
    // A second librtmp client joins after the first left and gets the (persistent) slot in its initial sync.
    const late = await librtmp('so', url, `live/so-${server}`, { name: 'matrix', persistent: true });
    assert.equal(late.data.color, 'red');
    return `set, confirmed, synced to a late joiner (version ${late.version})`;
  } },
  { client: 'GStreamer rtmp2sink publish', run: (u) => gstPublishCell('rtmp2sink', u) },
  { client: 'GStreamer rtmp2src play', run: (u) => withFfmpegSource(u.rtmp, 'rtmp2src', (url) => {
    const file = join(work, `${streamName('rtmp2src')}.flv`);
    return playToFileFor('gst-launch-1.0', ['-q', '-e', 'rtmp2src', `location=${url}`, '!', 'filesink', `location=${file}`], file, 4);
  }) },
  { client: 'GStreamer rtmpsink publish (librtmp)', run: (u) => gstPublishCell('rtmpsink', u) },
  { client: 'GStreamer rtmpsrc play (librtmp)', run: (u) => withFfmpegSource(u.rtmp, 'rtmpsrc', (url) => {
    const file = join(work, `${streamName('rtmpsrc')}.flv`);
    return playToFileFor('gst-launch-1.0', ['-q', '-e', 'rtmpsrc', `location=${url} live=1`, '!', 'filesink', `location=${file}`], file, 4);
  }) },
  { client: 'rtmp-client (npm) call and shared object', run: async (u, server) => {
    const caller = await npmConnect(`${u.rtmp}/classroom/npm-${server}`, { name: `npm-${server}` });
    const a = await npmConnect(`${u.rtmp}/live/npm-so-${server}`);
    const b = await npmConnect(`${u.rtmp}/live/npm-so-${server}`);
    try {
      assert.equal(await npmCall(caller, 'echo', 'hi'), 'hi');
      const soA = await npmSharedObject(a, 'matrix');
      const soB = await npmSharedObject(b, 'matrix');
      const seen = new Promise<unknown>((resolve) => { soB.onSync = (list) => { const c = list.find((e) => e.name === 'k'); if (c) resolve(c.newValue); }; });
      soA.setProperty('k', 42);
      assert.equal(await seen, 42);
      return 'echo answered; a shared object change reached a second client';
    } finally {
      for (const nc of [caller, a, b]) nc.close();
    }
  } },
  { client: 'ffmpeg publish and play over RTMPS', run: async (u) => {
    const url = `${u.rtmps}/live/${streamName('rtmps')}`;
    const publisher = publishTestStream(url, { seconds: 8 });
    try { await new Promise((r) => setTimeout(r, 1500)); return await decodedFrames(url); } finally { await stop(publisher); }
  } },
  { client: 'ffmpeg publish and play over RTMPT', servers: ['edge'], run: async (u) => {
    const url = `${u.rtmpt}/live/${streamName('rtmpt')}`;
    const publisher = publishTestStream(url, { seconds: 8 });
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const overRtmp = await decodedFrames(`${u.rtmp}${new URL(url).pathname}`);
      return `${await decodedFrames(url)} (RTMP player: ${overRtmp.split(' /')[0]})`;
    } finally { await stop(publisher); }
  } },
];

for (const server of ['edge', 'origin'] as const) {
  describe(`clients against the ${server}`, () => {
    for (const cell of cells) {
      if (cell.servers && !cell.servers.includes(server)) continue;
      test(cell.client, { timeout: 60_000 }, async () => {
        const row = table.get(cell.client) ?? new Map<Server, string>();
        table.set(cell.client, row);
        try {
          row.set(server, `✓ ${await cell.run(urls[server], server)}`);
        } catch (error) {
          row.set(server, `✗ ${(error as Error).message.split('\n')[0]}`);
          throw error;
        }
      });
    }
  });
}
