// SDP tests: Chromium's real offer read and the ingest codecs chosen from it; offers the edge cannot
// take; hostile input only ever throws SdpError with a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SdpError } from '#protocol/errors.ts';
import { chooseEgressCodecs, chooseIngestCodecs, fmtpParameters, parseSdp } from '#protocol/sdp/sdp.ts';
import { prng } from '../support/bytes.ts';

const chromium = readFileSync(new URL('../fixtures/sdp/chromium-h264-opus-offer.sdp', import.meta.url), 'utf8');

function assertSdpError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof SdpError && e.code === code, code);
}

test("Chromium's offer: an audio and a video section with their formats in preference order", () => {
  const sections = parseSdp(chromium);
  assert.deepEqual(sections.map((s) => [s.kind, s.mid, s.direction]), [['audio', '0', 'sendonly'], ['video', '1', 'sendonly']]);
  const [audio, video] = sections;
  assert.deepEqual(audio!.formats[0], { payloadType: 111, codec: 'opus', clockRate: 48000, channels: 2, parameters: 'minptime=10;useinbandfec=1' });
  assert.ok(video!.formats.every((f) => /^(H264|rtx)$/.test(f.codec)), video!.formats.map((f) => f.codec).join());
  assert.equal(fmtpParameters(video!.formats[0]!.parameters).get('packetization-mode'), '1');
});

test('ingest takes H.264 42e01f packetization-mode 1 and Opus from it', () => {
  const choice = chooseIngestCodecs(parseSdp(chromium));
  assert.equal(choice.audio?.mid, '0');
  assert.equal(choice.audio?.format.payloadType, 111);
  assert.equal(choice.video?.mid, '1');
  assert.equal(choice.video?.format.codec, 'H264');
  assert.match(choice.video!.format.parameters, /profile-level-id=42e01f/);
  assert.match(choice.video!.format.parameters, /packetization-mode=1/);
});

const minimal = (media: string) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${media}`;

test('a VP8-only video with Opus: audio only is taken; nothing usable is refused with what was offered', () => {
  const vp8 = 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n';
  const opus = 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n';
  const choice = chooseIngestCodecs(parseSdp(minimal(vp8 + opus)));
  assert.equal(choice.video, null);
  assert.equal(choice.audio?.mid, 'a');
  assert.throws(() => chooseIngestCodecs(parseSdp(minimal(vp8))), (e: unknown) => e instanceof SdpError && e.code === 'sdp.no_supported_codec' && /VP8/.test(e.message));
  // H.264 in packetization-mode 0 only cannot be depacketized as FU-A/STAP-A: refused too.
  const mode0 = 'm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:v\r\na=sendonly\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0;profile-level-id=42e01f\r\n';
  assertSdpError(() => chooseIngestCodecs(parseSdp(minimal(mode0))), 'sdp.no_supported_codec');
  // A receive-only offer publishes nothing.
  assertSdpError(() => chooseIngestCodecs(parseSdp(minimal(opus.replace('sendonly', 'recvonly')))), 'sdp.no_supported_codec');
});

test('hostile offers', () => {
  assertSdpError(() => parseSdp(''), 'sdp.not_sdp');
  assertSdpError(() => parseSdp('hello world'), 'sdp.not_sdp');
  assertSdpError(() => parseSdp(minimal('')), 'sdp.no_media');
  assertSdpError(() => parseSdp(chromium + 'a=x:' + 'y'.repeat(1 << 20)), 'sdp.too_large');
  assertSdpError(() => parseSdp(minimal('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n')), 'sdp.no_mid');
  assertSdpError(() => parseSdp(minimal('m=audio x UDP 1\r\na=mid:0\r\n')), 'sdp.bad_media_line');
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 300\r\na=mid:0\r\n')), 'sdp.bad_payload_type');
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 1\r\na=mid:0\r\na=rtpmap:1 opus\r\n')), 'sdp.bad_rtpmap');
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 1\r\na=mid:0\u0000\r\n')), 'sdp.bad_line');
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 1\r\na=mid:../../x\r\n')), 'sdp.bad_mid');
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 1\r\na=mid:0\r\n'.repeat(17).replace(/mid:0/g, () => `mid:${Math.random().toString(36).slice(2, 6)}`))), 'sdp.too_many_sections');
  assertSdpError(() => parseSdp(minimal(`m=audio 9 RTP/AVP ${Array.from({ length: 65 }, (_, i) => i).join(' ')}\r\na=mid:0\r\n`)), 'sdp.too_many_formats');
});

test('random and mutated offers only ever throw SdpError', () => {
  const random = prng(0x5d9);
  let errors = 0;
  for (let round = 0; round < 2000; round++) {
    const chars = [...chromium];
    for (let k = 0; k < 1 + random() * 6; k++) chars[Math.floor(random() * chars.length)] = String.fromCharCode(Math.floor(random() * 128));
    const text = round % 4 === 0 ? Array.from({ length: Math.floor(random() * 300) }, () => String.fromCharCode(Math.floor(random() * 256))).join('') : chars.join('');
    try {
      chooseIngestCodecs(parseSdp(text));
    } catch (error) {
      assert.ok(error instanceof SdpError, `round ${round}: ${String(error)}`);
      errors++;
    }
  }
  assert.ok(errors > 0);
});

test("egress (WHEP) takes the browser's receive sections: its H.264 42e01f mode 1 and Opus payload types; a send-only offer is refused", () => {
  const recvonly = chromium.replaceAll('a=sendonly', 'a=recvonly');
  const choice = chooseEgressCodecs(parseSdp(recvonly));
  assert.equal(choice.audio?.mid, '0');
  assert.equal(choice.audio?.format.payloadType, 111);
  assert.equal(choice.video?.mid, '1');
  assert.match(choice.video!.format.parameters, /profile-level-id=42e01f/);
  assert.match(choice.video!.format.parameters, /packetization-mode=1/);
  assert.deepEqual(chooseEgressCodecs(parseSdp(chromium.replaceAll('a=sendonly', 'a=sendrecv'))), choice);
  assertSdpError(() => chooseEgressCodecs(parseSdp(chromium)), 'sdp.no_supported_codec');
  const vp8 = 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n';
  assert.throws(() => chooseEgressCodecs(parseSdp(minimal(vp8))), (e: unknown) => e instanceof SdpError && /nothing to send.*VP8/.test(e.message));
});
