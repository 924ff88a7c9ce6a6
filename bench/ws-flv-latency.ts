/**
 * Browser playback latency: publish-to-play time of WS-FLV from an edge, for a stream published
 * through another edge, against an RTMP player on the same edge in the same run (the RTMP path is
 * the reference the browser path is compared with). Frames carry their send time (synthetic
 * publisher), so latency is measured on one clock. Goal (issue 6): WS-FLV latency under a second.
 *
 *   node_modules/.bin/node bench/ws-flv-latency.ts [--seconds 10] [--viewers 5]
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { stopAll } from '../test/support/processes.ts';
import { startCluster } from '../test/support/cluster.ts';
import { clockMs, frameStamp, percentile, startLightPlayer, startSyntheticPublisher } from '../test/support/synthetic-publisher.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, viewers: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const viewers = Number(values.viewers);

/** A WS-FLV viewer that records the latency of every synthetic video frame it receives. */
function wsFlvViewer(url: string): { latencies: number[]; close(): void } {
  const latencies: number[] = [];
  const reader = new FlvReader();
  const socket = new WebSocket(url);
  socket.on('message', (data: Buffer) => {
    for (const tag of reader.push(data)) {
      if (tag.type !== FlvTagType.Video) continue;
      const stamp = frameStamp({ type: MessageType.Video, streamId: 1, timestamp: tag.timestamp, payload: tag.data });
      if (stamp) latencies.push(clockMs() - stamp.sentAt);
    }
  });
  socket.on('error', (error) => console.error(`ws-flv viewer: ${error.message}`));
  return { latencies, close: () => socket.close() };
}

function summary(label: string, latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  return `${label.padEnd(22)} frames ${String(sorted.length).padStart(6)}  p50 ${percentile(sorted, 50).toFixed(1).padStart(7)} ms  p99 ${percentile(sorted, 99).toFixed(1).padStart(7)} ms  max ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(7)} ms`;
}

try {
  const cluster = await startCluster(['lat-a', 'lat-b']);
  const [edgeA, edgeB] = cluster.edges as [typeof cluster.edges[0], typeof cluster.edges[0]];
  const publisher = await startSyntheticPublisher(`${edgeA.base}/live`, 'lat');
  await new Promise((r) => setTimeout(r, 1000));
  const rtmp = [];
  const ws = [];
  for (let i = 0; i < viewers; i++) {
    rtmp.push(await startLightPlayer(`${edgeB.base}/live`, 'lat'));
    ws.push(wsFlvViewer(`ws://127.0.0.1:${edgeB.httpPort}/live/live/lat.flv`));
  }
  // Skip the joiners' cached GOP: only frames sent after the warm-up count.
  await new Promise((r) => setTimeout(r, 2000));
  const from = { rtmp: rtmp.map((p) => p.latencies.length), ws: ws.map((v) => v.latencies.length) };
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rtmpLat = rtmp.flatMap((p, i) => p.latencies.slice(from.rtmp[i]));
  const wsLat = ws.flatMap((v, i) => v.latencies.slice(from.ws[i]));
  console.log(`publish through edge A, ${viewers} viewers of each kind on edge B, ${seconds} s window (merged writes: defaults)`);
  console.log(summary('RTMP player (edge B)', rtmpLat));
  console.log(summary('WS-FLV viewer (edge B)', wsLat));
  const ratio = percentile([...wsLat].sort((a, b) => a - b), 99) / percentile([...rtmpLat].sort((a, b) => a - b), 99);
  console.log(`WS-FLV/RTMP p99 ratio ${ratio.toFixed(2)}; goal WS-FLV under 1000 ms: ${percentile([...wsLat].sort((a, b) => a - b), 99) < 1000 ? 'met' : 'MISSED'}`);
  for (const v of ws) v.close();
  for (const p of rtmp) p.client.close();
  await publisher.stop();
} finally {
  await stopAll();
}
