import {
  createCacheChain,
  createLruLayer,
  createRedisClient,
  createRedisLayer,
  createStaticSource,
} from '@tributary/cache';
import { testEnv, uniqueName } from '@tributary/local-gcp';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Reference } from './fetchers.js';
import { startHarness } from './test-support/harness.js';

describe('lookups across the messages in flight', () => {
  it('a stream of LRU misses costs one Redis round trip per batch, not one per message', async () => {
    const client = createRedisClient({ url: testEnv().REDIS_URL });
    onTestFinished(() => {
      client.disconnect();
    });
    const count = 1_000;
    const records = new Map<string, Reference>(
      Array.from({ length: count }, (_, i) => [`d${i}`, { n: i }]),
    );
    const redisLayer = createRedisLayer<Reference>({ client, namespace: uniqueName('batch') });
    for (const [key, value] of records) redisLayer.write([{ key, lookup: { found: true, value } }]);
    await redisLayer.flush();
    const chain = createCacheChain<Reference>({
      layers: [createLruLayer<string, Reference>(), redisLayer],
      source: createStaticSource(new Map()),
    });
    const h = await startHarness({
      yaml: 'fetchers:\n  devices: { source: { file: x.json } }\nlookups:\n  - { name: device, fetcher: devices, key: { attribute: deviceId } }\n',
      fetchers: new Map([['devices', chain]]),
      concurrency: 200,
    });
    onTestFinished(() => h.close());
    const batchesBefore = redisLayer.stats().batches;
    for (let i = 0; i < count; i++) await h.publishJson({ i }, { deviceId: `d${i}` });
    await h.until(() => h.enriched.length === count, 'every message');
    const batches = redisLayer.stats().batches - batchesBefore;
    process.stdout.write(`${count} distinct LRU misses: ${batches} MGETs\n`);
    expect(redisLayer.stats().hits).toBe(count);
    expect(batches).toBeLessThanOrEqual(count / 20);
  });
});
