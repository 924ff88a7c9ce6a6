/** LiveStream and MediaPacket: the late-joiner cache and encode-once fan-out, without sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkDecoder } from '#protocol/rtmp/chunk-decoder.ts';
import { LiveStream, StreamBusyError, type StreamSubscriber } from '#common/media/live-stream.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { MediaBatch } from '#common/media/media-batch.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioFourCc, AudioPacketType, encodeAudioTrackTag } from '#protocol/flv/enhanced-audio.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { aacAudio, avcVideo } from '../support/synthetic-media.ts';

const packet = (m: ReturnType<typeof avcVideo>) => MediaPacket.fromMessage(m);

class Recorder implements StreamSubscriber {
  events: string[] = [];
  packets: MediaPacket[] = [];
  onPublish(_s: LiveStream, startup: MediaPacket[]) { this.events.push(`publish:${startup.length}`); this.packets.push(...startup); }
  onPacket(p: MediaPacket) { this.packets.push(p); }
  onUnpublish() { this.events.push('unpublish'); }
}

test('one encoding per (stream id, chunk size), the same Buffer for every player', () => {
  const p = packet(avcVideo('key', 40, 1, 10_000));
  const a = p.chunks(1, 4096);
  assert.equal(p.chunks(1, 4096), a, 'same Buffer object');
  const other = p.chunks(1, 128);
  assert.notEqual(other, a);
  assert.equal(p.chunks(1, 128), other);
  // The shared bytes are a valid chunk stream on their own (type-0 header, then continuations).
  const [message] = new ChunkDecoder().push(other);
  assert.equal(message!.timestamp, 40);
  assert.ok(message!.payload.equals(p.payload));
});

test('cache keeps headers and the GOP from the latest keyframe only', () => {
  const stream = new LiveStream('live/x', { maxGopBytes: 1_000_000 });
  const owner = {};
  stream.startPublish(owner);
  stream.push(packet(avcVideo('inter', 0, 1)));            // before any keyframe: not cached
  stream.push(packet(avcVideo('header', 0, 1)));
  stream.push(packet(aacAudio('header', 0, 1)));
  stream.push(packet(avcVideo('key', 100, 1)));
  stream.push(packet(avcVideo('inter', 133, 1)));
  stream.push(packet(avcVideo('key', 2000, 1)));
  stream.push(packet(aacAudio('frame', 2010, 1)));
  stream.push(packet(avcVideo('inter', 2033, 1)));
  const joiner = new Recorder();
  stream.subscribe(joiner);
  assert.deepEqual(joiner.events, ['publish:5']);
  assert.deepEqual(joiner.packets.map((p) => [p.kind, p.timestamp, p.isSequenceHeader || p.isKeyframe]), [
    ['video', 2000, true], ['audio', 2000, true], ['video', 2000, true], ['audio', 2010, false], ['video', 2033, false],
  ]);
  assert.throws(() => stream.startPublish({}), StreamBusyError);
});

test('an oversized GOP is dropped rather than grown', () => {
  const stream = new LiveStream('live/big', { maxGopBytes: 50_000 });
  stream.startPublish({});
  stream.push(packet(avcVideo('header', 0, 1)));
  stream.push(packet(avcVideo('key', 0, 1, 30_000)));
  stream.push(packet(avcVideo('inter', 33, 1, 30_000)));
  assert.equal(stream.startupPackets().length, 1, 'only the sequence header is left');
});

test('subscribers hear publish and unpublish; idle when nobody is left', () => {
  const stream = new LiveStream('live/y', { maxGopBytes: 1_000_000 });
  const waiting = new Recorder();
  stream.subscribe(waiting);
  assert.deepEqual(waiting.events, []);
  const owner = {};
  stream.startPublish(owner);
  stream.stopPublish({}); // not the owner: ignored
  assert.equal(stream.isPublished, true);
  let idle = false;
  stream.on('idle', () => { idle = true; });
  stream.stopPublish(owner);
  assert.deepEqual(waiting.events, ['publish:0', 'unpublish']);
  assert.equal(idle, false);
  stream.unsubscribe(waiting);
  assert.equal(idle, true);
});

test('a joiner starts at the cached GOP, else at the latest media (headers restamped there, not 0); nothing while unpublished', () => {
  const stream = new LiveStream('live/start', { maxGopBytes: 50_000 });
  const owner = {};
  assert.equal(stream.startTimestamp, null);
  stream.startPublish(owner);
  assert.equal(stream.startTimestamp, null, 'no media yet');
  stream.push(packet(avcVideo('header', 7000, 1)));
  stream.push(packet(avcVideo('key', 7000, 1)));
  stream.push(packet(avcVideo('inter', 7033, 1)));
  assert.equal(stream.startTimestamp, 7000, 'the cached keyframe');
  stream.push(packet(avcVideo('key', 8000, 1, 60_000)));   // too big to cache: joiners wait for the next keyframe
  stream.push(packet(avcVideo('inter', 8033, 1)));
  assert.equal(stream.startTimestamp, 8033, 'the latest media');
  assert.deepEqual(stream.startupPackets().map((p) => [p.isSequenceHeader, p.timestamp]), [[true, 8033]]);
  stream.stopPublish(owner);
  assert.equal(stream.startTimestamp, null, 'a waiting player must not get the last publisher\'s time');
});

test('an Enhanced RTMP additional track keeps its own sequence header: a joiner gets the AAC header and the Opus one', () => {
  const stream = new LiveStream('live/tracks', { maxGopBytes: 1_000_000 });
  stream.startPublish({});
  const opusTrack = (packetType: number, timestamp: number) =>
    new MediaPacket(MessageType.Audio, timestamp, encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType, data: Buffer.from([0xfc, 0, 0]) }));
  stream.push(packet(avcVideo('header', 0, 1)));
  stream.push(opusTrack(AudioPacketType.SequenceStart, 0));
  stream.push(packet(aacAudio('header', 0, 1)));
  stream.push(packet(avcVideo('key', 100, 1)));
  stream.push(opusTrack(AudioPacketType.CodedFrames, 110));
  const startup = stream.startupPackets();
  assert.deepEqual(startup.map((p) => [p.kind, p.trackId, p.isSequenceHeader]), [
    ['video', 0, true], ['audio', 0, true], ['audio', 1, true], ['video', 0, false], ['audio', 1, false],
  ]);
  assert.equal(startup[1]!.payload[0]! >> 4, 10, 'the AAC header was not replaced by the Opus one');
});

/** A subscriber that takes batches (as a player with merged writes does), recording what it got and in which order. */
class BatchTaker extends Recorder {
  readonly takesBatches = true;
  batches: MediaBatch[] = [];
  onBatch(batch: MediaBatch) { this.batches.push(batch); this.packets.push(...batch.packets); this.events.push(`batch:${batch.packets.length}`); }
}

