// Ogg page and Ogg Opus tests: the CRC against its check value and against every page ffmpeg wrote
// in test/fixtures/ogg, byte-exact page re-encoding, the fixture's packets re-written by our writer
// and decoded by ffmpeg to the same sample count, lacing at 255-byte boundaries, packets across
// pages, granule gaps, end of stream, and hostile input.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OggError } from '#protocol/errors.ts';
import { oggCrc32 } from '#protocol/ogg/ogg-crc.ts';
import { encodeOggPage, NO_GRANULE_POSITION, OggReader, OggStreamWriter, type OggPage } from '#protocol/ogg/ogg-page.ts';
import { encodeOpusHead, encodeOpusTags, OggOpusWriter, parseOggOpus, parseOpusHead, parseOpusTags } from '#protocol/ogg/ogg-opus.ts';
import { randomBytes } from '../support/bytes.ts';
import { stopAll, tempDir } from '../support/processes.ts';

after(stopAll);

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/ogg/sine-440.opus'));

function assertOggError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof OggError && e.code === code, code);
}

const readAll = (bytes: Buffer): OggPage[] => {
  const reader = new OggReader();
  const pages = reader.push(bytes);
  reader.end();
  return pages;
};

/** A 20 ms CELT fullband mono packet (TOC config 31, code 0) of `size` bytes, its bytes counting up. */
const celtPacket = (size: number): Buffer => Buffer.from([0xf8, ...Array.from({ length: size - 1 }, (_, i) => i & 0xff)]);

/** Decoded 48 kHz mono sample count of an Ogg Opus file, by ffmpeg. */
function decodedSamples(file: string): number {
  return execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { maxBuffer: 64 << 20 }).length / 2;
}

describe('Ogg CRC-32', () => {
  test('check value of "123456789" (poly 0x04c11db7, init 0, no reflection, no final XOR)', () => {
    assert.equal(oggCrc32(Buffer.from('123456789', 'latin1')), 0x89a1897f);
    assert.equal(oggCrc32(Buffer.alloc(0)), 0);
  });

  test('matches the CRC of every page ffmpeg wrote, and re-encoding each page is byte-exact', () => {
    const pages = readAll(fixture);
    assert.ok(pages.length >= 3);
    let offset = 0;
    for (const page of pages) {
      const encoded = encodeOggPage(page, page.lacingValues, [page.body]);
      assert.deepEqual(encoded, fixture.subarray(offset, offset + encoded.length), `page ${page.sequenceNumber}`);
      offset += encoded.length;
    }
    assert.equal(offset, fixture.length);
  });

  test('summing in pieces equals summing at once', () => {
    const data = randomBytes(1000, 7);
    assert.equal(oggCrc32(data.subarray(400), oggCrc32(data.subarray(0, 400))), oggCrc32(data));
  });
});

describe('Ogg Opus reader on ffmpeg output', () => {
  test('headers, packets, positions and end trim of the fixture', () => {
    const stream = parseOggOpus(fixture);
    assert.deepEqual(stream.head, { channels: 1, preSkip: 312, inputSampleRate: 48000, outputGain: 0, mappingFamily: 0 });
    assert.equal(stream.tags.vendor, 'ffmpeg');
    assert.deepEqual(stream.tags.comments, ['encoder=Lavc libopus']);
    assert.equal(stream.packets.length, 51); // ffprobe counts 51 packets
    stream.packets.forEach((packet, i) => assert.equal(packet.samplePosition, -312 + i * 960, `packet ${i}`));
    assert.equal(stream.endSamplePosition, 48000); // 1 s: ffprobe's duration_ts 48312 less pre-skip
    const pages = readAll(fixture);
    assert.ok(pages[0]!.beginOfStream && !pages[0]!.endOfStream);
    assert.ok(pages.at(-1)!.endOfStream);
    pages.forEach((page, i) => assert.equal(page.sequenceNumber, i));
  });

  test('bytes split anywhere give the same pages', () => {
    const reader = new OggReader();
    const pages: OggPage[] = [];
    for (let i = 0; i < fixture.length; i += 7) pages.push(...reader.push(fixture.subarray(i, i + 7)));
    reader.end();
    assert.deepEqual(pages.map((p) => p.packets), readAll(fixture).map((p) => p.packets));
  });
});

