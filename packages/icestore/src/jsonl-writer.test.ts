import { crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { createMessage } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { jsonLine, readJsonPayload, type ArchiveRecord } from './json-line.js';
import { writeJsonlGzip } from './jsonl-writer.js';

const at = new Date('2026-12-01T10:15:30.123Z');

const message = (id: string, data: string | Uint8Array) =>
  createMessage({
    id,
    data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
    attributes: { deviceId: 'd1' },
    enrichment: { site: 'north' },
    publishTime: at,
  });

/** `count` records of about 130 + `pad` bytes of JSON, every seventh one not JSON. */
function records(count: number, pad = 100): ArchiveRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const m = message(
      String(i),
      i % 7 === 3
        ? new Uint8Array([i % 256, 0, 0xff])
        : JSON.stringify({ i, pad: 'x'.repeat(pad) }),
    );
    return { message: m, json: readJsonPayload(m.data).json };
  });
}

/** Checks that `data` is one gzip member of exactly `lines`, and returns its deflate body. */
function expectOneMember(data: Buffer, lines: string): Buffer {
  const raw = Buffer.from(lines, 'utf8');
  expect(gunzipSync(data).equals(raw)).toBe(true);
  // A second member would put a header inside the body, which raw inflate would reject.
  const body = data.subarray(10, -8);
  expect(inflateRawSync(body).equals(raw)).toBe(true);
  expect(data.readUInt32LE(data.byteLength - 8)).toBe(crc32(raw));
  expect(data.readUInt32LE(data.byteLength - 4)).toBe(raw.byteLength);
  return body;
}

describe('JSON Lines writer', () => {
  it('writes one line per record, JSON payloads as JSON and others as base64, in order', async () => {
    const batch = [
      message('1', '{"temp": 21.5}'),
      message('2', '{\n  "pretty": true\n}'),
      message('3', new Uint8Array([0xff, 0x00, 0x10])),
    ].map((m) => ({ message: m, json: readJsonPayload(m.data).json }));
    const encoded = await writeJsonlGzip(batch, 9);
    const text = gunzipSync(encoded.data).toString('utf8');
    expect(encoded.rawBytes).toBe(Buffer.byteLength(text));
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        id: '1',
        publishTime: at.toISOString(),
        attributes: { deviceId: 'd1' },
        enrichment: { site: 'north' },
        payload: { temp: 21.5 },
      },
      expect.objectContaining({ id: '2', payload: { pretty: true } }),
      expect.objectContaining({
        id: '3',
        payloadBase64: Buffer.from([0xff, 0, 0x10]).toString('base64'),
      }),
    ]);
    expect(encoded.records).toBe(3);
  });

  it('writes an empty batch as an empty member', async () => {
    const encoded = await writeJsonlGzip([]);
    expectOneMember(encoded.data, '');
    expect(encoded).toMatchObject({ records: 0, rawBytes: 0 });
  });

  it('joins its slices into one gzip member, the same bytes each time, as small as one pass', async () => {
    // 3.3 MB of lines: the pool's 60 % in two slices and the main thread's rest in two, with
    // the event loop let run between them; then 600 KB (one slice each) and 20 KB (main only).
    for (const count of [14_000, 2_500, 80]) {
      const batch = records(count);
      const lines = batch.map(jsonLine).join('');
      const one = await writeJsonlGzip(batch);
      const two = await writeJsonlGzip(batch);
      expect(one.data.equals(two.data)).toBe(true);
      expectOneMember(one.data, lines);
      expect(one.rawBytes).toBe(Buffer.byteLength(lines));
      // Each slice has the 32 KiB before it as its dictionary: as small as one pass (without
      // them, 0.5 and 1 % bigger here). A batch in one slice is exactly gzipSync's bytes.
      const onePass = gzipSync(lines);
      expect(one.data.byteLength).toBeLessThan(onePass.byteLength * 1.003);
      if (count === 80) expect(one.data.equals(onePass)).toBe(true);
    }
  });

  it('writes every level, with the header zlib writes for it', async () => {
    const batch = records(1_200);
    const lines = batch.map(jsonLine).join('');
    for (let level = 0; level <= 9; level++) {
      const { data } = await writeJsonlGzip(batch, level);
      expectOneMember(data, lines);
      expect(data.subarray(0, 10).equals(gzipSync('', { level }).subarray(0, 10))).toBe(true);
    }
  });
});
