/**
 * The video grid's pure pieces in Node: the audio level over an interval from getStats' cumulative
 * counters, the active speaker (smoothed, held through pauses, not switching for a slightly louder
 * voice), the mute state each member told the classroom on their tiles, and the pinned tile first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalLevel, SpeakerDetector, type AudioSample } from '../../web-client/src/session/active-speaker.ts';
import { pinnedFirst, roomSnapshot } from '../../web-client/src/session/room-model.ts';

test('the level between two readings is the RMS of the audio in between; none when no time passed or the counters restarted', () => {
  // totalAudioEnergy grows by level² × seconds: 0.25² for 2 s.
  assert.equal(intervalLevel({ totalAudioEnergy: 1, totalSamplesDuration: 10 }, { totalAudioEnergy: 1 + 0.0625 * 2, totalSamplesDuration: 12 }), 0.25);
  assert.equal(intervalLevel({ totalAudioEnergy: 1, totalSamplesDuration: 10 }, { totalAudioEnergy: 1, totalSamplesDuration: 10 }), 0);
  assert.equal(intervalLevel({ totalAudioEnergy: 5, totalSamplesDuration: 10 }, { totalAudioEnergy: 0.1, totalSamplesDuration: 1 }), 0, 'a new connection\'s counters');
});

/** Feeds the detector readings every 250 ms in which each stream's audio had the given level. */
function speakerOver(detector: SpeakerDetector, start: number, steps: number, levels: Record<string, number>, counters: Map<string, AudioSample>): string | null {
  let speaker: string | null = null;
  for (let i = 1; i <= steps; i++) {
    for (const [stream, level] of Object.entries(levels)) {
      const last = counters.get(stream) ?? { totalAudioEnergy: 0, totalSamplesDuration: 0 };
      counters.set(stream, { totalAudioEnergy: last.totalAudioEnergy + level * level * 0.25, totalSamplesDuration: last.totalSamplesDuration + 0.25 });
    }
    speaker = detector.update(start + i * 250, counters);
  }
  return speaker;
}

test('the active speaker is the loudest above the threshold, held through a pause, and kept against a voice not clearly louder', () => {
  const detector = new SpeakerDetector({ threshold: 0.01, holdMs: 1000, switchRatio: 2 });
  const counters = new Map<string, AudioSample>();
  assert.equal(speakerOver(detector, 0, 4, { a: 0.001, b: 0.002 }, counters), null, 'room noise is nobody speaking');
  assert.equal(speakerOver(detector, 1000, 4, { a: 0.1, b: 0.002 }, counters), 'a');
  assert.ok(detector.level('a') > 0.05);
  assert.equal(speakerOver(detector, 2000, 2, { a: 0.0, b: 0.002 }, counters), 'a', 'a short pause keeps the highlight');
  assert.equal(speakerOver(detector, 2500, 8, { a: 0.0, b: 0.002 }, counters), null, 'a long silence ends it');
  assert.equal(speakerOver(detector, 4500, 4, { a: 0.1, b: 0.15 }, counters), 'b', 'the louder of two starting together');
  assert.equal(speakerOver(detector, 5500, 4, { a: 0.2, b: 0.15 }, counters), 'b', 'a slightly louder voice does not take over');
  assert.equal(speakerOver(detector, 6500, 4, { a: 0.5, b: 0.05 }, counters), 'a', 'a clearly louder one does');
  counters.delete('a');
  assert.equal(speakerOver(detector, 7500, 1, { b: 0.05 }, counters), 'b', 'a stream that is gone is no longer the speaker');
});

test('tiles carry the mute state their member told the classroom (unknown for one who never did); the pinned tile comes first', () => {
  const roster = {
    c1: { id: 'c1', name: 'Ms Li', role: 'teacher', hand: false, streams: ['li-cam'], joinedAt: 1, audioMuted: false, videoMuted: true },
    c2: { id: 'c2', name: 'Flash', role: 'student', hand: false, streams: ['flash-cam'], joinedAt: 2 },
    c3: { id: 'c3', name: 'Sam', role: 'student', hand: false, streams: [], joinedAt: 3, audioMuted: true, videoMuted: 'yes' },
  };
  const { tiles, participants } = roomSnapshot({ roster }, 'c3');
  assert.deepEqual(tiles.map((t) => [t.key, t.audioMuted, t.videoMuted]), [['li-cam', false, true], ['flash-cam', null, null], ['member:c3', true, null]]);
  assert.equal(participants.find((p) => p.name === 'Sam')?.audioMuted, true);
  assert.deepEqual(pinnedFirst(tiles, 'member:c3').map((t) => t.key), ['member:c3', 'li-cam', 'flash-cam']);
  assert.deepEqual(pinnedFirst(tiles, 'gone').map((t) => t.key), ['li-cam', 'flash-cam', 'member:c3'], 'a pinned tile that left changes nothing');
  assert.deepEqual(pinnedFirst(tiles, null).map((t) => t.key), ['li-cam', 'flash-cam', 'member:c3']);
});