describe('Ogg Opus writer', () => {
  test('re-writing the fixture packets decodes (ffmpeg, ffprobe) to the same number of samples', () => {
    const stream = parseOggOpus(fixture);
    const writer = new OggOpusWriter({ serialNumber: 0x1234, channels: 1, preSkip: stream.head.preSkip });
    const last = stream.packets.at(-1)!;
    const file = Buffer.concat([
      writer.headerPages(),
      ...stream.packets.slice(0, -1).map((packet) => writer.writePackets([packet])),
      writer.writePackets([last], { endOfStream: true, endSamplePosition: stream.endSamplePosition }),
    ]);
    const dir = tempDir();
    writeFileSync(join(dir, 'ours.opus'), file);
    assert.equal(decodedSamples(join(dir, 'ours.opus')), 48000);
    assert.equal(decodedSamples(join(dir, 'ours.opus')), decodedSamples(join(import.meta.dirname, '../fixtures/ogg/sine-440.opus')));
    const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,duration_ts', '-of', 'csv=p=0', join(dir, 'ours.opus')]).toString().trim();
    assert.equal(probe, 'opus,48312');
    // And our reader reads back what it wrote.
    const again = parseOggOpus(file);
    assert.deepEqual(again.packets, stream.packets);
    assert.equal(again.tags.vendor, 'classroom-gateway');
  });

  test('header pages: OpusHead alone on a BOS page, then OpusTags, granule 0, sequence 0 and 1', () => {
    const writer = new OggOpusWriter({ serialNumber: 99, channels: 2, preSkip: 0 });
    const pages = readAll(writer.headerPages());
    assert.equal(pages.length, 2);
    assert.ok(pages[0]!.beginOfStream && !pages[1]!.beginOfStream);
    assert.deepEqual(pages.map((p) => [p.sequenceNumber, p.granulePosition, p.serialNumber, p.packets.length]), [[0, 0n, 99, 1], [1, 0n, 99, 1]]);
    assert.equal(parseOpusHead(pages[0]!.packets[0]!).channels, 2);
    assert.equal(parseOpusTags(pages[1]!.packets[0]!).vendor, 'classroom-gateway');
  });

  test('granule positions follow the given sample positions, gaps included; several packets on one page', () => {
    const writer = new OggOpusWriter({ serialNumber: 1, channels: 1 });
    const one = readAll(Buffer.concat([writer.headerPages(), writer.writePackets([{ packet: celtPacket(40), samplePosition: 0 }])]));
    assert.equal(one.at(-1)!.granulePosition, 960n);
    // A 200 ms gap (9600 samples) before the next packet stays in the granule.
    const gapPage = writer.writePackets([{ packet: celtPacket(40), samplePosition: 960 + 9600 }]);
    assert.equal(gapPage.readBigInt64LE(6), 960n + 9600n + 960n);
    const three = writer.writePackets([11520, 12480, 13440].map((samplePosition) => ({ packet: celtPacket(30), samplePosition })));
    assert.equal(three[26], 3, 'three lacing values on one page');
    assert.equal(three.readBigInt64LE(6), 14400n);
    assert.equal(three.readUInt32LE(18), 4, 'page sequence number');
    assertOggError(() => writer.writePackets([{ packet: celtPacket(30), samplePosition: 14000 }]), 'ogg.position_backwards');
  });

  test('end of stream: an empty EOS page with the last granule, then nothing more', () => {
    const writer = new OggOpusWriter({ serialNumber: 5, channels: 1 });
    const bytes = Buffer.concat([writer.headerPages(), writer.writePackets([{ packet: celtPacket(10), samplePosition: 0 }]), writer.end()]);
    const last = readAll(bytes).at(-1)!;
    assert.ok(last.endOfStream);
    assert.deepEqual([last.lacingValues, last.granulePosition], [[], 960n]);
    assertOggError(() => writer.writePackets([{ packet: celtPacket(10), samplePosition: 960 }]), 'ogg.stream_ended');
  });

  test('malformed packets and misuse are typed errors', () => {
    const writer = new OggOpusWriter({ serialNumber: 5, channels: 1 });
    assertOggError(() => writer.writePackets([{ packet: celtPacket(10), samplePosition: 0 }]), 'ogg.headers_missing');
    writer.headerPages();
    assertOggError(() => writer.headerPages(), 'ogg.headers_written');
    assertOggError(() => writer.writePackets([{ packet: Buffer.alloc(0), samplePosition: 0 }]), 'ogg.bad_opus_packet');
    assertOggError(() => writer.writePackets([{ packet: Buffer.from([0xfb]), samplePosition: 0 }]), 'ogg.bad_opus_packet'); // code 3 without its count
    assertOggError(() => writer.writePackets([{ packet: celtPacket(70_000), samplePosition: 0 }]), 'ogg.bad_opus_packet');
    assertOggError(() => encodeOpusHead({ channels: 3, preSkip: 0, inputSampleRate: 48000, outputGain: 0 }), 'ogg.bad_opus_head');
  });
});

