import { createMessage, type Attributes } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { jsonLine, readJsonPayload } from './json-line.js';

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
        expect(jsonLine({ message, json: Buffer.from('1') })).toBe(
          expected(message.id, publishTime, attributes),
        );
      }
    }
  });
});

describe('readJsonPayload', () => {
  const read = (text: string | Uint8Array) => {
    const { json, value } = readJsonPayload(typeof text === 'string' ? Buffer.from(text) : text);
    return { json: json === undefined ? undefined : Buffer.from(json).toString('utf8'), value };
  };

  it('keeps a one-line payload as it came, without the spaces around it', () => {
    expect(read(' \t{"a": [1, 2],  "b":"é"}\t ')).toEqual({
      json: '{"a": [1, 2],  "b":"é"}',
      value: { a: [1, 2], b: 'é' },
    });
    const data = Buffer.from('{"n":1}');
    expect(readJsonPayload(data).json?.buffer).toBe(data.buffer); // a view, not a copy
  });

  it('re-serialises a payload with line breaks, or with bytes that are not UTF-8', () => {
    expect(read('{\r\n  "pretty": true\n}')).toEqual({
      json: '{"pretty":true}',
      value: { pretty: true },
    });
    // A 4-byte sequence cut short inside a JSON string: decoded as U+FFFD, written as UTF-8.
    const broken = Buffer.concat([
      Buffer.from('["'),
      Buffer.from([0xf0, 0x9f, 0x98]),
      Buffer.from('"]'),
    ]);
    expect(read(broken)).toEqual({ json: '["\ufffd"]', value: ['\ufffd'] });
  });

  it('gives undefined for what is not JSON', () => {
    expect(read('not json')).toEqual({ json: undefined, value: undefined });
    expect(read(new Uint8Array([0xff, 0x00]))).toEqual({ json: undefined, value: undefined });
    expect(read('\ufeff{}')).toEqual({ json: undefined, value: undefined }); // a BOM is not JSON
  });
});
