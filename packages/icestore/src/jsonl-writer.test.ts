import { createMessage, type Attributes } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { jsonLine } from './jsonl-writer.js';

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