describe('Ogg lacing', () => {
  const lacingOf = (size: number): number[] => readAll(new OggStreamWriter(1).writePackets([{ data: Buffer.alloc(size, 1), granulePosition: 0n }]))[0]!.lacingValues;

  test('255 bytes is 255 then 0; 510 bytes is 255, 255, 0; 254 and 0 bytes are one value', () => {
    assert.deepEqual(lacingOf(255), [255, 0]);
    assert.deepEqual(lacingOf(510), [255, 255, 0]);
    assert.deepEqual(lacingOf(254), [254]);
    assert.deepEqual(lacingOf(256), [255, 1]);
    assert.deepEqual(lacingOf(0), [0]);
  });

  test('packets of 255 and 510 bytes read back whole, next to others on the page', () => {
    const packets = [255, 510, 3, 0, 1].map((size, i) => ({ data: randomBytes(size, i + 1), granulePosition: BigInt(i) }));
    const [page] = readAll(new OggStreamWriter(1).writePackets(packets));
    assert.deepEqual(page!.packets, packets.map((p) => p.data));
    assert.equal(page!.granulePosition, 4n);
  });

  test('a packet longer than one page continues on the next, the first page has no granule', () => {
    const big = randomBytes(255 * 255 + 100, 3);
    const pages = readAll(new OggStreamWriter(1).writePackets([{ data: big, granulePosition: 960n }, { data: Buffer.from('x'), granulePosition: 1920n }]));
    assert.equal(pages.length, 2);
    assert.deepEqual([pages[0]!.continued, pages[0]!.granulePosition, pages[0]!.packets.length], [false, NO_GRANULE_POSITION, 0]);
    assert.deepEqual([pages[1]!.continued, pages[1]!.granulePosition], [true, 1920n]);
    assert.deepEqual(pages[1]!.packets, [big, Buffer.from('x')]);
  });

  test('a packet ending exactly at a page boundary closes with a 0 on the next page', () => {
    const exact = randomBytes(255 * 255, 4);
    const pages = readAll(new OggStreamWriter(1).writePackets([{ data: exact, granulePosition: 5n }]));
    assert.deepEqual(pages.map((p) => [p.lacingValues.length, p.continued, p.granulePosition]), [[255, false, -1n], [1, true, 5n]]);
    assert.deepEqual(pages[1]!.packets, [exact]);
  });
});

