/**
 * Lip sync, measured: Chromium's fake camera and microphone play a source where a white flash and a
 * beep start together once a second (test/support/av-sync.ts); the page publishes it with WHIP to
 * edge A (H.264 and Opus); ffmpeg records it over RTMP from edge B (H.264 and AAC) and the flashes
 * and beeps found in the recording are paired: every beep comes within 100 ms of its flash (the
 * issue's goal is 50 ms; the figures are printed).
 * Run by whip-av-sync.test.ts inside a loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertInSync, formatAvSync, recordAvSync, writeFlashBeepSource } from '../support/av-sync.ts';
import { browserClusterPerFile, fakeCaptureFileArgs } from '../support/chromium.ts';
import { probeStreams, tempDir } from '../support/processes.ts';
import { openWhipPublisher } from '../support/webrtc-page.ts';

const fixture = browserClusterPerFile(['sync-a', 'sync-b'], { edgeArgs: ['--webrtc-bind', '127.0.0.1', '--keyframe-interval-ms', '1000'] },
  async () => fakeCaptureFileArgs(await writeFlashBeepSource(tempDir('cg-av-sync-'))));
const edgeA = () => fixture.cluster.edges[0]!;
const edgeB = () => fixture.cluster.edges[1]!;
/** Seconds of the stream recorded: about 15 flash/beep pairs. */
const RECORD_SECONDS = 15;
/** The most a beep may be off its flash in the test; the goal is 50 ms. */
const LIMIT_MS = 100;
/**
 * Until two of Chromium's RTCP sender reports per track confirm its wallclock (about two seconds),
 * the edge places each track by arrival, and the video encoder's start-up delay puts the first
 * pairs up to 250 ms apart: judged from here on (the start is issue 10's open point).
 */
const SETTLE_SECONDS = 3;

test('a browser publishes with WHIP to edge A; ffmpeg through edge B gets H.264 and AAC in sync (flash/beep offsets measured)', async () => {
  const base = `http://127.0.0.1:${edgeA().httpPort}`;
  const { page, location } = await openWhipPublisher(fixture.browser, base, `${base}/whip/live/synccam`);
  assert.match(location, /^\/whip\/resource\/\d+$/);
  const { file, report } = await recordAvSync(`${edgeB().base}/live/synccam`, RECORD_SECONDS, tempDir('cg-av-sync-rec-'));
  const streams = await probeStreams(file);
  assert.ok(streams.includes('h264,640,360') && streams.includes('aac,48000'), `ffprobe of the recording: ${streams.join(' ')}`);
  console.log(`lip sync, Chromium -> WHIP edge A -> origin -> edge B -> ffmpeg (RTMP): ${formatAvSync(report)} (goal: within 50 ms)`);
  assertInSync(report, RECORD_SECONDS, LIMIT_MS, SETTLE_SECONDS);
  await page.close();
});
