/**
 * Who is speaking, from audio levels: the page reads every stream's cumulative audio energy and
 * duration (WebRTC getStats: `totalAudioEnergy`, `totalSamplesDuration` of what it plays and of its
 * own microphone) a few times a second; the level over each interval is smoothed (quick to rise,
 * slow to fall) and the speaker is the loudest stream above a threshold, kept for a moment after it
 * goes quiet and while nobody is clearly louder, so the highlight does not flicker between words or
 * between two people talking at once. Pure (the clock is a parameter) and unit-tested in Node.
 */

/** Cumulative audio counters of one stream, as getStats gives them. */
export interface AudioSample {
  totalAudioEnergy: number;
  totalSamplesDuration: number;
}

/** The RMS level (0..1) between two readings of a stream's counters; 0 when no audio time passed or the counters restarted. */
export function intervalLevel(previous: AudioSample, next: AudioSample): number {
  const seconds = next.totalSamplesDuration - previous.totalSamplesDuration;
  const energy = next.totalAudioEnergy - previous.totalAudioEnergy;
  if (!(seconds > 0) || energy < 0) return 0;
  // totalAudioEnergy sums level² × duration: the mean square over the interval is energy / seconds.
  return Math.min(1, Math.sqrt(energy / seconds));
}

export interface SpeakerOptions {
  /** Share of a rise taken at once (0..1]. */
  attack?: number;
  /** Share of a fall taken at once (0..1]: lower than attack, so a voice's pauses do not drop the level. */
  release?: number;
  /** Smoothed level from which a stream counts as speaking (0.01 is about -40 dBFS). */
  threshold?: number;
  /** A speaker stays highlighted this long after going below the threshold. */
  holdMs?: number;
  /** Another speaker takes over only when this many times louder than the current one. */
  switchRatio?: number;
}

interface StreamLevel {
  last: AudioSample;
  smoothed: number;
  /** When it was last above the threshold (ms), or -Infinity. */
  loudAt: number;
}

export class SpeakerDetector {
  readonly #attack: number;
  readonly #release: number;
  readonly #threshold: number;
  readonly #holdMs: number;
  readonly #switchRatio: number;
  readonly #streams = new Map<string, StreamLevel>();
  #speaker: string | null = null;

  constructor(options: SpeakerOptions = {}) {
    this.#attack = options.attack ?? 0.7;
    this.#release = options.release ?? 0.5;
    this.#threshold = options.threshold ?? 0.01;
    this.#holdMs = options.holdMs ?? 1000;
    this.#switchRatio = options.switchRatio ?? 2;
  }

  /** The current speaker (a stream), or null. */
  get speaker(): string | null { return this.#speaker; }

  /** A stream's smoothed level (0 if unknown). */
  level(stream: string): number { return this.#streams.get(stream)?.smoothed ?? 0; }

  /** Takes a reading of every stream at `now` (ms); streams not in it are forgotten. Returns the speaker. */
  update(now: number, readings: ReadonlyMap<string, AudioSample>): string | null {
    for (const stream of this.#streams.keys()) if (!readings.has(stream)) this.#streams.delete(stream);
    for (const [stream, sample] of readings) {
      const known = this.#streams.get(stream);
      if (!known) {
        this.#streams.set(stream, { last: sample, smoothed: 0, loudAt: -Infinity });
        continue;
      }
      const level = intervalLevel(known.last, sample);
      known.smoothed += (level > known.smoothed ? this.#attack : this.#release) * (level - known.smoothed);
      known.last = sample;
      if (known.smoothed >= this.#threshold) known.loudAt = now;
    }
    const speaking = [...this.#streams].filter(([, s]) => now - s.loudAt <= this.#holdMs);
    const loudest = speaking.reduce<[string, StreamLevel] | null>((best, entry) => (best === null || entry[1].smoothed > best[1].smoothed ? entry : best), null);
    const current = this.#speaker === null ? undefined : speaking.find(([stream]) => stream === this.#speaker);
    if (current && (!loudest || loudest[1].smoothed < current[1].smoothed * this.#switchRatio)) return this.#speaker;
    this.#speaker = loudest?.[0] ?? null;
    return this.#speaker;
  }
}
