/**
 * Who may do what, with the default policy for the classroom (`required`) and `live` set to
 * `required` too, against real clients, directly and through an edge: ffmpeg publishing and playing
 * with `?token=` on the stream name; python3-librtmp joining a classroom with `{ token }` in connect;
 * the project's RTMP client reading the refusals' codes (no token, expired, signed with another
 * secret, for another room, a viewer publishing); a student token declaring itself a teacher stays a
 * student and cannot start a recording, a teacher token can; the WebSocket channel answers
 * `forbidden`; names people could confuse cannot sit side by side. Nothing else is disturbed: a
 * stream that was playing keeps playing through all the refusals, which /metrics counts by reason.
 * Under `optional`, clients without a token play, join the classroom as students, and publish only
 * where `--anonymous-publish` allows it. (The edge's own token check on its HTTP routes:
 * test/gateway/edge-auth.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RtmpClient, RtmpCallError } from '#common/rtmp-client.ts';
import type { AmfObject } from '#protocol/amf/types.ts';
import { TokenService } from '#common/auth/tokens.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { decodeFrames, publishTestStream, repoRoot, run, startOrigin, stopAll, tempDir } from '../support/processes.ts';
import { librtmp } from '../support/peers.ts';
import { mintToken } from '../support/tokens.ts';
import { joinReply } from '../support/ws-join.ts';
import { scrapeMetrics } from '../support/prometheus.ts';

let cluster: Cluster;
let direct: string;
let viaEdge: string;
const token = (claims: Parameters<typeof mintToken>[1], ttl?: number) => mintToken(cluster.origin.dataDir, claims, ttl);

before(async () => {
  cluster = await startCluster(['auth-edge'], { originArgs: ['--auth', 'live=required'] });
  direct = `rtmp://127.0.0.1:${cluster.origin.port}`;
  viaEdge = cluster.edges[0]!.base;
});
after(stopAll);

/** What the origin answers a publish (or play) of `name` on `live` by the project's client: the status code and its `error`. */
async function streamStatus(base: string, command: 'publish' | 'play', name: string): Promise<{ code: string; error?: string; description: string }> {
  const { client } = await RtmpClient.connect(`${base}/live`);
  try {
    const id = await client.createStream();
    client.streamCommand(id, command, name, ...(command === 'publish' ? ['live'] : []));
    const info = await client.waitForStatus(id, command === 'publish' ? /Publish\.(Start|BadName)/ : /Play\.(Start|Failed|Reset)/);
    return { code: String(info.code), description: String(info.description), ...(typeof info.error === 'string' ? { error: info.error } : {}) };
  } finally {
    client.close();
  }
}

describe('RTMP', () => {
  test('ffmpeg publishes and plays with ?token= on the stream name, directly and through the edge; no token or a viewer\'s cannot publish', async () => {
    const publisher = await token({ room: 'live', role: 'student', name: 'cam-owner' });
    const viewer = await token({ room: 'live', role: 'viewer', name: 'watcher' });
    for (const [via, base] of [['origin', direct], ['edge', viaEdge]] as const) {
      const ffmpeg = publishTestStream(`${base}/live/cam-${via}?token=${publisher}`, { seconds: 20 });
      const frames = await decodeFrames(`${base}/live/cam-${via}?token=${viewer}`, 2);
      assert.ok(frames.video >= 20, `${via}: ffmpeg played with a viewer token: ${frames.stderr}`);
      const refused = await decodeFrames(`${base}/live/cam-${via}`, 2);
      assert.equal(refused.video, 0, `${via}: no token, no play`);
      assert.deepEqual(await streamStatus(base, 'publish', `other-${via}`).then((s) => [s.code, s.error]), ['NetStream.Publish.BadName', 'auth.no_token']);
      assert.deepEqual(await streamStatus(base, 'publish', `other-${via}?token=${viewer}`).then((s) => [s.code, s.error]), ['NetStream.Publish.BadName', 'auth.forbidden']);
      ffmpeg.kill('SIGKILL');
    }
  });

  test('expired, foreign-signed and other-room tokens are refused with their reason; a playing stream is not disturbed', async () => {
    const publisher = await token({ room: 'live', role: 'student', name: 'steady' });
    const ffmpeg = publishTestStream(`${direct}/live/steady?token=${publisher}`, { seconds: 30 });
    const watching = decodeFrames(`${viaEdge}/live/steady?token=${publisher}`, 6);
    const foreign = await new TokenService('another-secret-another-secret-another-secret').sign({ sub: 'x', name: 'x', room: 'live', role: 'student' }, 600);
    const cases = {
      'auth.expired': await token({ room: 'live', role: 'student', name: 'late' }, -120),
      'auth.bad_token': foreign,
      'auth.wrong_room': await token({ room: 'classroom/math', role: 'teacher', name: 'elsewhere' }),
    };
    // A labelled counter shows no family until its first sample.
    const refusals = async () => {
      const scrape = await scrapeMetrics(cluster.origin.httpPort);
      return scrape.families.has('classroom_origin_access_refusals_total') ? scrape.samples('classroom_origin_access_refusals_total') : [];
    };
    const count = (samples: Awaited<ReturnType<typeof refusals>>, reason: string) => samples.find((s) => s.labels.action === 'play' && s.labels.reason === reason)?.value ?? 0;
    const before = await refusals();
    for (const [expected, bad] of Object.entries(cases)) {
      for (const base of [direct, viaEdge]) {
        const status = await streamStatus(base, 'play', `steady?token=${bad}`);
        assert.deepEqual([status.code, status.error], ['NetStream.Play.Failed', expected], status.description);
        assert.ok(status.description.length > 10, `a reason: ${status.description}`);
      }
    }
    const counted = await refusals();
    for (const reason of Object.keys(cases)) assert.equal(count(counted, reason) - count(before, reason), 2, `${reason} refusals counted in /metrics`);
    const frames = await watching;
    assert.ok(frames.video >= 60, `the stream played on through the refusals: ${frames.video} frames`);
    ffmpeg.kill('SIGKILL');
  });
});

