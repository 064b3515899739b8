import type { Firestore } from '@google-cloud/firestore';
import { findFreePort, startRedis, uniqueName } from '@tributary/local-gcp';
import { TributaryError } from '@tributary/messagepipeline';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createCacheChain } from './chain.js';
import { createFirestoreSource } from './firestore-source.js';
import { createRedisInvalidationBus } from './invalidation.js';
import { createLruLayer } from './lru-layer.js';
import type { Fetcher } from './ports.js';
import { createRedisClient } from './redis-client.js';
import { createRedisLayer } from './redis-layer.js';
import { createStaticSource } from './static-source.js';
import {
  counting,
  firestoreClient,
  redisClient,
  seedCollection,
  waitFor,
} from './test-support/backends.js';
import { describeFetcherContract, type TestRecord } from './testing/index.js';

const redisClients: Redis[] = [];
const firestores: Firestore[] = [];
function redis(): Redis {
  const client = redisClient();
  redisClients.push(client);
  return client;
}
function firestore(): Firestore {
  const client = firestoreClient();
  firestores.push(client);
  return client;
}
afterAll(async () => {
  for (const client of redisClients) client.disconnect();
  for (const client of firestores) await client.terminate();
});

describeFetcherContract('cache chain (LRU -> Redis -> Firestore)', {
  async create(records) {
    const db = firestore();
    const collection = await seedCollection(db, records);
    return createCacheChain<TestRecord>({
      layers: [
        createLruLayer<string, TestRecord>(),
        createRedisLayer<TestRecord>({ client: redis(), namespace: uniqueName('chain') }),
      ],
      source: createFirestoreSource<TestRecord>({ firestore: db, collection }),
    });
  },
  async createUnreachable() {
    const failing: Fetcher<string, TestRecord> = {
      name: 'down',
      get: () => Promise.reject(TributaryError.transient('UNAVAILABLE', 'source down')),
      getMany: () => Promise.reject(TributaryError.transient('UNAVAILABLE', 'source down')),
    };
    return createCacheChain<TestRecord>({
      layers: [createLruLayer<string, TestRecord>()],
      source: failing,
    });
  },
});

/** A source that fails while `down` is true. */
function switchable<V>(fetcher: Fetcher<string, V>): Fetcher<string, V> & { down: boolean } {
  const source = {
    name: fetcher.name,
    down: false,
    get(key: string) {
      return source.down
        ? Promise.reject(TributaryError.transient('UNAVAILABLE', 'source down'))
        : fetcher.get(key);
    },
    getMany(keys: readonly string[]) {
      return source.down
        ? Promise.reject(TributaryError.transient('UNAVAILABLE', 'source down'))
        : fetcher.getMany(keys);
    },
  };
  return source;
}

