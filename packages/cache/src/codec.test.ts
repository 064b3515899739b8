import { describe, expect, it } from 'vitest';
import { ABSENT, UNDECODABLE, decodeEntry, decodeValue, encodeEntry } from './codec.js';

describe('versioned JSON codec', () => {
  it('round-trips values of every JSON shape', () => {
    for (const value of [{ a: 1, b: [1, 'x'] }, 'text', 0, false, [], { nested: { d: 1 } }]) {
      expect(decodeEntry(encodeEntry({ found: true, value }))).toEqual({ found: true, value });
    }
    expect(decodeEntry(encodeEntry({ found: false }))).toEqual({ found: false });
  });

  it('answers the full parse for entries that look like the fast path but are not one value', () => {
    // Extra fields after the value: the full parse reads the object as a whole.
    expect(decodeEntry('{"v":1,"d":{"a":1},"x":2}')).toEqual({ found: true, value: { a: 1 } });
    // A later version field wins in JSON.parse, so this is not a version 1 entry.
    expect(decodeEntry('{"v":1,"d":1,"v":2}')).toBeUndefined();
    expect(decodeEntry('{"v":1,"d":null}')).toBeUndefined();
    expect(decodeEntry('{"v":1,"d":}')).toBeUndefined();
    expect(decodeEntry('{"v":1,"d":1} {"x":1}')).toBeUndefined();
  });

  it('reads other versions, non-objects and broken JSON as undefined', () => {
    for (const text of ['{"v":2,"d":1}', '{"d":1}', '[1]', '1', 'null', 'not json', '']) {
      expect(decodeEntry(text)).toBeUndefined();
    }
  });

  it('decodes without the lookup object: the value, ABSENT or UNDECODABLE', () => {
    expect(decodeValue(encodeEntry({ found: true, value: { a: 1 } }))).toEqual({ a: 1 });
    expect(decodeValue(encodeEntry({ found: true, value: 0 }))).toBe(0);
    expect(decodeValue(encodeEntry({ found: false }))).toBe(ABSENT);
    for (const text of ['{"v":2,"d":1}', '{"v":1,"d":null}', '{"v":1}', 'not json']) {
      expect(decodeValue(text)).toBe(UNDECODABLE);
    }
  });
});