describe('classroom', () => {
  test('python3-librtmp joins with { token } in connect: name and role are the token\'s, whatever it declares', async () => {
    const student = await token({ room: 'classroom/math', role: 'student', name: 'Sam' });
    for (const base of [direct, viaEdge]) {
      const out = await librtmp('remoting', `${base}/classroom/math`, 'classroom/math', { connect: { token: student, name: 'Principal Skinner', role: 'teacher' }, method: 'whoami' });
      assert.equal(out.first.name, '_result');
      assert.deepEqual([out.first.args[0].name, out.first.args[0].role], ['Sam', 'student']);
    }
  });

  test('connect refusals: no token, another room\'s, expired; a student cannot start a recording even declaring teacher, a teacher can', async () => {
    const reject = async (args: AmfObject) => {
      const error = await RtmpClient.connect(`${viaEdge}/classroom/math`, { connectArgs: [args] }).then(() => null, (e: RtmpCallError) => e);
      assert.ok(error instanceof RtmpCallError, 'refused');
      return [String(error.info.code), String(error.info.error)];
    };
    assert.deepEqual(await reject({ name: 'Nobody', role: 'teacher' }), ['NetConnection.Connect.Rejected', 'auth.no_token']);
    assert.deepEqual(await reject({ token: await token({ room: 'classroom/physics', role: 'teacher', name: 'Pat' }) }), ['NetConnection.Connect.Rejected', 'auth.wrong_room']);
    assert.deepEqual(await reject({ token: await token({ room: 'classroom/math', role: 'teacher', name: 'Old' }, -120) }), ['NetConnection.Connect.Rejected', 'auth.expired']);

    const { client: student } = await RtmpClient.connect(`${viaEdge}/classroom/math`, { connectArgs: [{ token: await token({ room: 'classroom/math', role: 'student', name: 'Stu' }), role: 'teacher' }] });
    await assert.rejects(student.call('startRecording'), (e: RtmpCallError) => /Only a teacher/.test(String(e.info.description)));
    await assert.rejects(student.call('clearWhiteboard'), (e: RtmpCallError) => /Only a teacher/.test(String(e.info.description)));
    const { client: teacher } = await RtmpClient.connect(`${direct}/classroom/math`, { connectArgs: [{ token: await token({ room: 'classroom/*', role: 'teacher', name: 'Tess' }) }] });
    const [started] = await teacher.call('startRecording');
    assert.equal((started as AmfObject).active, true);
    const [stopped] = await teacher.call('stopRecording');
    assert.equal((stopped as AmfObject).active, false);
    student.close();
    teacher.close();
  });

  test('stream names belong to their publisher: a role, another member\'s name or a name another published first is refused', async () => {
    const url = `${viaEdge}/classroom/streams`;
    const { client: teacher } = await RtmpClient.connect(url, { connectArgs: [{ token: await token({ room: 'classroom/streams', role: 'teacher', name: 'Tess' }) }] });
    const { client: student } = await RtmpClient.connect(url, { connectArgs: [{ token: await token({ room: 'classroom/streams', role: 'student', name: 'Sam' }) }] });
    const publish = async (client: RtmpClient, name: string) => {
      const id = await client.createStream();
      client.streamCommand(id, 'publish', name, 'live');
      return String((await client.waitForStatus(id, /Publish\.(Start|BadName)/)).code);
    };
    assert.equal(await publish(teacher, 'board'), 'NetStream.Publish.Start');
    for (const name of ['teacher', 'Tess', 'tess-cam', 'board']) assert.equal(await publish(student, name), 'NetStream.Publish.BadName', name);
    assert.equal(await publish(student, 'sam-cam'), 'NetStream.Publish.Start');
    teacher.close();
    student.close();
  });

  test('names that look alike cannot sit side by side: case, zero-width, Cyrillic, right-to-left mark', async () => {
    const legacy = await startCluster([], { originArgs: ['--auth', 'classroom=legacy'] });
    const url = `rtmp://127.0.0.1:${legacy.origin.port}/classroom/names`;
    const { client: alice } = await RtmpClient.connect(url, { connectArgs: [{ name: 'alice' }] });
    for (const name of ['Alice', 'ALICE ', 'a\u200blice', '\u0430lice', '\u0430l\u0456\u0441\u0435', 'alice\u200f']) {
      const error = await RtmpClient.connect(url, { connectArgs: [{ name }] }).then(() => null, (e: RtmpCallError) => e);
      assert.ok(error instanceof RtmpCallError, `${JSON.stringify(name)} refused`);
      assert.match(String(error.info.application), /already in use|invisible|mixes Latin/, JSON.stringify(name));
    }
    const { client: bob } = await RtmpClient.connect(url, { connectArgs: [{ name: 'Bob' }] });
    bob.close();
    alice.close();
  });
});

