/**
 * The browser side of the WebRTC benchmark: a page served on an edge's HTTP origin (so WHIP/WHEP
 * are same-origin requests) that publishes a canvas whose frames carry their drawing time in pixels
 * (frame-stamp.ts) with WHIP, and plays streams with WHEP, reading the stamp of each displayed frame
 * (requestVideoFrameCallback, then the frame drawn to a canvas) against Date.now(). Times are ms since
 * the bench's epoch. Several players may share one page (CPU runs: N viewers, no stamp reading).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { SIGNAL_SCRIPT } from '../../test/support/webrtc-page.ts';
import { readStamp, writeStamp } from './frame-stamp.ts';
import type { StampSample } from './stamped-media.ts';

const PAGE_SCRIPT = `${SIGNAL_SCRIPT}
  const writeStamp = ${writeStamp.toString()};
  const readStamp = ${readStamp.toString()};
  const since = () => Date.now() - window.benchEpoch;
  /** Every peer connection of this page with its WHIP/WHEP Location, and what its stamp reader saw. */
  window.peers = [];

  window.publishCanvas = async (url, maxBitrate) => {
    const width = 640, height = 360, noiseTop = 120;
    const canvas = document.createElement('canvas');
    canvas.width = width; canvas.height = height;
    const context = canvas.getContext('2d');
    // Below the stamp, a noise texture scrolling sideways: detail a camera would have, that the
    // encoder can follow by motion (fresh noise every frame makes OpenH264 drop most frames).
    const band = height - noiseTop;
    const grain = document.createElement('canvas');
    grain.width = width; grain.height = band / 2;
    const image = grain.getContext('2d').createImageData(grain.width, grain.height);
    for (let at = 0; at < image.data.length; at += 65536) crypto.getRandomValues(image.data.subarray(at, at + 65536));
    for (let alpha = 3; alpha < image.data.length; alpha += 4) image.data[alpha] = 255;
    grain.getContext('2d').putImageData(image, 0, 0);
    const texture = document.createElement('canvas');
    texture.width = 2 * width; texture.height = band;
    texture.getContext('2d').drawImage(grain, 0, 0, width, band);
    texture.getContext('2d').drawImage(grain, width, 0, width, band);
    // And a patch of fresh noise every frame, which no motion predicts: what brings the encoder up to its bitrate.
    const patch = context.createImageData(160, 120);
    let frame = 0;
    const fill = (x, y, w, h, luma) => { context.fillStyle = 'rgb(' + luma + ',' + luma + ',' + luma + ')'; context.fillRect(x, y, w, h); };
    const draw = () => {
      context.fillStyle = '#808080';
      context.fillRect(0, 0, width, noiseTop);
      context.drawImage(texture, -((frame++ * 4) % width), noiseTop);
      crypto.getRandomValues(patch.data.subarray(0, 65536));
      crypto.getRandomValues(patch.data.subarray(65536));
      for (let alpha = 3; alpha < patch.data.length; alpha += 4) patch.data[alpha] = 255;
      context.putImageData(patch, width - patch.width, height - patch.height);
      writeStamp(since(), width, height, fill);
    };
    draw();
    window.drawTimer = setInterval(draw, 1000 / 30);
    const track = canvas.captureStream(30).getVideoTracks()[0];
    const pc = new RTCPeerConnection();
    // The edge's REMB (--webrtc-max-bitrate) lets Chromium leave its ~0.3 Mbit/s start rate; maxBitrate caps it.
    const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
    transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => /h264|rtx/i.test(c.mimeType)));
    const location = await window.signal(pc, url);
    const parameters = transceiver.sender.getParameters();
    for (const encoding of parameters.encodings) encoding.maxBitrate = maxBitrate;
    await transceiver.sender.setParameters(parameters);
    window.peers.push({ pc, url, location, samples: [], unreadable: 0 });
    return location;
  };

  window.play = async (url, readStamps) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    const location = await window.signal(pc, url);
    const peer = { pc, url, location, samples: [], unreadable: 0 };
    window.peers.push(peer);
    if (!readStamps) return;
    const video = document.createElement('video');
    video.muted = true; video.autoplay = true; video.playsInline = true;
    document.body.append(video);
    video.srcObject = new MediaStream([pc.getReceivers()[0].track]);
    const readWidth = 320, readHeight = 180;
    const canvas = document.createElement('canvas');
    canvas.width = readWidth; canvas.height = readHeight;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    let last = -1;
    const onFrame = () => {
      const at = since();
      context.drawImage(video, 0, 0, readWidth, readHeight);
      const pixels = context.getImageData(0, 0, readWidth, readHeight).data;
      // Green is the closest channel to luma.
      const stamp = readStamp(readWidth, readHeight, (x, y) => pixels[(y * readWidth + x) * 4 + 1]);
      if (stamp === null) peer.unreadable++;
      else if (stamp !== last) peer.samples.push([at, at - stamp]);
      if (stamp !== null) last = stamp;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };

  window.readings = () => window.peers.map((p) => ({ samples: p.samples, unreadable: p.unreadable }));

  window.received = () => Promise.all(window.peers.map(async (p) => {
    const counters = { bytes: 0, frames: 0, state: p.pc.connectionState };
    for (const report of (await p.pc.getStats()).values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'video') { counters.bytes = report.bytesReceived; counters.frames = report.framesDecoded ?? 0; }
      if (report.type === 'outbound-rtp' && report.kind === 'video') { counters.bytes = report.bytesSent; counters.frames = report.framesEncoded ?? 0; }
    }
    return counters;
  }));

  window.hangUp = async () => {
    clearInterval(window.drawTimer);
    const peers = window.peers.splice(0);
    await Promise.all(peers.map(async (p) => {
      p.pc.close();
      if (p.location) await fetch(new URL(p.location, p.url), { method: 'DELETE' }).catch(() => undefined);
    }));
  };
