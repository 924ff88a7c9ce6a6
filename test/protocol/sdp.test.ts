// SDP tests: Chromium's real offer read and the ingest codecs chosen from it; offers the edge cannot
// take; hostile input only ever throws SdpError with a code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SdpError } from '#protocol/errors.ts';
import { chooseEgressCodecs, chooseIngestCodecs, decodeSdp, fmtpParameters, parseSdp } from '#protocol/sdp/sdp.ts';
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
  assert.equal(choice.video?.codec, 'h264');
  assert.match(choice.video!.format.parameters, /profile-level-id=42e01f/);
  assert.match(choice.video!.format.parameters, /packetization-mode=1/);
});

const minimal = (media: string) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${media}`;

test('VP8 is the fallback: taken when a section offers no usable H.264, never over H.264; other codecs are refused with what was offered', () => {
  const vp8 = 'm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:v\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n';
  const opus = 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n';
  const choice = chooseIngestCodecs(parseSdp(minimal(vp8 + opus)));
  assert.deepEqual(choice.video, { mid: 'v', codec: 'vp8', format: { payloadType: 96, codec: 'VP8', clockRate: 90000, channels: null, parameters: '' } });
  assert.equal(choice.audio?.mid, 'a');
  // VP8 alone is enough to publish (video only).
  assert.equal(chooseIngestCodecs(parseSdp(minimal(vp8))).video?.codec, 'vp8');
  // H.264 wins even when the browser lists VP8 first (Chromium's default order).
  const both = 'm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=mid:v\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n';
  assert.deepEqual([chooseIngestCodecs(parseSdp(minimal(both))).video?.codec, chooseIngestCodecs(parseSdp(minimal(both))).video?.format.payloadType], ['h264', 102]);
  assert.equal(chooseIngestCodecs(parseSdp(chromium)).video?.codec, 'h264');
  // H.264 in packetization-mode 0 only cannot be depacketized as FU-A/STAP-A: VP8 beside it is taken instead...
  const mode0 = 'm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:v\r\na=sendonly\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=0;profile-level-id=42e01f\r\n';
  const mode0AndVp8 = mode0.replace('SAVPF 97', 'SAVPF 97 96') + 'a=rtpmap:96 VP8/90000\r\n';
  assert.equal(chooseIngestCodecs(parseSdp(minimal(mode0AndVp8))).video?.format.payloadType, 96);
  // ...and alone it is refused, as are VP9 and AV1, with what was offered.
  assertSdpError(() => chooseIngestCodecs(parseSdp(minimal(mode0))), 'sdp.no_supported_codec');
  const vp9 = 'm=video 9 UDP/TLS/RTP/SAVPF 98 45\r\na=mid:v\r\na=sendonly\r\na=rtpmap:98 VP9/90000\r\na=rtpmap:45 AV1/90000\r\n';
  assert.throws(() => chooseIngestCodecs(parseSdp(minimal(vp9))), (e: unknown) => e instanceof SdpError && e.code === 'sdp.no_supported_codec' && /VP9, AV1/.test(e.message));
  // A VP8 clock other than 90 kHz is not RFC 7741 VP8.
  assertSdpError(() => chooseIngestCodecs(parseSdp(minimal(vp8.replace('VP8/90000', 'VP8/8000')))), 'sdp.no_supported_codec');
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
  let mid = 0;
  assertSdpError(() => parseSdp(minimal('m=audio 9 RTP/AVP 1\r\na=mid:0\r\n'.repeat(17).replace(/mid:0/g, () => `mid:${mid++}`))), 'sdp.too_many_sections');
  assertSdpError(() => parseSdp(minimal('m=video 9 RTP/AVP 96\r\na=mid:0\r\nm=audio 9 RTP/AVP 111\r\na=mid:0\r\n')), 'sdp.duplicate_mid');
  assertSdpError(() => decodeSdp(Buffer.concat([Buffer.from('v=0\r\ns='), Buffer.of(0xff, 0xfe, 0xc3, 0x28), Buffer.from('\r\n')])), 'sdp.not_utf8');
  assert.equal(decodeSdp(Buffer.from('v=0\r\ns=caf\u00e9\r\n')), 'v=0\r\ns=caf\u00e9\r\n');
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
  assert.equal(choice.video?.codec, 'h264');
});