describe('WebSocket', () => {
  test('join without a token or with another room\'s is `forbidden`; with one, the token\'s name', async () => {
    const join = (message: object) => joinReply(cluster.edges[0]!.httpPort, message);
    assert.deepEqual(await join({ room: 'math', name: 'Eve', role: 'teacher' }).then((r) => [r.type, r.code]), ['error', 'forbidden']);
    assert.deepEqual(await join({ room: 'math', name: 'Eve', token: await token({ room: 'classroom/art', role: 'student', name: 'Eve' }) }).then((r) => [r.type, r.code]), ['error', 'forbidden']);
    const joined = await join({ room: 'math', name: 'Whoever', token: await token({ room: 'classroom/math', role: 'student', name: 'Wendy' }) });
    assert.equal(joined.type, 'joined', JSON.stringify(joined));
  });
});

describe('optional policy', () => {
  /** What a client without a token is answered when it publishes `name` at `appUrl`: the status code and its `error`. */
  async function anonymousPublish(appUrl: string, name: string): Promise<[string, string | undefined]> {
    const { client } = await RtmpClient.connect(appUrl, { connectArgs: [{ name: 'Anon' }] });
    try {
      const id = await client.createStream();
      client.streamCommand(id, 'publish', name, 'live');
      const info = await client.waitForStatus(id, /Publish\.(Start|BadName)/);
      return [String(info.code), typeof info.error === 'string' ? info.error : undefined];
    } finally {
      client.close();
    }
  }

  test('without a token: ffmpeg publishes and plays where --anonymous-publish allows it, elsewhere only plays; the classroom takes a student', async () => {
    const open = await startOrigin(['--apps', 'live,cams,classroom', '--auth', 'live=optional,cams=optional,classroom=optional', '--anonymous-publish', 'cams']);
    const base = `rtmp://127.0.0.1:${open.port}`;
    const ffmpeg = publishTestStream(`${base}/cams/anon`, { seconds: 20 });
    const frames = await decodeFrames(`${base}/cams/anon`, 2);
    assert.ok(frames.video >= 20, `ffmpeg published and played without a token: ${frames.stderr}`);
    assert.deepEqual(await anonymousPublish(`${base}/live`, 'anon'), ['NetStream.Publish.BadName', 'auth.forbidden']);
    assert.deepEqual(await anonymousPublish(`${base}/classroom/open`, 'anon-cam'), ['NetStream.Publish.BadName', 'auth.forbidden']);
    const out = await librtmp('remoting', `${base}/classroom/open`, 'classroom/open', { connect: { name: 'Visitor', role: 'teacher' }, method: 'whoami' });
    assert.deepEqual([out.first.name, out.first.args[0].name, out.first.args[0].role], ['_result', 'Visitor', 'student'], 'anonymous, whatever it declares');
    ffmpeg.kill('SIGKILL');
  });

  test('--anonymous-publish for an application that is not optional stops the start, naming it', async () => {
    const result = await run(process.execPath, [join(repoRoot, 'origin/main.ts'), '--data-dir', tempDir(), '--anonymous-publish', 'classroom', '--print-config']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /anonymousPublish .*lists classroom, whose policy is required/);
  });
});
