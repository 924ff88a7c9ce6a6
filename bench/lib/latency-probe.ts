/**
 * A player inside a benchmark's own process that notes when each audio and video message arrives,
 * for the latency a server adds to a real publisher's stream (bench:fanout: ffmpeg -re, whatever
 * its TCP does, Nagle's algorithm included).
 *
 * A publisher that sends in real time makes a message's arrival time minus its timestamp the path's
 * latency plus a constant. The constant is taken out as the smallest such value among the same
 * kind's messages within two seconds either side (the best case nearby: a message that was not
 * held), which also follows the jump ffmpeg's -stream_loop makes at each loop. What is left, per
 * message, is how long it waited beyond the best case: the publisher's own jitter plus what the
 * server held it for. Against a server that holds nothing, measured the same way in the same run,
 * the difference is the latency the server adds.
 */
import { RtmpClient } from '#common/rtmp-client.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { percentile } from '../../test/support/synthetic-publisher.ts';

/** How far either side of a message its best case is looked for. */
const BASELINE_WINDOW_MS = 2000;

export interface LatencySummary {
  /** Audio and video messages noted. */
  messages: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface Arrival {
  at: number;
  /** Arrival minus the message's timestamp. */
  offset: number;
}

export class LatencyProbe {
  readonly #client: RtmpClient;
  readonly #arrivals = new Map<number, Arrival[]>([[MessageType.Audio, []], [MessageType.Video, []]]);
  #noting = false;

  private constructor(client: RtmpClient) {
    this.#client = client;
    client.on('media', (message) => {
      if (!this.#noting) return;
      const at = performance.now();
      this.#arrivals.get(message.type)?.push({ at, offset: at - message.timestamp });
    });
  }

  /** Plays `stream` of the application at `appUrl` (rtmp://host:port/app) until closed. */
  static async play(appUrl: string, stream: string): Promise<LatencyProbe> {
    const { client } = await RtmpClient.connect(appUrl);
    const probe = new LatencyProbe(client);
    const streamId = await client.createStream();
    client.streamCommand(streamId, 'play', stream, -2000);
    await client.waitForStatus(streamId, 'NetStream.Play.Start');
    return probe;
  }

  /** Notes arrivals from now on (the measured window), forgetting any before. */
  begin(): void {
    for (const arrivals of this.#arrivals.values()) arrivals.length = 0;
    this.#noting = true;
  }

  /** Stops noting; what each message waited beyond its best case nearby. */
  end(): LatencySummary {
    this.#noting = false;
    const waits = [...this.#arrivals.values()].flatMap(waitsBeyondBest);
    return { messages: waits.length, p50Ms: percentile(waits, 50), p99Ms: percentile(waits, 99), maxMs: waits.length ? Math.max(...waits) : NaN };
  }

  close(): void {
    this.#client.close();
  }
}

/** Each arrival's offset minus the smallest offset within BASELINE_WINDOW_MS of it (arrivals in time order). */
function waitsBeyondBest(arrivals: readonly Arrival[]): number[] {
  const waits: number[] = [];
  let from = 0;
  let to = 0;
  for (const arrival of arrivals) {
    while (arrivals[from]!.at < arrival.at - BASELINE_WINDOW_MS) from++;
    while (to < arrivals.length && arrivals[to]!.at <= arrival.at + BASELINE_WINDOW_MS) to++;
    let best = Infinity;
    for (let i = from; i < to; i++) best = Math.min(best, arrivals[i]!.offset);
    waits.push(arrival.offset - best);
  }
  return waits;
}
