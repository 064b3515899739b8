import { gunzipSync } from 'node:zlib';
import { createMessage, type Attributes } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { jsonLine, readJsonPayload, writeJsonlGzip } from './jsonl-writer.js';

const at = new Date('2026-12-01T10:15:30.123Z');

/** The line as plain JSON.stringify and toISOString write it. */
function expected(id: string, publishTime: Date, attributes: Attributes): string {
  return `{"id":${JSON.stringify(id)},"publishTime":"${publishTime.toISOString()}","attributes":${JSON.stringify(attributes)},"enrichment":{},"payload":1}\n`;
}

describe('jsonLine', () => {
  it('writes exactly the text of toISOString and JSON.stringify, line after line', () => {
    // Times in one second and across seconds (the ISO text of a second is reused), millisecond
    // values needing zero padding, before 1970 and past 9999 (not reused); attributes repeated,
    // reordered, fewer, more and changed; names, values and ids that JSON escapes.
    const times = [
      1_767_225_600_000, 1_767_225_600_005, 1_767_225_600_050, 1_767_225_600_999, 1_767_225_601_000,
      1_767_225_600_007, 0, 9, -1, -1_000, -86_400_001, 253_402_300_799_999, 253_402_300_800_000,
    ];
    const attributeSets: Attributes[] = [
      { a: '1', b: '2' },
      { a: '1', b: '2' },
      { b: '2', a: '1' },
      { a: '1' },
      { a: '1', b: '2', c: '3' },
      { a: '1', b: '"quoted"\n' },
      {},
      {},
      { a: '' },
      // Names and values that need escaping, keys JSON orders first, text beyond ASCII.
      { 'quo"te': 'back\\slash', tab: 'a\tb', nul: '\u0000', del: '\u007f' },
      { z: '1', '10': 'ten', '2': 'two', é: 'ü', emoji: '😀', lone: '\ud800x', low: 'x\udc00' },
    ];
    for (const [index, time] of times.entries()) {
      for (const attributes of attributeSets) {
        const publishTime = new Date(time);
        const message = createMessage({
          id: index % 2 === 0 ? `m${String(index)}` : `m"${String(index)}\n`,
          publishTime,
          attributes,
          data: new Uint8Array(),
        });
        expect(jsonLine({ message, json: '1' })).toBe(
          expected(message.id, publishTime, attributes),
        );
      }
    }
  });
});

describe('JSON Lines writer', () => {
  const message = (id: string, data: string | Uint8Array) =>
    createMessage({
      id,
      data: typeof data === 'string' ? new TextEncoder().encode(data) : data,
      attributes: { deviceId: 'd1' },
      enrichment: { site: 'north' },
      publishTime: at,
    });

  it('writes one line per record, JSON payloads as JSON and others as base64, in order', async () => {
    const records = [
      message('1', '{"temp": 21.5}'),
      message('2', '{\n  "pretty": true\n}'),
      message('3', new Uint8Array([0xff, 0x00, 0x10])),
    ].map((m) => ({ message: m, json: readJsonPayload(m.data).json }));
    const encoded = await writeJsonlGzip(records, 9);
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

  it('gives the same bytes for the same batch, across chunk boundaries', async () => {
    const records = Array.from({ length: 2_000 }, (_, i) => {
      const m = message(String(i), JSON.stringify({ i, pad: 'x'.repeat(50) }));
      return { message: m, json: readJsonPayload(m.data).json };
    });
    const one = await writeJsonlGzip(records);
    const two = await writeJsonlGzip(records);
    expect(one.data.equals(two.data)).toBe(true);
    const lines = records.map(jsonLine).join('');
    expect(gunzipSync(one.data).toString()).toBe(lines);
    expect(one.rawBytes).toBe(Buffer.byteLength(lines)); // 6 strings: 3 gzip writes (2 joined) and the end
  });
});
