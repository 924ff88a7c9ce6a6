/**
 * When the page plays a stream over WS-FLV instead of WebRTC (web-client/src/session/playback-transport.ts),
 * in Node: without RTCPeerConnection every stream goes over WS-FLV; with it, a stream goes over
 * WS-FLV only after its WebRTC plays failed to connect the given number of times in a row (a play
 * that connects forgets earlier failures), and other streams stay on WebRTC; the WS-FLV address is the
 * edge's playback route for the room's stream on the socket's host and scheme, with the token and
 * the member whose media the play is.
 * A WS-FLV playback's counters read its <video> (a fake element here) and a player error ends it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flvPlaybackUrl, PlaybackTransportChooser, webRtcAvailable, WEBRTC_ATTEMPTS_BEFORE_FALLBACK } from '../../web-client/src/session/playback-transport.ts';
import { FlvPlayback } from '../../web-client/src/session/flv-playback.ts';
import { parsePlaybackPath } from '../../gateway/playback/edge-playback.ts';

test('WebRTC is there when the window has RTCPeerConnection', () => {
  assert.equal(webRtcAvailable({}), false);
  assert.equal(webRtcAvailable({ RTCPeerConnection: undefined }), false);
  assert.equal(webRtcAvailable({ RTCPeerConnection: class {} }), true);
  assert.equal(webRtcAvailable(), typeof (globalThis as { RTCPeerConnection?: unknown }).RTCPeerConnection === 'function');
});

test('without WebRTC every stream is played over WS-FLV', () => {
  const chooser = new PlaybackTransportChooser({ webRtc: false });
  assert.equal(chooser.webRtc, false);
  assert.equal(chooser.transportFor('Ms-Li-cam'), 'ws-flv');
  chooser.webRtcConnected('Ms-Li-cam');
  assert.equal(chooser.transportFor('Ms-Li-cam'), 'ws-flv');
});

test('a stream goes over WS-FLV after its WebRTC plays failed to connect in a row; a connected play forgets the failures', () => {
  assert.equal(WEBRTC_ATTEMPTS_BEFORE_FALLBACK, 2);
  const chooser = new PlaybackTransportChooser({ webRtc: true });
  assert.equal(chooser.transportFor('a'), 'webrtc');
  chooser.webRtcFailed('a');
  assert.equal(chooser.transportFor('a'), 'webrtc', 'one failure is retried over WebRTC');
  chooser.webRtcConnected('a');
  chooser.webRtcFailed('a');
  assert.equal(chooser.transportFor('a'), 'webrtc', 'the failure before the connected play does not count');
  chooser.webRtcFailed('a');
  assert.equal(chooser.transportFor('a'), 'ws-flv', 'two in a row: WS-FLV');
  assert.equal(chooser.transportFor('b'), 'webrtc', 'other streams stay on WebRTC');
  chooser.webRtcConnected('a');
  assert.equal(chooser.transportFor('a'), 'ws-flv', 'a stream that fell back stays on WS-FLV');

  const patient = new PlaybackTransportChooser({ webRtc: true, attempts: 3 });
  for (let i = 0; i < 2; i++) patient.webRtcFailed('a');
  assert.equal(patient.transportFor('a'), 'webrtc');
  patient.webRtcFailed('a');
  assert.equal(patient.transportFor('a'), 'ws-flv');
});

test('the WS-FLV address is the edge\'s playback route for the room\'s stream, with the token', () => {
  const url = flvPlaybackUrl('ws://127.0.0.1:8080/ws', 'math', 'Ms-Li-cam', 'a.b.c');
  assert.equal(url, 'ws://127.0.0.1:8080/live/classroom/math/Ms-Li-cam.flv?token=a.b.c');
  const parsed = new URL(url);
  assert.deepEqual(parsePlaybackPath(parsed.pathname), { app: 'classroom/math', stream: 'Ms-Li-cam' }, 'the edge reads it as the room\'s stream');
  assert.equal(flvPlaybackUrl('wss://school.example/ws', 'r1', 'cam', undefined), 'wss://school.example/live/classroom/r1/cam.flv');
  assert.equal(new URL(flvPlaybackUrl('ws://h/ws', 'r', 'a b', 'x+y/z')).searchParams.get('token'), 'x+y/z');
  assert.deepEqual(parsePlaybackPath(new URL(flvPlaybackUrl('ws://h/ws', 'r', 'a b')).pathname), { app: 'classroom/r', stream: 'a b' });
  const asMember = new URL(flvPlaybackUrl('ws://h/ws', 'r', 'cam', 'a.b.c', 'Sam Lee'));
  assert.deepEqual([asMember.searchParams.get('token'), asMember.searchParams.get('mediaOf')], ['a.b.c', 'Sam Lee'], 'the play is the joined member\'s media');
  assert.equal(new URL(flvPlaybackUrl('ws://h/ws', 'r', 'cam', undefined, 'Sam')).search, '', 'no member claimed without a token');
});

test('a WS-FLV playback counts the frames its <video> decoded, and a player error ends it', async () => {
  const playback = new FlvPlayback('cam', 'ws://h/live/classroom/r/cam.flv');
  assert.deepEqual(await playback.counters(), { transport: 'ws-flv', framesDecoded: 0, totalAudioEnergy: 0, audioLevel: 0, connectionState: 'connecting', audioBytesDecoded: 0 });
  let frames = 0;
  playback.attach({ getVideoPlaybackQuality: () => ({ totalVideoFrames: frames }), webkitAudioDecodedByteCount: 4096 });
  frames = 42;
  const counters = await playback.counters();
  assert.deepEqual([counters.framesDecoded, counters.connectionState, counters.audioBytesDecoded], [42, 'connected', 4096]);
  assert.equal(await playback.audioSample(), null, 'no getStats: no audio sample for the active speaker');
  playback.fail('NetworkError: closed 4000');
  assert.equal(await playback.ended, 'NetworkError: closed 4000');
  playback.stop();
  assert.equal((await playback.counters()).connectionState, 'closed');
});
