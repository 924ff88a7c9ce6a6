/**
 * The recording service in-process, as the classroom application uses it: startRoom while
 * streams are already published records each to its own FLV, later publishers too; stopRoom
 * finishes the files and the manifest; the `room` event and isRoomRecording follow. Media is
 * synthetic (exact keyframes and timestamps), so file contents can be checked exactly.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger, setLogLevel } from '#common/logger.ts';
import { FlvReader, FlvTagType } from '#protocol/flv/flv.ts';
import { StreamHub } from '../../origin/core/stream-hub.ts';
import { MediaPacket } from '#common/media/media-packet.ts';
import type { RecordablePublish } from '../../origin/core/origin-context.ts';
import { RecordingService } from '../../origin/recording/recording-service.ts';
import type { RoomManifest } from '../../origin/recording/room-recorder.ts';
import { aacAudio, avcVideo } from '../support/synthetic-media.ts';
import { stopAll, tempDir } from '../support/processes.ts';

after(stopAll);
setLogLevel('warn');

function publisher(hub: StreamHub, scopePath: string, name: string, clientId: number): RecordablePublish & { statuses: string[] } {
  const stream = hub.open(`${scopePath}/${name}`);
  const statuses: string[] = [];
  const publish = { scopePath, name, type: 'live' as const, stream, clientId, statuses, recordStatus: (_l: string, code: string) => { statuses.push(code); } };
  stream.startPublish(publish);
  return publish;
}

function push(p: RecordablePublish, from: number, to: number): void {
  for (let t = from; t < to; t += 100) {
    const video = avcVideo(t % 1000 === 0 ? 'key' : 'inter', t, 1);
    p.stream.push(new MediaPacket(video.type, t, video.payload));
    const audio = aacAudio('frame', t, 1);
    p.stream.push(new MediaPacket(audio.type, t, audio.payload));
  }
}

test('startRoom/stopRoom record every stream of the room with a manifest', async () => {
  const root = join(tempDir(), 'recordings');
  const service = new RecordingService({ root, recordRooms: 'never', recorder: { flushIntervalMs: 50, maxQueueBytes: 1 << 20, metadataReserveBytes: 4096 } }, new Logger('test'));
  await service.init();
  const events: Array<[string, boolean]> = [];
  service.on('room', (room, active) => events.push([room, active]));
  const hub = new StreamHub({ maxGopBytes: 1 << 20 });
  const alice = publisher(hub, 'classroom/r1', 'alice', 1);
  service.publishStarted(alice);
  const header = avcVideo('header', 0, 1);
  alice.stream.push(new MediaPacket(header.type, 0, header.payload));
  push(alice, 0, 1500); // before the recording: not recorded, except the current GOP (instant start)
  assert.equal(service.isRoomRecording('classroom/r1'), false);

  const info = await service.startRoom('classroom/r1', 'teacher-1');
  assert.equal(service.isRoomRecording('classroom/r1'), true);
  assert.equal(info.room, 'classroom/r1');
  assert.equal(info.by, 'teacher-1');
  assert.equal((await service.startRoom('classroom/r1')).startedAt, info.startedAt, 'starting twice returns the running one');
  push(alice, 1500, 3000);
  const bob = publisher(hub, 'classroom/r1', 'bob/cam', 2);
  service.publishStarted(bob);
  push(bob, 0, 1000);
  service.publishStopped(bob);
  bob.stream.stopPublish(bob);
  const stopped = await service.stopRoom('classroom/r1');
  assert.ok(stopped?.stoppedAt);
  assert.equal(await service.stopRoom('classroom/r1'), null);
  assert.deepEqual(events, [['classroom/r1', true], ['classroom/r1', false]]);

  const manifest = JSON.parse(readFileSync(info.manifest, 'utf8')) as RoomManifest;
  assert.equal(manifest.room, 'classroom/r1');
  assert.equal(manifest.by, 'teacher-1');
  assert.deepEqual(manifest.participants.map((p) => p.stream), ['alice', 'bob/cam']);
  assert.equal(manifest.files.length, 2);
  const [aliceFile, bobFile] = manifest.files;
  assert.match(aliceFile!.file!, /^classroom\/r1\/rec-\d{8}T\d{6}Z\/alice\.flv$/);
  assert.match(bobFile!.file!, /\/bob_cam\.flv$/, 'a stream name with / becomes one safe file name');
  assert.ok(bobFile!.offsetMs >= aliceFile!.offsetMs);
  const tags = new FlvReader().push(readFileSync(join(root, aliceFile!.file!))).filter((t) => t.type === FlvTagType.Video);
  // The GOP from 1000 ms (cached when the recording started) onwards, rebased to start at 0.
  assert.equal(tags[0]!.data[1], 0, 'AVC sequence header first');
  assert.equal(tags[1]!.timestamp, 0);
  assert.equal(tags.at(-1)!.timestamp, 1900);
  assert.equal(alice.statuses[0], 'NetStream.Record.Start');
  await service.close();
});
