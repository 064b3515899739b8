import { InvalidArgumentError } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { compileKeyTemplate, type KeyInput } from './key-template.js';
import { joinObjectName, safePathPart } from './path-safety.js';

const at = new Date('2026-12-01T10:15:30.123Z');
const input = (over: Partial<KeyInput> = {}): KeyInput => ({
  publishTime: at,
  attributes: {},
  enrichment: {},
  payload: undefined,
  ...over,
});

describe('key template', () => {
  it('builds date and enrichment parts, with the placeholder for a missing part', () => {
    const template = compileKeyTemplate({
      template: '{yyyy}/{MM}/{dd}/{enrichment.device.location}',
    });
    expect(template.key(input({ enrichment: { device: { location: 'north' } } }))).toBe(
      '2026/12/01/north',
    );
    expect(template.key(input())).toBe('2026/12/01/_unknown');
    expect(template.key(input({ enrichment: { device: { location: '' } } }))).toBe(
      '2026/12/01/_unknown',
    );
  });

  it('defaults to the date, with the hour when hourly, and a Hive layout', () => {
    expect(compileKeyTemplate().key(input())).toBe('2026/12/01');
    expect(compileKeyTemplate({ hourly: true }).key(input())).toBe('2026/12/01/10');
    const hive = compileKeyTemplate({
      layout: 'hive',
      template: 'dt={yyyy}-{MM}-{dd}/location={attributes.location}',
    });
    expect(hive.key(input({ attributes: { location: 'north' } }))).toBe(
      'dt=2026-12-01/location=north',
    );
    expect(compileKeyTemplate({ layout: 'hive', hourly: true }).key(input())).toBe(
      'dt=2026-12-01/hour=10',
    );
    expect(() => compileKeyTemplate({ layout: 'hive', template: '{yyyy}' })).toThrow(/hive/);
  });

  it('takes the date from a payload field within the skew bound, else the publish time', () => {
    const template = compileKeyTemplate({ timestampField: 'meta.ts', maxClockSkewMs: 86_400_000 });
    const within = input({ payload: { meta: { ts: '2026-11-30T23:00:00Z' } } });
    expect(template.key(within)).toBe('2026/11/30');
    const epoch = input({ payload: { meta: { ts: Date.parse('2026-11-30T23:00:00Z') } } });
    expect(template.key(epoch)).toBe('2026/11/30');
    expect(template.key(input({ payload: { meta: { ts: '1999-01-01T00:00:00Z' } } }))).toBe(
      '2026/12/01',
    );
    expect(template.key(input({ payload: { meta: { ts: 'not a date' } } }))).toBe('2026/12/01');
    expect(template.key(input())).toBe('2026/12/01');
  });

  it('rejects unknown parts, unsafe literals and empty segments', () => {
    for (const template of ['{nope}', '../{yyyy}', 'a//b', '{yyyy', 'x y/{dd}', '{attributes.}']) {
      expect(() => compileKeyTemplate({ template }), template).toThrow(InvalidArgumentError);
    }
  });

  it('keeps injected values under the prefix: ../../etc, a/b, %2e%2e, control characters, 5 KB', () => {
    const template = compileKeyTemplate({ template: '{yyyy}/{attributes.location}' });
    const hostile = [
      '../../etc',
      'a/b',
      '%2e%2e',
      '..',
      '.',
      'x\u0000\n\u001b',
      'é/ü',
      'x'.repeat(5_000),
    ];
    const keys = hostile.map((location) => template.key(input({ attributes: { location } })));
    for (const key of keys) {
      const segments = key.split('/');
      expect(segments).toHaveLength(2);
      expect(segments[1]!.length).toBeLessThanOrEqual(128);
      expect(segments[1]).toMatch(/^[A-Za-z0-9_.%~-]+$/);
      expect(['.', '..']).not.toContain(segments[1]);
      const name = joinObjectName('archive', [...segments, 'f.jsonl.gz']);
      expect(name.startsWith('archive/2026/')).toBe(true);
    }
    expect(keys.slice(0, 4)).toEqual([
      '2026/..%2F..%2Fetc',
      '2026/a%2Fb',
      '2026/%252e%252e',
      '2026/%2E%2E',
    ]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps distinct long values distinct and never cuts inside an escape', () => {
    const a = safePathPart(`${'/'.repeat(100)}a`, { maxLength: 40 });
    const b = safePathPart(`${'/'.repeat(100)}b`, { maxLength: 40 });
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(40);
    expect(a).toMatch(/^(%2F)+~[0-9a-f]{8}$/);
    expect(() => joinObjectName('p', ['..'])).toThrow(RangeError);
  });
});
