/**
 * A WHIP publisher built on werift (a WebRTC stack in TypeScript that nobody here wrote), for
 * tests: ffmpeg encodes a test pattern and a tone, or flashes and beeps that start together
 * (test/support/av-sync.ts), as H.264 (libx264 constrained baseline, RTP packetization-mode 1) and
 * Opus (libopus) to RTP on two loopback UDP ports of this process, and werift's tracks
 * send those packets to the edge (werift rewrites SSRC, payload type and sequence numbers to what
 * was negotiated). The offer goes to a WHIP URL with every ICE candidate in it; `close()` sends the
 * WHIP DELETE and stops ffmpeg and the peer connection.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { MediaStreamTrack, RTCPeerConnection, useH264, useOPUS } from 'werift';
import { flashBeepFilters } from '../support/av-sync.ts';
import { stop, track } from '../support/processes.ts';

export interface WeriftWhipOptions {
  /** Seconds of media ffmpeg makes before it stops by itself. */
  seconds: number;
  /** A keyframe every this many frames (30 fps): ffmpeg cannot answer the edge's keyframe requests, so keep it short. */
  gopFrames?: number;
  /** What ffmpeg encodes: a test pattern and a 440 Hz tone (the default), or flashes and beeps that start together (av-sync.ts). */
  source?: 'test-pattern' | 'flash-beep';
  /** A token for the origin, sent as `Authorization: Bearer` with the offer. */
  token?: string;
}

/** The edge answered the offer with something else than 201 Created: its status and reason. */
export class WhipRefusedError extends Error {
  readonly status: number;
  constructor(url: string, status: number, reason: string) {
    super(`${url}: ${status}: ${reason}`);
    this.status = status;
  }
}

/** RTCP packet types (SR, RR, SDES, BYE, APP) sit in the second byte where RTP has marker + payload type. */
const isRtcp = (packet: Buffer) => packet.length >= 2 && packet[1]! >= 200 && packet[1]! <= 204;

/** A UDP socket on a free loopback port whose RTP packets (RTCP dropped) go to `track`. */
async function rtpInput(track: MediaStreamTrack): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('message', (packet) => { if (!isRtcp(packet)) track.writeRtp(packet); });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port };
}

/** ffmpeg sending RTP to `videoPort` and `videoPort`'s twin for audio (its RTCP goes to the same ports and is dropped). */
function encodeToRtp(videoPort: number, audioPort: number, options: WeriftWhipOptions): ChildProcess {
  const rtp = (port: number) => `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=1200`;
  const inputs = options.source === 'flash-beep' ? flashBeepFilters(options.seconds)
    : { video: 'testsrc=size=640x360:rate=30', audio: 'sine=frequency=440:sample_rate=48000' };
  return track(spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', inputs.video, '-f', 'lavfi', '-i', inputs.audio,
    '-t', String(options.seconds),
    '-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
    '-bf', '0', '-g', String(options.gopFrames ?? 30), '-payload_type', '96', '-f', 'rtp', rtp(videoPort),
    '-map', '1:a', '-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '64k', '-payload_type', '111', '-f', 'rtp', rtp(audioPort),
  ], { stdio: ['ignore', 'ignore', 'pipe'] }));
}

export class WeriftWhipPublisher {
  readonly #pc: RTCPeerConnection;
  readonly #sockets: Socket[];
  readonly #ffmpeg: ChildProcess;
  readonly #resource: string;
  #stderr = '';
  #closing: Promise<number> | null = null;

  private constructor(pc: RTCPeerConnection, sockets: Socket[], ffmpeg: ChildProcess, resource: string) {
    this.#pc = pc;
    this.#sockets = sockets;
    this.#ffmpeg = ffmpeg;
    this.#resource = resource;
    ffmpeg.stderr!.on('data', (d) => { this.#stderr += d; });
  }

  /**
   * Offers H.264 + Opus (send only) to `whipUrl`, applies the answer and starts ffmpeg; resolves
   * once the POST succeeded (ICE and DTLS complete afterwards), rejects with a WhipRefusedError (the
   * status and the edge's reason) otherwise.
   */
  static async publish(whipUrl: string, options: WeriftWhipOptions): Promise<WeriftWhipPublisher> {
    const pc = new RTCPeerConnection({
      codecs: { video: [useH264()], audio: [useOPUS()] },
      // Loopback is no host candidate to werift unless named; the tests run in a loopback-only namespace.
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceUseIpv6: false,
      iceInterfaceAddresses: { udp4: '127.0.0.1' },
      // One ICE transport for both tracks: with the default policy werift leaves the unused second one's socket open after close().
      bundlePolicy: 'max-bundle',
    });
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    pc.addTransceiver(video, { direction: 'sendonly' });
    pc.addTransceiver(audio, { direction: 'sendonly' });
    const inputs = [await rtpInput(video), await rtpInput(audio)];
    const sockets = inputs.map((i) => i.socket);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== 'complete') await new Promise<void>((resolve) => pc.iceGatheringStateChange.subscribe((state) => { if (state === 'complete') resolve(); }));
      const headers: Record<string, string> = { 'content-type': 'application/sdp', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
      const response = await fetch(whipUrl, { method: 'POST', headers, body: pc.localDescription!.sdp });
      const body = await response.text();
      if (response.status !== 201) throw new WhipRefusedError(whipUrl, response.status, body.trim());
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      const resource = new URL(response.headers.get('location')!, whipUrl).href;
      return new WeriftWhipPublisher(pc, sockets, encodeToRtp(inputs[0]!.port, inputs[1]!.port, options), resource);
    } catch (error) {
      for (const socket of sockets) socket.close();
      await pc.close();
      throw error;
    }
  }

  /** The WHIP resource (Location) as an absolute URL. */
  get resource(): string { return this.#resource; }
  get connectionState(): string { return this.#pc.connectionState; }
  /** What ffmpeg wrote to stderr (errors only). */
  get ffmpegErrors(): string { return this.#stderr; }

  /**
   * Ends the publish: WHIP DELETE (resolves with its status, or 0 when the edge is gone), then
   * ffmpeg, sockets and the peer connection. Once only: later calls get the first one's result.
   */
  close(): Promise<number> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<number> {
    const status = await fetch(this.#resource, { method: 'DELETE' }).then((r) => r.status, () => 0);
    await stop(this.#ffmpeg);
    for (const socket of this.#sockets) socket.close();
    await this.#pc.close();
    return status;
  }
}
