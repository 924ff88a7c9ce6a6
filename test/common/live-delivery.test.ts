/** LiveDelivery: the slow-consumer policy, its counters and its rate-limited logging, with a fake output whose backlog the test sets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveDelivery, type MediaOutput } from '#common/media/live-delivery.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import { MediaBatch } from '#common/media/media-batch.ts';
import { Logger, type LogFields } from '#common/logger.ts';
import { MessageType } from '#protocol/rtmp/message.ts';
import { AudioFourCc, AudioPacketType, encodeAudioTrackTag } from '#protocol/flv/enhanced-audio.ts';
import { aacAudio, avcVideo } from '../support/synthetic-media.ts';

class FakeOutput implements MediaOutput {
  backlogBytes = 0;
  readonly sent: MediaPacket[] = [];
  sendMedia(packet: MediaPacket): void { this.sent.push(packet); }
}

class RecordingLogger extends Logger {
  readonly lines: { level: string; message: string; fields?: LogFields }[] = [];
  override warn(message: string, fields?: LogFields): void { this.lines.push({ level: 'warn', message, fields }); }
  override info(message: string, fields?: LogFields): void { this.lines.push({ level: 'info', message, fields }); }
}

const LIMIT = 1000;
const video = (kind: 'header' | 'key' | 'inter', timestamp: number) => MediaPacket.fromMessage(avcVideo(kind, timestamp, 1, 100));
const audio = (timestamp: number) => MediaPacket.fromMessage(aacAudio('frame', timestamp, 1));
const data = (timestamp: number) => new MediaPacket(MessageType.DataAmf0, timestamp, Buffer.from([2, 0, 1, 0x78]));

function setUp() {
  const output = new FakeOutput();
  const log = new RecordingLogger('test');
  const delivery = new LiveDelivery(output, 1, { duration: 0, maxBacklogBytes: LIMIT }, {
    log,
    label: 'player',
    dropWarning: 'slow player: dropping frames until the next keyframe',
    identity: { stream: 'live/x', streamId: 1 },
  });
  return { output, log, delivery };
}

test('a stalled consumer drops to the next keyframe; headers and data always go; the counters follow', () => {
  const { output, log, delivery } = setUp();
  output.backlogBytes = 10 * LIMIT;
  delivery.begin([video('header', 0), video('key', 0)]);
  assert.equal(output.sent.length, 2, 'startup goes out whatever the backlog');
  output.backlogBytes = 0;
  delivery.deliver(video('inter', 33));
  assert.deepEqual(delivery.counters, { packetsSent: 3, bytesSent: 300, packetsDropped: 0, bytesDropped: 0, dropEpisodes: 0 });

  output.backlogBytes = LIMIT + 1; // the player stalls
  delivery.deliver(video('inter', 66));
  delivery.deliver(audio(70));
  delivery.deliver(video('header', 80));
  delivery.deliver(data(80));
  delivery.deliver(video('inter', 99));
  assert.deepEqual(output.sent.slice(3).map((p) => p.kind + (p.isSequenceHeader ? ' header' : '')), ['video header', 'data']);
  const stalled = delivery.counters;
  assert.equal(stalled.packetsDropped, 3);
  assert.equal(stalled.bytesDropped, 100 + 34 + 100);
  assert.equal(stalled.dropEpisodes, 1, 'one stall, however many packets it drops');

  output.backlogBytes = 0; // drained: audio flows, video waits for its keyframe
  delivery.deliver(video('inter', 132));
  delivery.deliver(audio(140));
  delivery.deliver(video('key', 165));
  assert.deepEqual(output.sent.slice(5).map((p) => p.timestamp), [140, 165]);
  assert.equal(delivery.counters.packetsDropped, 4, 'the inter frame before the keyframe counts too');

  output.backlogBytes = LIMIT + 1; // a second stall soon after
  delivery.deliver(video('inter', 198));
  assert.equal(delivery.counters.dropEpisodes, 2);
  assert.equal(delivery.counters.packetsSent, 7);

  const warnings = log.lines.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'drop warnings are rate-limited');
  assert.equal(warnings[0]!.message, 'slow player: dropping frames until the next keyframe');
  assert.deepEqual(warnings[0]!.fields, { stream: 'live/x', streamId: 1, backlog: LIMIT + 1, dropped: 1 });

  delivery.close();
  delivery.deliver(video('key', 231));
  assert.equal(output.sent.length, 7, 'nothing goes once closed');
  assert.deepEqual(log.lines.at(-1), { level: 'info', message: 'player closed', fields: { stream: 'live/x', streamId: 1, dropped: 5, episodes: 2 } });
});

test('waiting for the first keyframe is counted but not logged as a slow consumer', () => {
  const { output, log, delivery } = setUp();
  delivery.begin([]);
  delivery.deliver(video('inter', 0));
  delivery.deliver(video('key', 33));
  assert.equal(output.sent.length, 1);
  assert.equal(delivery.counters.packetsDropped, 1);
  assert.equal(delivery.counters.dropEpisodes, 0);
  assert.equal(log.lines.length, 0);
});

test('additional tracks (an E-RTMP Opus track beside the AAC) go only to outputs that take them', () => {
  const opusTrack = new MediaPacket(MessageType.Audio, 20, encodeAudioTrackTag({ trackId: 1, fourCc: AudioFourCc.Opus, packetType: AudioPacketType.CodedFrames, data: Buffer.from([0xfc, 0]) }));
  const { output, delivery } = setUp();
  delivery.begin([video('key', 0)]);
  for (const packet of [audio(10), opusTrack]) delivery.deliver(packet);
  assert.deepEqual(output.sent.map((p) => [p.kind, p.trackId]), [['video', 0], ['audio', 0]], 'a client or a recording: track 0 only');
  const link = Object.assign(new FakeOutput(), { takesAdditionalTracks: true });
  const linkDelivery = new LiveDelivery(link, 0, { duration: 0, maxBacklogBytes: LIMIT }, { log: new RecordingLogger('test'), label: 'link', dropWarning: '', identity: {} });
  linkDelivery.begin([video('key', 0)]);
  for (const packet of [audio(10), opusTrack]) linkDelivery.deliver(packet);
  assert.deepEqual(link.sent.map((p) => [p.kind, p.trackId]), [['video', 0], ['audio', 0], ['audio', 1]]);
});

class BatchOutput extends FakeOutput {
  readonly mergesMediaWrites = true;
  readonly batches: MediaBatch[] = [];
  sendBatch(batch: MediaBatch): void { this.batches.push(batch); }
}

function batchOf(...packets: MediaPacket[]): MediaBatch {
  const batch = new MediaBatch();
  for (const p of packets) batch.add(p);
  return batch;
}

test('a batch goes out in one write to a consumer that takes it all, and packet by packet to any other', () => {
  const output = new BatchOutput();
  const delivery = new LiveDelivery(output, 1, { duration: 0, maxBacklogBytes: LIMIT }, { log: new RecordingLogger('test'), label: 'player', dropWarning: 'slow', identity: {} });
  assert.equal(delivery.takesBatches, true);

  // Before its first keyframe: packet by packet, so the inter frames are dropped and the keyframe starts it.
  delivery.deliverBatch(batchOf(video('inter', 0), video('key', 33), audio(40)));
  assert.equal(output.batches.length, 0);
  assert.deepEqual(output.sent.map((p) => p.timestamp), [33, 40]);

  // Playing: the whole batch in one write, counted as its packets.
  const steady = batchOf(video('inter', 66), audio(70), data(71));
  delivery.deliverBatch(steady);
  assert.deepEqual(output.batches, [steady]);
  assert.equal(delivery.counters.packetsSent, 5);
  assert.equal(delivery.lastMediaTimestamp, 70, 'the data message does not move the media time');

  // Behind: packet by packet, which drops to the next keyframe.
  output.backlogBytes = LIMIT + 1;
  delivery.deliverBatch(batchOf(video('inter', 99), audio(100)));
  assert.equal(output.batches.length, 1);
  assert.equal(delivery.counters.packetsDropped, 3, 'the two, after the inter frame before the first keyframe');
  output.backlogBytes = 0;
  delivery.deliverBatch(batchOf(video('inter', 133)));
  assert.equal(output.batches.length, 1, 'still waiting for a keyframe');
  delivery.deliverBatch(batchOf(video('key', 166), audio(170)));
  assert.deepEqual(output.sent.map((p) => p.timestamp).slice(-2), [166, 170]);
  delivery.deliverBatch(batchOf(video('inter', 199)));
  assert.equal(output.batches.length, 2, 'whole batches again once caught up');

  // Audio off: packet by packet, without the audio.
  delivery.receiveAudio(false);
  delivery.deliverBatch(batchOf(video('inter', 233), audio(240)));
  assert.equal(output.batches.length, 2);
  assert.deepEqual(output.sent.map((p) => p.timestamp).slice(-1), [233]);
});

test('an output that does not merge its writes takes no batches', () => {
  const delivery = new LiveDelivery(new FakeOutput(), 1, { duration: 0, maxBacklogBytes: LIMIT }, { log: new RecordingLogger('test'), label: 'player', dropWarning: 'slow', identity: {} });
  assert.equal(delivery.takesBatches, false);
});