test('players that take batches get one interval of packets at once, in order, before the stream ends', async () => {
  const stream = new LiveStream('live/batched', { maxGopBytes: 1_000_000, mediaBatchMs: 5 });
  const owner = {};
  stream.startPublish(owner);
  const [first, second] = [new BatchTaker(), new BatchTaker()];
  const direct = new Recorder();
  stream.subscribe(first);
  stream.subscribe(second);
  stream.subscribe(direct);
  assert.equal(stream.subscriberCount, 3);
  stream.push(packet(avcVideo('header', 0, 1)));
  stream.push(packet(avcVideo('key', 0, 1)));
  stream.push(packet(aacAudio('frame', 10, 1)));
  assert.equal(direct.packets.length, 3, 'a subscriber without batches gets each packet at once');
  assert.equal(first.packets.length, 0, 'held for the interval');
  await sleep(20);
  assert.deepEqual(first.events, ['publish:0', 'batch:3']);
  assert.equal(second.batches[0], first.batches[0], 'one batch object for every player');
  stream.push(packet(avcVideo('inter', 33, 1)));
  stream.stopPublish(owner);
  assert.deepEqual(first.events, ['publish:0', 'batch:3', 'batch:1', 'unpublish'], 'the last packets before the unpublish');
  assert.deepEqual(first.packets.map((p) => p.timestamp), direct.packets.map((p) => p.timestamp));
});

test('a player joining mid-interval gets the pending packets once, in its startup, and the others get them first', () => {
  const stream = new LiveStream('live/join', { maxGopBytes: 1_000_000, mediaBatchMs: 1000 });
  stream.startPublish({});
  const early = new BatchTaker();
  stream.subscribe(early);
  stream.push(packet(avcVideo('header', 0, 1)));
  stream.push(packet(avcVideo('key', 0, 1)));
  const late = new BatchTaker();
  stream.subscribe(late);
  assert.deepEqual(early.events, ['publish:0', 'batch:2'], 'the pending batch went out before the joiner');
  assert.deepEqual(late.events, ['publish:2'], 'the joiner has them from its startup only');
  stream.push(packet(avcVideo('inter', 33, 1)));
  stream.flush();
  assert.deepEqual(late.packets.map((p) => p.timestamp), [0, 0, 33]);
  assert.deepEqual(early.packets.map((p) => p.timestamp), [0, 0, 33]);
});

test('a batch joins its track-0 chunks once per (stream id, chunk size), leaving additional tracks out', () => {
  const batch = new MediaBatch();
  const frames = [packet(avcVideo('key', 0, 1, 5000)), packet(aacAudio('frame', 10, 1))];
  const opus = new MediaPacket(MessageType.Audio, 10, encodeAudioTrackTag({ packetType: AudioPacketType.CodedFrames, fourCc: AudioFourCc.Opus, trackId: 1, data: Buffer.from([1, 2, 3]) }));
  for (const p of [...frames, opus]) batch.add(p);
  assert.equal(batch.mainTrackPackets, 2);
  assert.equal(batch.lastMediaTimestamp, 10);
  const joined = batch.mainTrackChunks(1, 4096);
  assert.equal(batch.mainTrackChunks(1, 4096), joined, 'the same Buffer for every player');
  assert.notEqual(batch.mainTrackChunks(1, 128), joined);
  // The decoder reads at RTMP's default chunk size, 128.
  const messages = [...new ChunkDecoder().push(batch.mainTrackChunks(1, 128))];
  assert.deepEqual(messages.map((m) => [m.type, m.timestamp, m.payload.length]), frames.map((p) => [p.type, p.timestamp, p.payload.length]));
});
