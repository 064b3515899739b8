import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  createLruLayer,
  estimateEntryBytes,
  estimateHeapBytes,
  LRU_ENTRY_OVERHEAD_BYTES,
} from './lru-layer.js';
import {
  describeFetcherContract,
  describeStoreContract,
  type TestRecord,
} from './testing/index.js';

describeFetcherContract('LRU layer', {
  async create(records) {
    const layer = createLruLayer<string, TestRecord>();
    for (const [key, value] of records) await layer.set(key, value);
    return layer;
  },
});

describeStoreContract('LRU layer', {
  create: async () => createLruLayer<string, TestRecord>(),
  expires: true,
});

describe('LRU layer', () => {
  it('evicts the least recently used entry past maxEntries; a hit refreshes recency', async () => {
    const layer = createLruLayer<string, number>({ maxEntries: 3 });
    await layer.set('a', 1);
    await layer.set('b', 2);
    await layer.set('c', 3);
    expect(await layer.get('a')).toBe(1); // a is now the most recent; b the least
    await layer.set('d', 4);
    expect(await layer.getMany(['a', 'b', 'c', 'd'])).toEqual([1, undefined, 3, 4]);
    expect(layer.stats()).toMatchObject({ entries: 3, evictions: 1 });
  });

  it('evicts by bytes too', async () => {
    const layer = createLruLayer<string, string>({
      maxEntries: 1_000,
      maxBytes: 100,
      sizeOf: (_key, value) => value?.length ?? 1,
    });
    await layer.set('a', 'x'.repeat(40));
    await layer.set('b', 'x'.repeat(40));
    await layer.set('c', 'x'.repeat(40));
    expect(await layer.getMany(['a', 'b', 'c'])).toEqual([
      undefined,
      'x'.repeat(40),
      'x'.repeat(40),
    ]);
    expect(layer.stats()).toMatchObject({ entries: 2, bytes: 80, evictions: 1 });
  });

  it('expires an entry after its TTL; a write may shorten it, never lengthen it', async () => {
    let now = 1_000;
    const layer = createLruLayer<string, number>({ ttlMs: 100, now: () => now });
    await layer.set('a', 1);
    await layer.set('short', 2, { ttlMs: 10 });
    await layer.set('long', 3, { ttlMs: 10_000 });
    now += 50;
    expect(await layer.getMany(['a', 'short', 'long'])).toEqual([1, undefined, 3]);
    now += 50;
    expect(await layer.getMany(['a', 'long'])).toEqual([undefined, undefined]);
    expect(layer.stats()).toMatchObject({ entries: 0, expirations: 3 });
  });

  it('keeps an expired value for maxStalenessMs for stale-if-error, but never serves it as fresh', async () => {
    let now = 0;
    const layer = createLruLayer<string, number>({
      ttlMs: 100,
      maxStalenessMs: 1_000,
      now: () => now,
    });
    await layer.set('a', 1);
    now = 150;
    expect(await layer.get('a')).toBeUndefined();
    expect(layer.readStale('a', 100)).toEqual({ found: true, value: 1 });
    expect(layer.readStale('a', 10)).toBeUndefined(); // expired 50 ms ago: too stale for 10
    now = 1_200;
    expect(layer.readStale('a', 10_000)).toBeUndefined(); // past the staleness window
    expect(layer.stats().staleServed).toBe(1);
  });

  it('remembers an absence until its own TTL, and never serves it stale', async () => {
    let now = 0;
    const layer = createLruLayer<string, number>({
      ttlMs: 1_000,
      maxStalenessMs: 1_000,
      now: () => now,
    });
    layer.write([{ key: 'gone', lookup: { found: false }, ttlMs: 10 }]);
    expect(layer.readSync('gone')).toEqual({ found: false });
    expect(await layer.get('gone')).toBeUndefined();
    now = 20;
    expect(layer.readSync('gone')).toBeUndefined();
    expect(layer.readStale('gone', 1_000)).toBeUndefined();
    expect(layer.stats()).toMatchObject({ negativeHits: 2 });
  });

  it('refuses invalid options, naming them', () => {
    expect(() => createLruLayer({ maxEntries: 0 })).toThrow("'maxEntries' must be an integer >= 1");
    expect(() => createLruLayer({ ttlMs: -1 })).toThrow("'ttlMs'");
  });
});

