/**
 * The ffmpeg wrapper (common/ffmpeg.ts): the argument builder's order, a run that succeeds, a
 * failure reported with the tail of stderr, a missing binary reported (not thrown), and stop().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ffmpegArgs, FfmpegProcess, type FfmpegExit } from '#common/ffmpeg.ts';

test('ffmpegArgs puts global options, then each input and each output with its options', () => {
  assert.deepEqual(ffmpegArgs({ global: ['-nostdin'], inputs: [{ options: ['-f', 'flv'], url: 'pipe:0' }], outputs: [{ options: ['-c', 'copy'], url: 'out.flv' }] }),
    ['-hide_banner', '-loglevel', 'warning', '-nostdin', '-f', 'flv', '-i', 'pipe:0', '-c', 'copy', 'out.flv']);
});

test('a run that ends by itself, a failing run with its stderr, a missing binary, and stop()', async () => {
  const ok = new FfmpegProcess({ inputs: [{ options: ['-f', 'lavfi'], url: 'sine=duration=0.1' }], outputs: [{ options: ['-f', 'null'], url: '-' }] });
  const [okExit] = (await once(ok, 'exit')) as [FfmpegExit];
  assert.equal(okExit.code, 0);
  assert.equal(okExit.reason, 'exited with code 0');

  const bad = new FfmpegProcess({ inputs: [{ options: ['-f', 'flv'], url: '/nonexistent/input.flv' }], outputs: [{ options: ['-f', 'null'], url: '-' }] });
  const [badExit] = (await once(bad, 'exit')) as [FfmpegExit];
  assert.notEqual(badExit.code, 0);
  assert.match(badExit.stderr, /No such file or directory/);

  const missing = new FfmpegProcess({ inputs: [], outputs: [] }, '/nonexistent/ffmpeg');
  const [missingExit] = (await once(missing, 'exit')) as [FfmpegExit];
  assert.match(missingExit.reason, /could not start ffmpeg/);

  const endless = new FfmpegProcess({ inputs: [{ options: ['-f', 'flv'], url: 'pipe:0' }], outputs: [{ options: ['-f', 'null'], url: '-' }] });
  endless.stdin.write(Buffer.from('FLV'));
  endless.stop();
  const [stopped] = (await once(endless, 'exit')) as [FfmpegExit];
  assert.equal(stopped.requested, true);
  assert.equal(stopped.reason, 'stopped');
});
