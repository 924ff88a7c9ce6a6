/**
 * Node's own floor under the fan-out benchmark's load (issue 14's 0.3x goal): the CPU a Node process
 * spends doing the same I/O as the origin in bench:fanout and nothing else, measured over the same
 * kind of window, so the origin's figure can be split into what Node costs and what our code adds.
 *
 *   npm run bench:node-floor [-- --players 200 --seconds 20 --flush-ms 68 --reads-per-second 60
 *                                 --read-bytes 2000 --stream-kbps 1000 --write-bytes B --rounds 1 --readers processes|one
 *                                 --writes socket|native]
 *
 * Two bare Node processes (bench/lib/bare-io.ts: production's node flags, none of our modules but the
 * native writer's loader and the socket handle), each measured by /proc CPU over the window:
 * - ingest: one connection receiving --reads-per-second writes of --read-bytes and discarding them,
 *   each read as it comes, as the origin reads a publisher. ffmpeg publishing bench:fanout's ~1 Mbit/s
 *   stream arrives in about 60 reads a second (strace of the origin): each burst's 8-byte chunk header
 *   first, then, once the origin's read has acknowledged it (ffmpeg's Nagle), the ~4 KB after it.
 * - fan-out: --players connections, each written one shared buffer of --flush-ms worth of the stream
 *   every --flush-ms. The origin's merged writes come about 14.7 times a second per player (each holds
 *   two of ffmpeg's ~30 bursts a second at the 50 ms bound), hence 68 ms.
 * The fan-out's readers are, by default, one process per player (`cat` reading a socket), as
 * bench:fanout's players are (one rtmpdump each): each write then wakes a process of its own, which the
 * writer's kernel time pays. `--readers one` reads every socket in one Node process instead, which a
 * write wakes at most once per pass and so understates that cost.
 * `--writes native` makes each pass's writes in one call of the native batch writer, as the origin does
 * where it is built (common/direct-write.ts), instead of `socket.write` to each: what is left is then
 * nearly all the kernel's.
 * `--write-bytes` sets each write's size apart from the stream's rate (default: --flush-ms worth of
 * --stream-kbps): the same number of writes, of 100 bytes or of 32 KB, show how much of a write's
 * kernel time is the write itself (waking its reader among it) and how much its bytes.
 * `--rounds N` writes every player N times in a row each interval (N rounds over all of them), as a
 * server writing each message as it comes does (nginx-rtmp): a write that closely follows another
 * to the same player often finds its reader still awake, and costs the kernel less.
 * Their sum is what Node alone costs for the origin's I/O in bench:fanout at that many players; the
 * figures print beside the same window's cost of nginx-rtmp when given (--nginx-cpu S, from bench:fanout).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { cpuTimes, freePort, runBench, sleep, start, stop, waitForPort, type Started } from './lib/processes.ts';
import { positiveNumber } from './lib/options.ts';
import { nodeBin, repoRoot } from './lib/servers.ts';
import { PRODUCTION_NODE_FLAGS } from '../test/support/processes.ts';

const { values } = parseArgs({
  options: {
    players: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    'flush-ms': { type: 'string', default: '68' },
    'reads-per-second': { type: 'string', default: '60' },
    'read-bytes': { type: 'string', default: '2000' },
    'stream-kbps': { type: 'string', default: '1000' },
    'write-bytes': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'nginx-cpu': { type: 'string' },
    readers: { type: 'string', default: 'processes' },
    writes: { type: 'string', default: 'socket' },
  },
  strict: true,
});
const players = Math.floor(positiveNumber('players', values.players));
const seconds = positiveNumber('seconds', values.seconds);
const warmup = positiveNumber('warmup', values.warmup);
const flushMs = positiveNumber('flush-ms', values['flush-ms']);
const readsPerSecond = positiveNumber('reads-per-second', values['reads-per-second']);
const readBytes = Math.floor(positiveNumber('read-bytes', values['read-bytes']));
const writeBytes = values['write-bytes'] === undefined
  ? Math.round((positiveNumber('stream-kbps', values['stream-kbps']) * 1000 / 8) * (flushMs / 1000))
  : Math.floor(positiveNumber('write-bytes', values['write-bytes']));
const rounds = Math.floor(positiveNumber('rounds', values.rounds));
if (values.readers !== 'processes' && values.readers !== 'one') throw new Error(`--readers must be processes or one, got ${values.readers}`);
const readerProcesses = values.readers === 'processes';
if (values.writes !== 'socket' && values.writes !== 'native') throw new Error(`--writes must be socket or native, got ${values.writes}`);
const nginxCpu = values['nginx-cpu'] === undefined ? null : positiveNumber('nginx-cpu', values['nginx-cpu']);

const bareIo = join(repoRoot, 'bench/lib/bare-io.ts');

/** Starts a bare-io role under Node with production's flags; a server is waited for until it listens on `port`. */
async function role(name: string, args: (string | number)[], port: number | null): Promise<Started> {
  const started = start(name, nodeBin, [...PRODUCTION_NODE_FLAGS, bareIo, ...args.map(String)]);
  if (port !== null) await waitForPort(port, started);
  return started;
}

