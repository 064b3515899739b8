// The chain example of the README, run as it is written there (console is shadowed).
import { describe, expect, it } from 'vitest';
import { createCacheChain, createLruLayer, createStaticSource } from './index.js';

describe('README example', () => {
  it('reads through, then hits the LRU, and remembers a miss', async () => {
    const lines: unknown[] = [];
    const console = { log: (value: unknown) => lines.push(value) };

    const devices = createStaticSource(new Map([['d1', { name: 'pump', location: 'north' }]]));
    const chain = createCacheChain({
      layers: [createLruLayer({ maxEntries: 10_000, ttlMs: 60_000 })], // add createRedisLayer(...) here
      source: devices, // or createFirestoreSource({ firestore, collection: 'devices' })
      negativeTtlMs: 30_000,
    });
    await chain.start();
    console.log(await chain.get('d1')); // { name: 'pump', location: 'north' } (read from the source)
    console.log(await chain.get('d1')); // the same, from the LRU
    console.log(await chain.get('ghost')); // undefined, and remembered for 30 s
    await chain.stop();

    expect(lines).toEqual([
      { name: 'pump', location: 'north' },
      { name: 'pump', location: 'north' },
      undefined,
    ]);
    expect(devices.stats()).toEqual({ hits: 1, misses: 1, records: 1 });
  });
});
