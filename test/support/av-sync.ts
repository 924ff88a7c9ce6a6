/**
 * Audio/video sync measured on real media, for tests and benches: a source where a white flash and
 * a 1 kHz beep start at the same instants (once a second; as ffmpeg filters here, made by a browser
 * page in flash-beep-page.ts), and the analysis of a recording of it:
 * flash onsets from each frame's mean luma (ffmpeg signalstats), beep onsets from the audio's RMS
 * amplitude in 5 ms windows (ffmpeg astats), both read by ffprobe on the file's own timeline, paired, and the
 * offset of each pair (audio minus video: positive when the sound comes late).  A recording of a
 * stream (recordAvSync) and the test's check (assertInSync) too.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from './processes.ts';

/** Events start this often in the source (s); pairs are matched within half of it. */
export const SYNC_PERIOD_S = 1;
/** How long each flash and beep lasts (s). */
export const SYNC_EVENT_S = 0.1;
/** The beep's pitch. */
export const BEEP_HZ = 1000;
/** Audio analysis window: 240 samples at 48 kHz. */
const AUDIO_WINDOW_SAMPLES = 240;
/**
 * A beep starts where the level passes a tenth of its peak amplitude (20 dB below it). On a linear
 * scale, not in dB: the codecs' noise floor between beeps (-100 to -130 dB, then digital silence
 * once Opus stops sending it) would drag a dB range's middle down into that noise and make onsets of it.
 */
const BEEP_ONSET_LEVEL = 0.1;

/**
 * ffmpeg lavfi sources of the flashes (30 fps) and beeps (48 kHz), for `seconds`, for any encoder to
 * take (a browser makes the same source itself: flash-beep-page.ts).
 */
export function flashBeepFilters(seconds: number, width = 640, height = 360): { video: string; audio: string } {
  return {
    video: `color=c=black:s=${width}x${height}:r=30:d=${seconds},drawbox=c=white:t=fill:enable='lt(mod(t,${SYNC_PERIOD_S}),${SYNC_EVENT_S})'`,
    audio: `aevalsrc='if(lt(mod(t,${SYNC_PERIOD_S}),${SYNC_EVENT_S}),0.5*sin(2*PI*${BEEP_HZ}*t),0)':s=48000:d=${seconds}`,
  };
}

/** A value per instant: [time in s, value]. */
export type Series = Array<[number, number]>;

/**
 * Where `series` rises through `level` of its range (0.5: the middle; from below to above), each at
 * least `minGap` s after the previous one: the starts of flashes or beeps.
 */
export function onsets(series: Series, minGap = SYNC_PERIOD_S / 2, level = 0.5): number[] {
  const values = series.map(([, v]) => v).filter(Number.isFinite);
  if (values.length === 0) return [];
  const low = Math.min(...values);
  const high = Math.max(...values);
  if (high - low <= 0) return [];
  const threshold = low + (high - low) * level;
  const found: number[] = [];
  let above = true; // an event under way when the series starts has no onset in it
  for (const [time, value] of series) {
    const now = Number.isFinite(value) ? value > threshold : false;
    if (now && !above && (found.length === 0 || time - found.at(-1)! >= minGap)) found.push(time);
    above = now;
  }
  return found;
}

async function probeSeries(filtergraph: string, tag: string): Promise<Series> {
  const result = await run('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', filtergraph,
    '-show_entries', `frame=best_effort_timestamp_time:frame_tags=${tag}`, '-of', 'csv=p=0'], 120_000);
  if (result.code !== 0) throw new Error(`ffprobe ${filtergraph}: ${result.stderr}`);
  return result.stdout.split('\n').flatMap((line) => {
    const [time, value] = line.split(',');
    // astats writes -inf for digital silence.
    return time && value ? [[Number(time), value === '-inf' ? -Infinity : Number(value)] as [number, number]] : [];
  });
}

