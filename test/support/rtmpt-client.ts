/**
 * The client side of RTMPT for tests: `rtmptRequest` (one raw request, for garbage and abandoned
 * sessions) and RtmptClientStream, a Duplex whose writes go to the edge as /send requests and whose
 * reads are what each reply carries after its polling-delay byte; with nothing to send it polls
 * /idle, one request at a time, as ffmpeg does. The project's RtmpClient runs over it
 * (`connectRtmpt`), so calls and shared objects can be made over RTMPT, which ffmpeg cannot do.
 */
import { Duplex } from 'node:stream';
import { RtmpClient, type RtmpClientOptions } from '#common/rtmp-client.ts';
import type { AmfObject } from '#protocol/amf/types.ts';

export interface RtmptReply {
  status: number;
  body: Buffer;
}

/** One request to the edge's HTTP port (`base`: http://HOST:PORT); RTMPT clients send a 0 byte when they have nothing. */
export async function rtmptRequest(base: string, path: string, body: Buffer = Buffer.of(0), method = 'POST'): Promise<RtmptReply> {
  const response = await fetch(`${base}${path}`, {
    method, body: method === 'GET' || method === 'HEAD' ? undefined : body, headers: { 'content-type': 'application/x-fcs' },
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

/** POST /open/1: the new session's id. */
export async function openRtmptSession(base: string): Promise<string> {
  const reply = await rtmptRequest(base, '/open/1');
  if (reply.status !== 200) throw new Error(`open: HTTP ${reply.status} ${reply.body.toString()}`);
  return reply.body.toString().trim();
}

/** Wait after a reply that brought nothing, before the next idle poll (ffmpeg waits 50 ms). */
const IDLE_POLL_MS = 20;

export class RtmptClientStream extends Duplex {
  readonly base: string;
  readonly sessionId: string;
  /** At least this long between requests, whatever there is to send or read: a slow poller (0: poll at once). */
  throttleMs = 0;
  #sequence = 0;
  #outgoing: Buffer[] = [];
  #wake: (() => void) | null = null;

  static async open(base: string): Promise<RtmptClientStream> {
    return new RtmptClientStream(base, await openRtmptSession(base));
  }

  private constructor(base: string, sessionId: string) {
    super();
    this.base = base;
    this.sessionId = sessionId;
    this.#pump().catch((error: Error) => this.destroy(error));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#outgoing.push(chunk);
    if (this.throttleMs === 0) this.#wake?.();
    callback();
  }

  override _read(): void {}

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Tell the server, as ffmpeg does on close (best effort: the session may be gone already).
    rtmptRequest(this.base, `/close/${this.sessionId}/${this.#sequence++}`).catch(() => undefined);
    this.#wake?.();
    callback(error);
  }

  /** One request at a time: what was written (send), else a poll (idle); reply bytes are pushed to the reader. */
  async #pump(): Promise<void> {
    while (!this.destroyed) {
      const command = this.#outgoing.length > 0 ? 'send' : 'idle';
      const body = command === 'send' ? Buffer.concat(this.#outgoing.splice(0)) : Buffer.of(0);
      const reply = await rtmptRequest(this.base, `/${command}/${this.sessionId}/${this.#sequence++}`, body);
      if (this.destroyed) return;
      if (reply.status !== 200) throw new Error(`RTMPT ${command}: HTTP ${reply.status} ${reply.body.toString().trim()}`);
      if (reply.body.length === 1 && reply.body[0] === 0) return void this.destroy(); // the server closed the session
      if (reply.body.length > 1) this.push(reply.body.subarray(1));
      const wait = Math.max(this.throttleMs, reply.body.length > 1 || this.#outgoing.length > 0 ? 0 : IDLE_POLL_MS);
      if (wait > 0) await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.#wake = null; resolve(); }, wait);
        this.#wake = () => { clearTimeout(timer); this.#wake = null; resolve(); };
      });
    }
  }
}

/** RtmpClient over RTMPT: opens a session at `rtmpt://HOST:PORT/app...`, handshakes and connects to the app. */
export async function connectRtmpt(url: string, options: RtmpClientOptions = {}): Promise<{ client: RtmpClient<RtmptClientStream>; info: AmfObject }> {
  const { host } = new URL(url);
  const client = await RtmpClient.over(await RtmptClientStream.open(`http://${host}`), options);
  return client.connectUrl(url, options);
}