`;

/** One peer connection's stamp readings. */
export interface PeerReadings { samples: StampSample[]; unreadable: number }
/** One peer connection's video counters from getStats (sent for a publisher, received and decoded for a player). */
export interface PeerCounters { bytes: number; frames: number; state: string }

const EVALUATE_TIMEOUT_MS = 30_000;

/** A bench page open on one edge. */
export class BenchPage {
  readonly #page: Page;
  readonly #base: string;

  private constructor(page: Page, base: string) {
    this.#page = page;
    this.#base = base;
  }

  /** Opens the page on `base` (an edge's http://127.0.0.1:PORT); stamps count from `epoch` (Date.now()). */
  static async open(browser: BrowserContext, base: string, epoch: number): Promise<BenchPage> {
    const page = await browser.newPage();
    await page.route(`${base}/webrtc-bench.html`, (route) => route.fulfill({
      contentType: 'text/html', body: `<!doctype html><title>webrtc bench</title><script>window.benchEpoch = ${epoch};${PAGE_SCRIPT}</script>`,
    }));
    await page.goto(`${base}/webrtc-bench.html`);
    return new BenchPage(page, base);
  }

  /** Publishes the stamped canvas (H.264) with WHIP to `path` (/whip/APP/STREAM) at most at `maxBitrate` bit/s; resolves with the Location. */
  publish(path: string, maxBitrate: number): Promise<string> {
    return this.#withDeadline(`publish ${path}`, this.#page.evaluate(([url, bitrate]) => (globalThis as unknown as PageApi).publishCanvas(url, bitrate), [`${this.#base}${path}`, maxBitrate] as const));
  }

  /** Plays `path` (/whep/APP/STREAM, video only) with WHEP, reading stamps when `readStamps`; rejects with the edge's refusal. */
  play(path: string, readStamps: boolean): Promise<void> {
    return this.#withDeadline(`play ${path}`, this.#page.evaluate(([url, read]) => (globalThis as unknown as PageApi).play(url, read), [`${this.#base}${path}`, readStamps] as const));
  }

  /** Every peer connection's stamp readings, in the order they were opened. */
  readings(): Promise<PeerReadings[]> {
    return this.#withDeadline('readings', this.#page.evaluate(() => (globalThis as unknown as PageApi).readings()));
  }

  /** Every peer connection's video counters, in the order they were opened. */
  counters(): Promise<PeerCounters[]> {
    return this.#withDeadline('counters', this.#page.evaluate(() => (globalThis as unknown as PageApi).received()));
  }

  /** Ends every session (DELETE on its Location) and closes the page. */
  async close(): Promise<void> {
    await this.#withDeadline('hang up', this.#page.evaluate(() => (globalThis as unknown as PageApi).hangUp())).catch(() => undefined);
    await this.#page.close();
  }

  /** A page.evaluate with a deadline: a page stuck in signalling fails the bench with what it was doing. */
  async #withDeadline<R>(what: string, evaluation: Promise<R>): Promise<R> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`browser page: ${what} took over ${EVALUATE_TIMEOUT_MS} ms`)), EVALUATE_TIMEOUT_MS);
    });
    try {
      // The loser of the race must not become an unhandled rejection once the page is closed.
      evaluation.catch(() => undefined);
      return await Promise.race([evaluation, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface PageApi {
  publishCanvas(url: string, maxBitrate: number): Promise<string>;
  play(url: string, readStamps: boolean): Promise<void>;
  readings(): PeerReadings[];
  received(): Promise<PeerCounters[]>;
  hangUp(): Promise<void>;
}