describe('cache chain', () => {
  it('single-flight: 100 concurrent gets of one missing key cause exactly one Firestore read', async () => {
    const db = firestore();
    const collection = await seedCollection(db, new Map([['other', { n: 1 }]]));
    const source = createFirestoreSource({ firestore: db, collection });
    const chain = createCacheChain({
      layers: [createLruLayer<string, Record<string, unknown>>()],
      source,
    });
    const values = await Promise.all(Array.from({ length: 100 }, () => chain.get('missing')));
    expect(values).toEqual(Array.from({ length: 100 }, () => undefined));
    expect(source.stats()).toMatchObject({ documentsRead: 1, batches: 1 });
    expect(chain.stats()).toMatchObject({ requests: 100, coalesced: 99, sourceReads: 1 });
  });

  it('reads through and writes back into every layer above; the next get is an LRU hit', async () => {
    const lru = createLruLayer<string, TestRecord>();
    const redisLayer = createRedisLayer<TestRecord>({
      client: redis(),
      namespace: uniqueName('wb'),
    });
    const source = counting(createStaticSource(new Map([['d1', { site: 'north' }]])));
    const chain = createCacheChain<TestRecord>({ layers: [lru, redisLayer], source });
    expect(await chain.get('d1')).toEqual({ site: 'north' });
    await chain.stop();
    expect(await redisLayer.get('d1')).toEqual({ site: 'north' });
    expect(await chain.get('d1')).toEqual({ site: 'north' });
    expect(lru.stats().hits).toBe(1);
    expect(source.asked).toEqual(['d1']);
    // A fresh instance (empty LRU) finds it in Redis, not the source.
    const other = createCacheChain<TestRecord>({
      layers: [createLruLayer<string, TestRecord>(), redisLayer],
      source,
    });
    expect(await other.get('d1')).toEqual({ site: 'north' });
    expect(source.asked).toEqual(['d1']);
  });

  it('caches a miss for negativeTtlMs, in the LRU and in Redis', async () => {
    let now = 0;
    const redisLayer = createRedisLayer<TestRecord>({
      client: redis(),
      namespace: uniqueName('neg'),
    });
    const source = counting(createStaticSource<TestRecord>(new Map()));
    const chain = createCacheChain<TestRecord>({
      layers: [createLruLayer<string, TestRecord>({ now: () => now }), redisLayer],
      source,
      negativeTtlMs: 1_000,
    });
    expect(await chain.get('ghost')).toBeUndefined();
    expect(await chain.get('ghost')).toBeUndefined();
    expect(source.asked).toEqual(['ghost']);
    await chain.stop();
    expect(await redisLayer.read(['ghost'])).toEqual([{ found: false }]);
    now = 2_000; // the LRU's negative entry expired; Redis still remembers (real time)
    expect(await chain.get('ghost')).toBeUndefined();
    expect(source.asked).toEqual(['ghost']);
  });

  it('does not cache misses with negativeTtlMs 0', async () => {
    const source = counting(createStaticSource<TestRecord>(new Map()));
    const chain = createCacheChain<TestRecord>({
      layers: [createLruLayer<string, TestRecord>()],
      source,
      negativeTtlMs: 0,
    });
    await chain.get('ghost');
    await chain.get('ghost');
    expect(source.asked).toEqual(['ghost', 'ghost']);
  });

  it('stale-if-error: serves an expired LRU value within the staleness bound when the source fails, and counts it', async () => {
    let now = 0;
    const source = switchable(createStaticSource(new Map([['d1', { v: 1 }]])));
    const lru = createLruLayer<string, TestRecord>({
      ttlMs: 100,
      maxStalenessMs: 10_000,
      now: () => now,
    });
    const chain = createCacheChain<TestRecord>({ layers: [lru], source, staleIfErrorMs: 1_000 });
    expect(await chain.get('d1')).toEqual({ v: 1 });
    source.down = true;
    now = 500; // expired 400 ms ago
    expect(await chain.get('d1')).toEqual({ v: 1 });
    expect(chain.stats()).toMatchObject({ staleServed: 1, sourceErrors: 0 });
    now = 5_000; // expired 4.9 s ago: beyond staleIfErrorMs
    await expect(chain.get('d1')).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    expect(chain.stats()).toMatchObject({ staleServed: 1, sourceErrors: 1 });
  });

  it('without stale-if-error, a source failure rejects, classified', async () => {
    const source = switchable(createStaticSource(new Map([['d1', { v: 1 }]])));
    source.down = true;
    const chain = createCacheChain<TestRecord>({
      layers: [createLruLayer<string, TestRecord>()],
      source,
    });
    await expect(chain.get('d1')).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
  });

  it('a Redis error does not skip the source: the lookup goes on to Firestore', async () => {
    const broken = createRedisClient({
      url: `redis://127.0.0.1:${await findFreePort()}`,
      commandTimeoutMs: 200,
    });
    onTestFinished(() => {
      broken.disconnect();
    });
    const db = firestore();
    const collection = await seedCollection(db, new Map([['d1', { site: 'north' }]]));
    const chain = createCacheChain({
      layers: [createRedisLayer<Record<string, unknown>>({ client: broken, namespace: 'x' })],
      source: createFirestoreSource({ firestore: db, collection }),
    });
    expect(await chain.get('d1')).toEqual({ site: 'north' });
    expect(chain.stats()).toMatchObject({ layerErrors: 1, sourceReads: 1 });
    await chain.stop();
  });

  it('opens the circuit of a failing Redis (degraded, still ready), bypasses it, and closes it once Redis is back', async () => {
    const server = await startRedis({ reuseExisting: false });
    onTestFinished(() => server.stop());
    const client = createRedisClient({
      url: server.url,
      commandTimeoutMs: 300,
      maxReconnectDelayMs: 100,
    });
    onTestFinished(() => {
      client.disconnect();
    });
    const redisLayer = createRedisLayer<TestRecord>({ client, namespace: uniqueName('breaker') });
    const source = counting(
      createStaticSource(
        new Map(Array.from({ length: 100 }, (_, i) => [`d${i}`, { n: i }] as const)),
      ),
    );
    const chain = createCacheChain<TestRecord>({
      layers: [redisLayer],
      source,
      breaker: { failureThreshold: 3, cooldownMs: 200 },
    });
    await chain.start();
    onTestFinished(() => chain.stop());
    expect(await chain.get('d0')).toEqual({ n: 0 });
    expect(chain.health()).toEqual({ ready: true, degraded: false });

    await server.stop();
    for (let i = 1; i < 10; i++) expect(await chain.get(`d${i}`)).toEqual({ n: i });
    expect(chain.circuits().get('redis')).toBe('open');
    expect(chain.health()).toMatchObject({
      ready: true,
      degraded: true,
      detail: expect.stringContaining('redis (circuit open)') as string,
    });
    expect(chain.stats().bypassed).toBeGreaterThan(0);

    const restarted = await startRedis({ reuseExisting: false, port: server.port });
    onTestFinished(() => restarted.stop());
    await waitFor(async () => {
      await chain.get(`d${Math.floor(Math.random() * 100)}`);
      return chain.circuits().get('redis') === 'closed';
    }, 'the circuit to close');
    expect(chain.health()).toEqual({ ready: true, degraded: false });
    expect(chain.stats().circuitOpens).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('invalidates through every layer, and other instances drop the key from their LRU', async () => {
    const channel = uniqueName('invalidate');
    const namespace = uniqueName('inv');
    const data = new Map<string, TestRecord>([['d1', { v: 1 }]]);
    const source = createStaticSource(data);
    const instance = () => {
      const subscriber = redis();
      const publisher = redis();
      return createCacheChain<TestRecord>({
        layers: [
          createLruLayer<string, TestRecord>(),
          createRedisLayer<TestRecord>({ client: publisher, namespace }),
        ],
        source,
        invalidations: createRedisInvalidationBus({ publisher, subscriber, channel }),
      });
    };
    const a = instance();
    const b = instance();
    await a.start();
    await b.start();
    onTestFinished(async () => {
      await a.stop();
      await b.stop();
    });
    expect(await a.get('d1')).toEqual({ v: 1 });
    expect(await b.get('d1')).toEqual({ v: 1 }); // now in b's LRU too
    data.set('d1', { v: 2 });
    await b.invalidate('d1');
    await waitFor(
      () => a.stats().invalidationsHeard === 1 && b.stats().invalidationsHeard === 1,
      'both instances to hear it',
    );
    expect(await b.get('d1')).toEqual({ v: 2 });
    expect(await a.get('d1')).toEqual({ v: 2 });
  });
});
