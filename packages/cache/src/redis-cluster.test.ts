import { startRedisCluster, uniqueName, type RedisCluster } from '@tributary/local-gcp';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCacheChain } from './chain.js';
import { createRedisClient } from './redis-client.js';
import { createRedisLayer } from './redis-layer.js';
import { createStaticSource } from './static-source.js';
import { counting, waitFor } from './test-support/backends.js';
import {
  describeFetcherContract,
  describeStoreContract,
  type TestRecord,
} from './testing/index.js';

// A private 3-master Redis Cluster, as the app builds its client with REDIS_CLUSTER=true: every
// suite below runs the Redis layer against it.
let cluster: RedisCluster;
const clients: (Redis | Cluster)[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
}, 60_000);
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await cluster.stop();
});

/** A client made the way apps/enrichment makes it from REDIS_URL and REDIS_CLUSTER=true. */
function clusterClient(): Cluster {
  const client = createRedisClient({ url: cluster.url, cluster: true });
  clients.push(client);
  return client as Cluster;
}

/** `MGET` commands each master has served so far (from INFO commandstats), in node order. */
async function mgetCalls(): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const redis = new Redis(node.url, { maxRetriesPerRequest: 0 });
      try {
        const stats = await redis.info('commandstats');
        return Number(/cmdstat_mget:calls=(\d+)/.exec(stats)?.[1] ?? 0);
      } finally {
        redis.disconnect();
      }
    }),
  );
}

describeFetcherContract('Redis layer on a Cluster', {
  async create(records) {
    const layer = createRedisLayer<TestRecord>({
      client: clusterClient(),
      namespace: uniqueName('ns'),
    });
    for (const [key, value] of records) await layer.set(key, value);
    return layer;
  },
});

describeStoreContract('Redis layer on a Cluster', {
  create: async () =>
    createRedisLayer<TestRecord>({ client: clusterClient(), namespace: uniqueName('ns') }),
  expires: true,
});

describe('Redis layer on a Cluster', () => {
  it('coalesces a getMany across slots of every master into one MGET per slot', async () => {
    const client = clusterClient();
    const namespace = uniqueName('slots');
    const layer = createRedisLayer<number>({ client, namespace });
    const keys = Array.from({ length: 60 }, (_, i) => `device-${i}`);
    for (const [i, key] of keys.entries()) if (i % 4 !== 0) await layer.set(key, i);
    const slots = new Set(keys.map((key) => calculateSlot(`${namespace}:${key}`)));
    // The keys are spread over every master, so a plain MGET of them would fail with CROSSSLOT.
    const owners = new Set(
      keys.map((key) => (client.slots[calculateSlot(`${namespace}:${key}`)] ?? [])[0]),
    );
    expect(owners.size).toBe(3);

    const before = await mgetCalls();
    const values = await layer.getMany(keys);
    const after = await mgetCalls();

    expect(values).toEqual(keys.map((_, i) => (i % 4 === 0 ? undefined : i)));
    expect(layer.stats()).toMatchObject({ batches: 1, hits: 45, misses: 15, errors: 0 });
    const sent = after.map((calls, n) => calls - (before[n] ?? 0));
    expect(sent.reduce((a, b) => a + b, 0)).toBe(slots.size);
    expect(sent.every((calls) => calls > 0)).toBe(true);
  });

  it('coalesces concurrent gets of one turn the same way, each caller getting its own value', async () => {
    const layer = createRedisLayer<string>({
      client: clusterClient(),
      namespace: uniqueName('turn'),
    });
    for (let i = 0; i < 40; i++) await layer.set(`k${i}`, `v${i}`);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i % 50}`);
    const values = await Promise.all(keys.map((key) => layer.get(key)));
    expect(values).toEqual(keys.map((_, i) => (i % 50 < 40 ? `v${i % 50}` : undefined)));
    expect(layer.stats()).toMatchObject({ batches: 1, hits: 40, misses: 10 });
  });

  it('keeps namespaces apart on a Cluster', async () => {
    const client = clusterClient();
    const a = createRedisLayer<string>({ client, namespace: uniqueName('a') });
    const b = createRedisLayer<string>({ client, namespace: uniqueName('b') });
    await a.set('device-1', 'from a');
    expect(await b.get('device-1')).toBeUndefined();
    await b.set('device-1', 'from b');
    expect(await a.get('device-1')).toBe('from a');
    await a.delete('device-1');
    expect(await a.get('device-1')).toBeUndefined();
    expect(await b.get('device-1')).toBe('from b');
  });

  it('writes back with a jittered TTL on every master, then the entries expire', async () => {
    const client = clusterClient();
    const namespace = uniqueName('ttl');
    const layer = createRedisLayer<number>({
      client,
      namespace,
      ttlMs: 1_500,
      ttlJitterRatio: 0.5,
    });
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    layer.write(keys.map((key, i) => ({ key, lookup: { found: true as const, value: i } })));
    await layer.flush();
    expect(layer.stats()).toMatchObject({ writes: 30, writeErrors: 0, pendingWrites: 0 });
    const ttls = await Promise.all(keys.map((key) => client.pttl(`${namespace}:${key}`)));
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1_500);
    }
    expect(new Set(ttls).size).toBeGreaterThan(1);
    expect(await layer.getMany(keys)).toEqual(keys.map((_, i) => i));
    await waitFor(
      async () => (await layer.getMany(keys)).every((value) => value === undefined),
      'every entry to expire',
    );
  });

  it('serves a read-through chain: write-back lands in the Cluster, expiry sends the next read to the source', async () => {
    const namespace = uniqueName('chain');
    const records = new Map(
      Array.from({ length: 20 }, (_, i) => [`d${i}`, { id: `d${i}`, n: i, site: `s${i % 3}` }]),
    );
    const source = counting(createStaticSource<TestRecord>(records));
    const layer = () =>
      createRedisLayer<TestRecord>({ client: clusterClient(), namespace, ttlMs: 1_000 });
    const keys = [...records.keys()];

    const first = createCacheChain<TestRecord>({ layers: [layer()], source });
    expect(await first.getMany(keys)).toEqual([...records.values()]);
    await first.stop(); // drains the write-backs
    expect(source.asked).toHaveLength(20);

    // Another instance finds every key in the Cluster, none in the source.
    const secondLayer = layer();
    const second = createCacheChain<TestRecord>({ layers: [secondLayer], source });
    expect(await second.getMany(keys)).toEqual([...records.values()]);
    expect(secondLayer.stats()).toMatchObject({ hits: 20, misses: 0 });
    expect(source.asked).toHaveLength(20);

    // Once the TTL has passed, the source is read again.
    await waitFor(
      async () => (await secondLayer.getMany(keys)).every((value) => value === undefined),
      'the written-back entries to expire',
    );
    expect(await second.get('d7')).toEqual(records.get('d7'));
    expect(source.asked.slice(20)).toEqual(['d7']);
    await second.stop();
  });
});
