/**
 * The floor under the edge's forwarding cost: what node-datachannel itself (libdatachannel's SRTP
 * and UDP sends) takes to send RTP to N viewers, one PeerConnection each as the edge has, with no
 * forwarding logic at all. A child process (this file run with `sender`) only sends 1100-byte RTP
 * packets at the stream's bit rate on each of its tracks, a frame's packets at a time (FRAME_RATE); the receiving peer connections live in
 * the caller; the child's CPU while sending, less its CPU connected but silent, per viewer and per
 * Mbit/s, is the floor the bench prints beside the edge's figure. Must run where 127.0.0.1 is the only address (the bench's
 * namespace): the peers bind and connect there.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import nodeDataChannel from 'node-datachannel';
import { treeCpuSeconds } from './processes.ts';

const { PeerConnection, Video } = nodeDataChannel;
type Pc = InstanceType<typeof PeerConnection>;
type Track = ReturnType<Pc['addTrack']>;
const PAYLOAD_BYTES = 1100;
const RTP_HEADER_BYTES = 12;
const H264_PAYLOAD_TYPE = 96;
/**
 * Packets go out a video frame at a time, 30 frames a second, as a 30 fps stream's packets reach
 * the edge. Pacing matters more than anything here: on this machine the same 1 Mbit/s to 4 viewers
 * costs the library 0.22 % of a core per Mbit/s in 100 ms bursts, 0.44 % a frame at a time and
 * 0.8 % a packet at a time (each wake-up of its send path costs more than the packets it sends).
 */
const FRAME_RATE = 30;
const TICK_MS = 1000 / FRAME_RATE;
/** Connecting N peer connections on loopback takes well under a second; past this the attempt failed. */
const READY_TIMEOUT_MS = 30_000;

/** Held for the process's life: node-datachannel closes a PeerConnection that is garbage collected. */
const heldSenders: Pc[] = [];

/** The local description once ICE gathering is done (no trickle between the processes). */
async function gathered(pc: Pc): Promise<string> {
  while (pc.gatheringState() !== 'complete') await sleep(20);
  return pc.localDescription()!.sdp;
}

/** The sender: `viewers` peer connections, each sending `bitrate` bit/s of RTP once its track opens; SDP over stdin/stdout, one JSON line each. */
async function runSender(viewers: number, bitrate: number): Promise<void> {
  const tracks: Track[] = [];
  const answers = createInterface({ input: process.stdin });
  const pending: Array<(sdp: string) => void> = [];
  let go: () => void = () => undefined;
  const told = new Promise<void>((resolve) => { go = resolve; });
  answers.on('line', (line) => {
    const message = JSON.parse(line) as { sdp?: string; go?: boolean };
    if (message.go) go();
    else pending.shift()?.(message.sdp!);
  });
  for (let i = 0; i < viewers; i++) {
    const pc = new PeerConnection(`floor-${i}`, { iceServers: [], bindAddress: '127.0.0.1' });
    const video = new Video('0', 'SendOnly');
    video.addH264Codec(H264_PAYLOAD_TYPE);
    video.addSSRC(1000 + i, 'floor', 'floor', 'video');
    tracks.push(pc.addTrack(video));
    heldSenders.push(pc);
    pc.setLocalDescription();
    const answer = new Promise<string>((resolve) => pending.push(resolve));
    process.stdout.write(`${JSON.stringify({ sdp: await gathered(pc) })}\n`);
    pc.setRemoteDescription(await answer, 'answer');
  }
  while (!tracks.every((track) => track.isOpen())) await sleep(20);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  await told;
  const packetsPerTick = (bitrate / 8 / (PAYLOAD_BYTES + RTP_HEADER_BYTES)) * (TICK_MS / 1000);
  let owed = 0;
  let sequence = 0;
  const payload = Buffer.alloc(PAYLOAD_BYTES, 0x5a);
  setInterval(() => {
    owed += packetsPerTick;
    for (; owed >= 1; owed--) {
      sequence++;
      tracks.forEach((track, i) => {
        if (!track.isOpen()) return;
        const header = Buffer.alloc(RTP_HEADER_BYTES);
        header[0] = 0x80;
        header[1] = H264_PAYLOAD_TYPE;
        header.writeUInt16BE(sequence & 0xffff, 2);
        header.writeUInt32BE((sequence * 900) >>> 0, 4);
        header.writeUInt32BE(1000 + i, 8);
        track.sendMessageBinary(Buffer.concat([header, payload]));
      });
    }
  }, TICK_MS);
}

/**
 * Starts the sender with `viewers` tracks of `bitrate` bit/s, connects them to receivers here,
 * measures the sender's CPU over `seconds` silent and `seconds` sending; resolves with its share of a core per viewer per Mbit/s
 * (in %) and the packets the receivers got, then stops both sides.
 */
export async function measureDatachannelFloor(viewers: number, bitrate: number, seconds: number): Promise<{ percentPerMbit: number; received: number; attempts: number }> {
  // libdatachannel now and then fails to connect a peer on loopback ("remote candidate without ICE
  // transport") or never opens a track: another attempt with new peer connections goes through.
  const failures: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return { ...(await measureOnce(viewers, bitrate, seconds)), attempts: attempt };
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new Error(`3 attempts failed: ${failures.join('; ')}`);
}

async function measureOnce(viewers: number, bitrate: number, seconds: number): Promise<{ percentPerMbit: number; received: number }> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'sender', String(viewers), String(bitrate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const receivers: Pc[] = [];
  const heldTracks: unknown[] = [];
  let received = 0;
  try {
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the datachannel floor sender exited (${code})`)));
      setTimeout(() => reject(new Error(`the datachannel floor sender's ${viewers} tracks did not open within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS).unref();
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const message = JSON.parse(line) as { sdp?: string; ready?: boolean };
        if (message.ready) return resolve();
        const pc = new PeerConnection(`floor-receiver-${receivers.length}`, { iceServers: [], bindAddress: '127.0.0.1' });
        receivers.push(pc);
        // Held: node-datachannel stops calling back a Track that was garbage collected.
        pc.onTrack((track) => { heldTracks.push(track); track.onMessage(() => { received++; }); });
        pc.setRemoteDescription(message.sdp!, 'offer');
        void gathered(pc).then((sdp) => child.stdin!.write(`${JSON.stringify({ sdp })}\n`));
      });
    });
    await ready;
    await sleep(2000);
    const share = async (): Promise<number> => {
      const before = treeCpuSeconds(child.pid!);
      const started = performance.now();
      await sleep(seconds * 1000);
      return (treeCpuSeconds(child.pid!) - before) / ((performance.now() - started) / 1000);
    };
    // Connected but silent, then sending: the difference is what sending costs, as the edge's figure is.
    const silent = await share();
    child.stdin!.write(`${JSON.stringify({ go: true })}\n`);
    await sleep(1000);
    const sending = await share();
    return { percentPerMbit: ((sending - silent) * 100) / viewers / (bitrate / 1e6), received };
  } finally {
    child.kill('SIGKILL');
    for (const pc of receivers) pc.close();
  }
}

if (process.argv[2] === 'sender') await runSender(Number(process.argv[3]), Number(process.argv[4]));