/** A path as a filtergraph's movie= argument (temp paths need no escaping; others are refused rather than escaped wrong). */
function filterPath(file: string): string {
  if (/[\\':,;[\]=\s]/.test(file)) throw new Error(`a path the analysis cannot pass to ffmpeg's movie filter: ${file}`);
  return file;
}

/** Mean luma of every video frame of `file`, at its time on the file's timeline. */
export function lumaSeries(file: string): Promise<Series> {
  return probeSeries(`movie=${filterPath(file)},signalstats`, 'lavfi.signalstats.YAVG');
}

/** Audio level (RMS amplitude, 1 = full scale; 0 for digital silence) of `file` in 5 ms windows, at their times on the file's timeline. */
export async function levelSeries(file: string): Promise<Series> {
  const decibels = await probeSeries(`amovie=${filterPath(file)},aresample=48000,asetnsamples=n=${AUDIO_WINDOW_SAMPLES},astats=metadata=1:reset=1`, 'lavfi.astats.Overall.RMS_level');
  return decibels.map(([time, db]) => [time, 10 ** (db / 20)]);
}

export interface AvSyncPair { video: number; audio: number; offsetMs: number }

/** Each flash paired with the beep nearest to it (within half a period); flashes with none are left out. */
export function pairEvents(flashes: readonly number[], beeps: readonly number[]): AvSyncPair[] {
  return flashes.flatMap((video) => {
    const audio = beeps.reduce<number | null>((best, beep) => (best === null || Math.abs(beep - video) < Math.abs(best - video) ? beep : best), null);
    return audio !== null && Math.abs(audio - video) < SYNC_PERIOD_S / 2 ? [{ video, audio, offsetMs: (audio - video) * 1000 }] : [];
  });
}

export interface AvSyncReport {
  pairs: AvSyncPair[];
  flashes: number;
  beeps: number;
  /** Audio minus video over the pairs, in ms. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Max minus min. */
  spreadMs: number;
}

/** The offsets of paired events, summarized. */
export function summarize(flashes: readonly number[], beeps: readonly number[]): AvSyncReport {
  const pairs = pairEvents(flashes, beeps);
  const sorted = pairs.map((p) => p.offsetMs).sort((a, b) => a - b);
  const median = sorted.length === 0 ? NaN : (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
  const min = sorted[0] ?? NaN;
  const max = sorted.at(-1) ?? NaN;
  return { pairs, flashes: flashes.length, beeps: beeps.length, medianMs: median, minMs: min, maxMs: max, spreadMs: max - min };
}

/** Measures a recording of the flash/beep source: flashes and beeps found, their pairs and offsets. */
export async function measureAvSync(file: string): Promise<AvSyncReport> {
  const [luma, level] = await Promise.all([lumaSeries(file), levelSeries(file)]);
  return summarize(onsets(luma), onsets(level, undefined, BEEP_ONSET_LEVEL));
}

/** One line for logs and bench output. */
export function formatAvSync(report: AvSyncReport): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  return `${report.pairs.length} pairs (${report.flashes} flashes, ${report.beeps} beeps): audio - video median ${ms(report.medianMs)}, min ${ms(report.minMs)}, max ${ms(report.maxMs)}, spread ${ms(report.spreadMs)}`;
}

/** Records `seconds` of a playing stream (ffmpeg, stream copy to FLV in `dir`) and measures it: the file and its report. */
export async function recordAvSync(url: string, seconds: number, dir: string): Promise<{ file: string; report: AvSyncReport }> {
  const file = join(dir, 'av-sync.flv');
  const recorded = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-rw_timeout', '10000000', '-i', url,
    '-t', String(seconds), '-c', 'copy', '-f', 'flv', file], (seconds + 30) * 1000);
  if (recorded.code !== 0) throw new Error(`ffmpeg could not record ${url}: ${recorded.stderr}`);
  return { file, report: await measureAvSync(file) };
}

/**
 * How far one pair may stray when the median is in sync: a loaded browser that draws a flash a few frames
 * late (or drops them) moves one pair by ~100 ms; a track the server placed wrongly moves every pair.
 */
const OUTLIER_FACTOR = 2.5;

/**
 * Asserts that a recording of `seconds` had its flashes and beeps found and paired, that the median offset
 * is within `limitMs`, and that no single pair is off by more than OUTLIER_FACTOR times that.
 */
export function assertInSync(report: AvSyncReport, seconds: number, limitMs: number): void {
  console.log(`  offsets (ms): ${report.pairs.map((p) => p.offsetMs.toFixed(0)).join(' ')}`);
  assert.ok(report.pairs.length >= seconds / 2, `flashes and beeps found and paired: ${formatAvSync(report)}`);
  assert.ok(Math.abs(report.medianMs) <= limitMs, `audio is ${report.medianMs.toFixed(1)} ms off video at the median: ${formatAvSync(report)}`);
  for (const pair of report.pairs) {
    assert.ok(Math.abs(pair.offsetMs) <= limitMs * OUTLIER_FACTOR, `beep at ${pair.audio.toFixed(3)} s is ${pair.offsetMs.toFixed(1)} ms off its flash at ${pair.video.toFixed(3)} s: ${formatAvSync(report)}`);
  }
}