// V8's collector, exposed at run time (vitest's workers do not start with --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap growth of filling a layer with `count` entries made by `entry` (none kept elsewhere). */
function measuredFill(
  count: number,
  entry: (i: number) => [string, unknown],
): { perEntryMeasured: number; perEntryCounted: number } {
  const layer = createLruLayer<string, object | string>({
    maxEntries: count,
    maxBytes: 2 ** 31,
    ttlMs: 3_600_000,
  });
  // All synchronous from here to the second reading: nothing else allocates in between.
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const [key, value] = entry(i);
    layer.write([{ key, lookup: { found: true, value: value as object | string } }]);
  }
  gc();
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  const stats = layer.stats();
  if (stats.entries !== count) throw new Error(`${stats.entries} entries, not ${count}`);
  return { perEntryMeasured: grown / count, perEntryCounted: stats.bytes / count };
}

// JSON.parse builds values as a Redis or Firestore layer hands them over: fresh objects and
// strings (V8 shares JSON string values of up to 10 characters; these are longer and unique).
const fromJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('LRU layer byte accounting', () => {
  it('estimates the heap of known shapes', () => {
    expect(estimateHeapBytes('abcdefgh')).toBe(24); // 16 header + 8 one-byte characters
    expect(estimateHeapBytes('abcdefghi')).toBe(32); // rounded up to 8
    expect(estimateHeapBytes('\u20ac'.repeat(8))).toBe(32); // two bytes a character
    expect(estimateHeapBytes(7)).toBe(0); // a small integer lives in its slot
    expect(estimateHeapBytes(2.5)).toBe(16); // a heap number
    expect(estimateHeapBytes(true) + estimateHeapBytes(null)).toBe(0);
    expect(estimateHeapBytes({ a: 1, b: 'abcdefgh' })).toBe(24 + 2 * 8 + 24);
    expect(estimateHeapBytes([1, 2.5])).toBe(48 + 2 * 8 + 16);
    expect(estimateEntryBytes('k', undefined)).toBe(LRU_ENTRY_OVERHEAD_BYTES + 24);
  });

  it('counts what a fill really adds to the heap, within 15 %', () => {
    const shapes: [string, (i: number) => [string, unknown]][] = [
      [
        'device record',
        (i) => [
          `device-${i}`,
          fromJson({
            name: `pump number ${i}`,
            location: `north-field-${i}`,
            installed: `2024-05-01T00:00:${i}Z`,
            depthM: 12.5 + i,
            alarms: i,
          }),
        ],
      ],
      ['string', (i) => [`key-${i}`, fromJson(`value ${i} `.padEnd(60, 'x'))]],
      [
        'nested',
        (i) => [
          `k${i}`,
          fromJson({
            a: [1, 2.5, `element-${i}`],
            b: { c: true, d: null, e: `${'y'.repeat(100)}${i}` },
          }),
        ],
      ],
      ['small', (i) => [`d${i}`, fromJson({ n: i })]],
    ];
    for (const [shape, entry] of shapes) {
      const { perEntryMeasured, perEntryCounted } = measuredFill(20_000, entry);
      expect(
        Math.abs(perEntryCounted / perEntryMeasured - 1),
        `${shape}: counted ${perEntryCounted.toFixed(1)} B per entry, measured ${perEntryMeasured.toFixed(1)} B`,
      ).toBeLessThan(0.15);
    }
  });

  it('keeps the heap it holds within maxBytes', () => {
    const maxBytes = 2 * 2 ** 20;
    const layer = createLruLayer<string, object>({ maxEntries: 1_000_000, maxBytes });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 50_000; i++) {
      layer.write([
        {
          key: `device-${i}`,
          lookup: { found: true, value: fromJson({ name: `pump number ${i}` }) },
        },
      ]);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(layer.stats().bytes).toBeLessThanOrEqual(maxBytes);
    expect(layer.stats().evictions).toBeGreaterThan(0);
    // Up to 20 % over: the key map's hash table keeps evicted entries' slots until it rehashes.
    expect(grown).toBeLessThan(maxBytes * 1.2);
  });
});
