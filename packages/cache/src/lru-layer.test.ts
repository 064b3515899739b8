import { describe, expect, it } from 'vitest';
import { createLruLayer } from './lru-layer.js';
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
