/**
 * The start-up ffmpeg check: the machine's real ffmpeg (Debian's, with libx264, libopus and aac)
 * enables everything; a missing binary, one that fails, and one without libopus (a stand-in script
 * printing a real encoder list minus that line) each disable exactly the features that need what
 * is missing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { capabilitiesOf, checkFfmpeg, FFMPEG_FEATURES, parseEncoderList } from '#common/ffmpeg-capabilities.ts';
import { run, stopAll, tempDir } from '../support/processes.ts';

after(stopAll);

/** A stand-in for ffmpeg: a shell script that prints `stdout`, `stderr` and exits with `code`. */
function fakeFfmpeg(stdout: string, code = 0, stderr = ''): string {
  const dir = tempDir('cg-fake-ffmpeg-');
  writeFileSync(join(dir, 'out.txt'), stdout);
  writeFileSync(join(dir, 'err.txt'), stderr);
  const script = join(dir, 'ffmpeg');
  writeFileSync(script, `#!/bin/sh\ncat '${join(dir, 'out.txt')}'\ncat '${join(dir, 'err.txt')}' >&2\nexit ${code}\n`);
  chmodSync(script, 0o755);
  return script;
}

test('the encoder list: names after the legend, legend lines left out', () => {
  const names = parseEncoderList([
    'Encoders:', ' V..... = Video', ' A..... = Audio', ' ------',
    ' V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)',
    ' A..... aac                  AAC (Advanced Audio Coding)',
    ' A....X opus                 Opus',
  ].join('\n'));
  assert.deepEqual([...names].sort(), ['aac', 'libx264', 'opus']);
  assert.deepEqual(parseEncoderList('no list at all'), new Set());
});

test('the real ffmpeg has every encoder: nothing is disabled', async () => {
  const capabilities = await checkFfmpeg();
  assert.equal(capabilities.found, true, capabilities.problem ?? '');
  assert.deepEqual(capabilities.encoders, { libx264: true, libopus: true, aac: true });
  assert.deepEqual(capabilities.disabled, []);
});

test('no ffmpeg: every feature that transcodes is disabled, and why', async () => {
  const capabilities = await checkFfmpeg(join(tempDir(), 'no-ffmpeg-here'));
  assert.equal(capabilities.found, false);
  assert.match(capabilities.problem ?? '', /ENOENT/);
  assert.deepEqual(capabilities.disabled.map((d) => d.feature), FFMPEG_FEATURES.map((f) => f.feature));
});

test('an ffmpeg that fails is reported with its last words', async () => {
  const capabilities = await checkFfmpeg(fakeFfmpeg('', 1, 'error while loading shared libraries: libx264.so.164'));
  assert.equal(capabilities.found, false);
  assert.match(capabilities.problem ?? '', /exited with code 1: error while loading shared libraries/);
  assert.equal(capabilities.disabled.length, FFMPEG_FEATURES.length);
});

test('an ffmpeg without libopus: only the features that need it are disabled', async () => {
  const real = await run('ffmpeg', ['-hide_banner', '-encoders']);
  const withoutOpus = real.stdout.split('\n').filter((line) => !/\slibopus\s/.test(line)).join('\n');
  const capabilities = await checkFfmpeg(fakeFfmpeg(withoutOpus));
  assert.equal(capabilities.found, true);
  assert.deepEqual(capabilities.encoders, { libx264: true, libopus: false, aac: true });
  assert.deepEqual(capabilities.disabled, FFMPEG_FEATURES.filter((f) => f.needs.includes('libopus')).map((f) => ({ feature: f.feature, missing: ['libopus'] })));
  assert.ok(capabilities.disabled.length > 0 && capabilities.disabled.length < FFMPEG_FEATURES.length);
  // The same answer from the pure part, without a process.
  assert.deepEqual(capabilitiesOf(parseEncoderList(withoutOpus)), capabilities);
});
