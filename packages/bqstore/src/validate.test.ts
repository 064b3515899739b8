import { describe, expect, it } from 'vitest';
import type { TableField } from './schema.js';
import { compileRowValidator } from './validate.js';

const SCHEMA: TableField[] = [
  { name: 'device_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'count', type: 'INTEGER' },
  { name: 'temp', type: 'FLOAT' },
  { name: 'price', type: 'NUMERIC' },
  { name: 'small', type: 'NUMERIC', precision: '5', scale: '2' },
  { name: 'ok', type: 'BOOLEAN' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'day', type: 'DATE' },
  { name: 'at', type: 'TIME' },
  { name: 'local', type: 'DATETIME' },
  { name: 'blob', type: 'BYTES' },
  { name: 'doc', type: 'JSON' },
  { name: 'code', type: 'STRING', maxLength: '3' },
  { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'readings',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'value', type: 'FLOAT64', mode: 'REQUIRED' },
      { name: 'unit', type: 'STRING' },
    ],
  },
  { name: 'loc', type: 'STRUCT', fields: [{ name: 'lat', type: 'FLOAT64' }] },
];

const validator = compileRowValidator(SCHEMA);

function problem(row: Record<string, unknown>): string | undefined {
  const check = validator.check({ device_id: 'd1', ...row });
  return check.ok ? undefined : check.violation.message;
}

describe('row validation against the table schema', () => {
  it('accepts a row with every type in the JSON forms insertAll converts', () => {
    const check = validator.check({
      device_id: 'd1',
      count: '9223372036854775807',
      temp: 'NaN',
      price: '12345678901234567890123456789.123456789',
      small: 999.994,
      ok: 'TRUE',
      ts: '2026-01-02T03:04:05.123456Z',
      day: '2026-2-28',
      at: '23:59:59.999999',
      local: '2026-01-02 03:04:05',
      blob: Buffer.from('hello').toString('base64'),
      doc: { any: ['json'] },
      code: 'abc',
      tags: ['a', 'b'],
      readings: [{ value: 1.5 }, { value: 2, unit: 'C' }],
      loc: { lat: 1 },
    });
    expect(check).toEqual({ ok: true, unknown: [] });
  });

  it.each([
    [
      { readings: [{ value: 1 }, { value: 2 }, { value: 3 }, { value: 'abc' }] },
      'readings[3].value: expected FLOAT64, got "abc"',
    ],
    [{ count: 'abc' }, 'count: expected INT64, got "abc"'],
    [{ count: 1.5 }, 'count: expected INT64, got 1.5'],
    [{ count: '9223372036854775808' }, 'count: "9223372036854775808" is out of INT64 range'],
    [{ count: 2 ** 60 }, 'count: 1152921504606847000 is beyond 2^53'],
    [
      { price: '123456789012345678901234567890' },
      'price: "123456789012345678901234567890" exceeds NUMERIC precision (at most 29 integer digits)',
    ],
    [{ small: 999.995 }, 'small: 999.995 exceeds NUMERIC(5, 2) precision'],
    [{ ok: 'yes' }, 'ok: expected BOOL, got "yes"'],
    [{ ts: 'yesterday' }, 'ts: expected TIMESTAMP'],
    [{ ts: '2026-02-30T00:00:00Z' }, 'ts: expected TIMESTAMP'],
    [{ day: '2026-13-01' }, 'day: expected DATE (YYYY-MM-DD), got "2026-13-01"'],
    [{ at: '24:00:00' }, 'at: expected TIME'],
    [{ local: '2026-01-01T25:00' }, 'local: expected DATETIME'],
    [{ blob: 'not base64!' }, 'blob: expected BYTES (base64), got "not base64!"'],
    [{ doc: '{not json' }, 'doc: expected JSON'],
    [{ code: 'abcd' }, 'code: length 4 exceeds maxLength 3'],
    [{ tags: 'a' }, 'tags: expected an array (REPEATED STRING), got "a"'],
    [{ tags: ['a', null] }, 'tags[1]: null is not allowed in a REPEATED field'],
    [{ tags: [['a']] }, 'tags[0]: nested arrays are not allowed'],
    [{ readings: [{ unit: 'C' }] }, 'readings[0].value: REQUIRED field is missing'],
    [{ loc: 5 }, 'loc: expected RECORD, got 5'],
    [{ loc: { lat: true } }, 'loc.lat: expected FLOAT64, got true'],
    [{ device_id: null }, 'device_id: REQUIRED field is null'],
    [{ device_id: 7 }, 'device_id: expected STRING, got 7'],
    [{ temp: [1] }, 'temp: expected FLOAT64, got an array'],
  ])('refuses %j with the field path', (row, message) => {
    expect(problem(row)).toContain(message);
  });

  it('refuses a row without a REQUIRED field, and a row that is not an object', () => {
    expect(validator.check({ count: 1 })).toEqual({
      ok: false,
      violation: { path: 'device_id', message: 'device_id: REQUIRED field is missing' },
    });
    const notObject = validator.check([1]);
    expect(notObject.ok).toBe(false);
  });

  it('matches column names case-insensitively, like BigQuery', () => {
    expect(validator.check({ DEVICE_ID: 'd', Count: 3 })).toEqual({ ok: true, unknown: [] });
  });

  it('reports unknown fields with their paths and strips them on request', () => {
    const row = {
      device_id: 'd',
      extra: 1,
      loc: { lat: 1, alt: 2 },
      readings: [{ value: 1, note: 'x' }],
    };
    const check = validator.check(row);
    expect(check).toEqual({
      ok: true,
      unknown: [
        { path: 'extra', parents: [], name: 'extra', value: 1 },
        { path: 'loc.alt', parents: ['loc'], name: 'alt', value: 2 },
        { path: 'readings[0].note', parents: ['readings'], name: 'note', value: 'x' },
      ],
    });
    expect(validator.strip(row)).toEqual({
      device_id: 'd',
      loc: { lat: 1 },
      readings: [{ value: 1 }],
    });
  });

  it('accepts epoch seconds and the space-separated forms for TIMESTAMP', () => {
    expect(problem({ ts: 1767225600.5 })).toBeUndefined();
    expect(problem({ ts: '2026-01-01 00:00:00.5 UTC' })).toBeUndefined();
    expect(problem({ ts: '2026/01/01 10:00+02:00' })).toBeUndefined();
    expect(problem({ ts: 1e20 })).toContain('out of TIMESTAMP range');
  });
});
