/**
 * WHIP and WHEP into a classroom room under the classroom's default policy (`required`), with two
 * WebRTC stacks nobody here wrote: werift publishes with a student's token (Bearer) as
 * `classroom/physics/sam-cam`, admitted as that student (the origin's admin API lists a `whip`
 * client with the token's name and role; ffmpeg plays the stream over RTMP), and Chromium plays it
 * with WHEP and another student's token in the URL (`?token=`), frames decoded. Without a token the
 * edge answers 401 (WHIP and WHEP) and with another room's token 403 (the origin's refusals, mapped
 * from their `auth.*` codes), and nothing more is published. Run by whip-classroom.test.ts inside a
 * loopback-only network namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserClusterPerFile } from '../support/chromium.ts';
import { openWhepPlayer, whepCounters } from '../support/webrtc-page.ts';
import { apiStreams, originApi, waitForPublished, waitForVideo } from '../support/observe.ts';
import { decodeFrames, eventually } from '../support/processes.ts';
import { mintToken } from '../support/tokens.ts';
import { WeriftWhipPublisher, WhipRefusedError } from '../peers/werift-whip-publisher.ts';

// `--auth` given: the classroom keeps its default policy, required (startOrigin's legacy is for tests of what a classroom does).
const fixture = browserClusterPerFile(['whip-class'], { originArgs: ['--auth', 'live=legacy'], edgeArgs: ['--webrtc-bind', '127.0.0.1'] });

test('a student token publishes into the room as that student and another plays it; no token is 401, another room\'s 403', async (t) => {
  const cluster = fixture.cluster;
  const whip = (name: string) => `http://127.0.0.1:${cluster.edges[0]!.httpPort}/whip/classroom/physics/${name}`;
  const refusal = (error: unknown) => (error instanceof WhipRefusedError ? error.status : 0);
  assert.equal(await WeriftWhipPublisher.publish(whip('anon-cam'), { seconds: 5 }).then(() => 201, refusal), 401, 'no token');
  const artStudent = await mintToken(cluster.origin.dataDir, { room: 'classroom/art', role: 'student', name: 'Artie' });
  assert.equal(await WeriftWhipPublisher.publish(whip('art-cam'), { seconds: 5, token: artStudent }).then(() => 201, refusal), 403, 'another room\'s token');

  const student = await mintToken(cluster.origin.dataDir, { room: 'classroom/physics', role: 'student', name: 'Sam' });
  const publisher = await WeriftWhipPublisher.publish(whip('sam-cam'), { seconds: 40, token: student });
  t.after(() => publisher.close());
  await waitForPublished(cluster.origin, 'classroom/physics/sam-cam', 20_000);
  const { clients } = await originApi<{ clients: Array<{ protocol: string; app: string; room: string; name: string | null; role: string | null; auth: string | null }> }>(cluster.origin, '/api/clients');
  const whipClient = clients.find((c) => c.protocol === 'whip');
  assert.deepEqual(whipClient && [whipClient.app, whipClient.room, whipClient.name, whipClient.role, whipClient.auth], ['classroom', 'physics', 'Sam', 'student', 'token'], JSON.stringify(clients));
  // werift's ffmpeg makes a keyframe a second and cannot answer the edge's requests for one.
  await waitForVideo(cluster.origin, 'classroom/physics/sam-cam');
  const viewer = await mintToken(cluster.origin.dataDir, { room: 'classroom/physics', role: 'student', name: 'Vic' });
  const frames = await decodeFrames(`${cluster.edges[0]!.base}/classroom/physics?token=${viewer}/sam-cam`, 2);
  assert.ok(frames.video >= 20, `ffmpeg played the WHIP stream in the room: ${frames.stderr}`);

  const base = `http://127.0.0.1:${cluster.edges[0]!.httpPort}`;
  const refusedPlay = await openWhepPlayer(fixture.browser, base, `${base}/whep/classroom/physics/sam-cam`);
  assert.match(refusedPlay.error, /: 401: /, 'WHEP without a token');
  await refusedPlay.page.close();
  const watcher = await mintToken(cluster.origin.dataDir, { room: 'classroom/physics', role: 'student', name: 'Wat' });
  const { page, location, error } = await openWhepPlayer(fixture.browser, base, `${base}/whep/classroom/physics/sam-cam?token=${watcher}`);
  t.after(() => page.close());
  assert.match(location, /^\/whep\/resource\/\d+$/, error);
  await eventually(async () => (await whepCounters(page)).framesDecoded >= 20, 15_000, 'Chromium to decode the room\'s WebRTC stream');
  assert.deepEqual((await apiStreams(cluster.origin)).filter((s) => s.published).map((s) => s.key), ['classroom/physics/sam-cam'], 'the refused offers published nothing');
  assert.equal(await publisher.close(), 200, 'WHIP DELETE ends the publish');
  await eventually(async () => !(await apiStreams(cluster.origin)).some((s) => s.key === 'classroom/physics/sam-cam' && s.published), 10_000, 'the stream to end');
});