describe('Ogg hostile input', () => {
  const good = (): Buffer => Buffer.concat([new OggOpusWriter({ serialNumber: 7, channels: 1 }).headerPages()]);

  test('bad capture pattern, version, CRC', () => {
    assertOggError(() => new OggReader().push(Buffer.from('OggX')), 'ogg.bad_capture_pattern');
    const version = good();
    version[4] = 1;
    assertOggError(() => new OggReader().push(version), 'ogg.bad_version');
    const flipped = good();
    flipped[30] ^= 0x01;
    assertOggError(() => new OggReader().push(flipped), 'ogg.bad_crc');
  });

  test('truncated input, and the reader stays failed after an error', () => {
    const reader = new OggReader();
    reader.push(good().subarray(0, 40));
    assertOggError(() => reader.end(), 'ogg.truncated');
    const failed = new OggReader();
    assertOggError(() => failed.push(Buffer.from('nope')), 'ogg.bad_capture_pattern');
    assertOggError(() => failed.push(good()), 'ogg.bad_capture_pattern');
  });

  test('stream rules: BOS, sequence, continuation, pages after EOS', () => {
    const page = (sequenceNumber: number, flags: { continued?: boolean; beginOfStream?: boolean; endOfStream?: boolean }, lacing = [1]): Buffer =>
      encodeOggPage({ continued: false, beginOfStream: false, endOfStream: false, granulePosition: NO_GRANULE_POSITION, serialNumber: 3, sequenceNumber, ...flags }, lacing, [Buffer.alloc(lacing.reduce((a, b) => a + b, 0))]);
    assertOggError(() => new OggReader().push(page(0, {})), 'ogg.missing_bos');
    assertOggError(() => new OggReader().push(Buffer.concat([page(0, { beginOfStream: true }), page(2, {})])), 'ogg.sequence_gap');
    assertOggError(() => new OggReader().push(Buffer.concat([page(0, { beginOfStream: true }), page(1, { beginOfStream: true })])), 'ogg.repeated_bos');
    assertOggError(() => new OggReader().push(page(0, { beginOfStream: true, continued: true })), 'ogg.bad_continuation');
    assertOggError(() => new OggReader().push(Buffer.concat([page(0, { beginOfStream: true }, [255]), page(1, {})])), 'ogg.bad_continuation');
    assertOggError(() => new OggReader().push(Buffer.concat([page(0, { beginOfStream: true, endOfStream: true }), page(1, {})])), 'ogg.after_eos');
  });

  test('packet size bound across pages', () => {
    const bytes = new OggStreamWriter(1).writePackets([{ data: Buffer.alloc(100_000), granulePosition: 0n }]);
    assertOggError(() => new OggReader({ maxPacketSize: 65_536 }).push(bytes), 'ogg.packet_too_large');
    assert.equal(new OggReader().push(bytes).at(-1)!.packets[0]!.length, 100_000);
  });

  test('Opus headers that lie', () => {
    assertOggError(() => parseOpusHead(Buffer.from('OpusHead')), 'ogg.bad_opus_head');
    const head = encodeOpusHead({ channels: 1, preSkip: 0, inputSampleRate: 48000, outputGain: 0 });
    head[9] = 0;
    assertOggError(() => parseOpusHead(head), 'ogg.bad_opus_head');
    const tags = encodeOpusTags({ vendor: 'v', comments: ['A=b'] });
    tags.writeUInt32LE(0xffffffff, 8);
    assertOggError(() => parseOpusTags(tags), 'ogg.bad_opus_tags');
    const manyComments = encodeOpusTags({ vendor: 'v', comments: [] });
    manyComments.writeUInt32LE(1_000_000, 13);
    assertOggError(() => parseOpusTags(manyComments), 'ogg.bad_opus_tags');
    assertOggError(() => parseOggOpus(new OggStreamWriter(1).writePackets([{ data: Buffer.from('hello'), granulePosition: 0n }])), 'ogg.headers_missing');
  });

  test('random and mutated bytes only ever throw OggError', () => {
    const valid = Buffer.concat([good(), fixture]);
    for (let seed = 1; seed <= 300; seed++) {
      const input = seed % 2 ? randomBytes(200, seed) : Buffer.from(valid);
      if (seed % 2 === 0) {
        const noise = randomBytes(8, seed);
        for (let i = 0; i < 4; i++) input[noise[i]! * 7 % input.length] = noise[i + 4]!;
      }
      try {
        parseOggOpus(input);
      } catch (error) {
        assert.ok(error instanceof OggError, `seed ${seed}: ${String(error)}`);
      }
    }
  });
});