/** CPU seconds (user, system) `server` spends over the window, after the warm-up. */
async function windowCpu(server: Started): Promise<{ user: number; system: number }> {
  await sleep(warmup * 1000);
  const before = cpuTimes(server.pid);
  await sleep(seconds * 1000);
  const after = cpuTimes(server.pid);
  return { user: after.user - before.user, system: after.system - before.system };
}

await runBench('node-floor', async () => {
  const ingestPort = await freePort();
  const sink = await role('sink', ['sink', ingestPort], ingestPort);
  const source = await role('source', ['source', ingestPort, readsPerSecond, readBytes], null);
  const ingest = await windowCpu(sink);
  await stop(source);
  await stop(sink);

  const fanoutPort = await freePort();
  const fanout = await role('fanout', ['fanout', fanoutPort, players, flushMs, writeBytes, values.writes, rounds], fanoutPort);
  const readers = readerProcesses
    ? Array.from({ length: players }, (_, i) => start(`reader ${i}`, 'bash', ['-c', `exec cat < /dev/tcp/127.0.0.1/${fanoutPort} > /dev/null`]))
    : [await role('players', ['players', fanoutPort, players], null)];
  const writes = await windowCpu(fanout);
  await Promise.all(readers.map((reader) => stop(reader)));
  await stop(fanout);

  const total = ingest.user + ingest.system + writes.user + writes.system;
  const perWriteUs = (s: number): string => ((s / ((players * rounds * seconds * 1000) / flushMs)) * 1e6).toFixed(1);
  console.log(`\nNode ${process.versions.node} alone, ${seconds} s window after ${warmup} s warm-up:`);
  console.log(`  ingest:  ${readsPerSecond} writes/s of ${readBytes} B, each read as it comes:`
    + ` user ${ingest.user.toFixed(2)} + system ${ingest.system.toFixed(2)} CPU-s`);
  console.log(`  fan-out: ${players} players (${readerProcesses ? 'a reader process each' : 'read by one process'}), ${writeBytes} B each${rounds > 1 ? `, ${rounds} rounds in a row,` : ''} every ${flushMs} ms by ${values.writes === 'native' ? 'one native call a pass' : 'socket.write each'}: user ${writes.user.toFixed(2)} + system ${writes.system.toFixed(2)} CPU-s`
    + ` (${perWriteUs(writes.user)} + ${perWriteUs(writes.system)} µs a write)`);
  console.log(`  together: ${total.toFixed(2)} CPU-s: Node's floor for the origin's I/O in bench:fanout with ${players} players`
    + (nginxCpu === null ? '' : `; against nginx-rtmp's ${nginxCpu.toFixed(2)} CPU-s of the same window: ${(total / nginxCpu).toFixed(2)}x (issue 14's goal for the whole origin: 0.3x)`));
});
