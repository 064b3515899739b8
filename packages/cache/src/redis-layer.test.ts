import { findFreePort, uniqueName } from '@tributary/local-gcp';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisLayer } from './redis-layer.js';
import { createRedisClient } from './redis-client.js';
import { redisClient, waitFor } from './test-support/backends.js';
import {
  describeFetcherContract,
  describeStoreContract,
  type TestRecord,
} from './testing/index.js';

const clients: Redis[] = [];
function client(): Redis {
  const redis = redisClient();
  clients.push(redis);
  return redis;
}
afterAll(() => {
  for (const redis of clients) redis.disconnect();
});

describeFetcherContract('Redis layer', {
  async create(records) {
    const layer = createRedisLayer<TestRecord>({ client: client(), namespace: uniqueName('ns') });
    for (const [key, value] of records) await layer.set(key, value);
    return layer;
  },
  async createUnreachable() {
    const redis = createRedisClient({
      url: `redis://127.0.0.1:${await findFreePort()}`,
      commandTimeoutMs: 200,
    });
    clients.push(redis as Redis);
    return createRedisLayer<TestRecord>({ client: redis, namespace: uniqueName('ns') });
  },
});

describeStoreContract('Redis layer', {
  create: async () =>
    createRedisLayer<TestRecord>({ client: client(), namespace: uniqueName('ns') }),
  expires: true,
});

describe('Redis layer', () => {
  it('keeps namespaces apart: the same key in two namespaces is two entries', async () => {
    const redis = client();
    const a = createRedisLayer<string>({ client: redis, namespace: uniqueName('a') });
    const b = createRedisLayer<string>({ client: redis, namespace: uniqueName('b') });
    await a.set('device-1', 'from a');
    expect(await b.get('device-1')).toBeUndefined();
    await b.set('device-1', 'from b');
    expect(await a.get('device-1')).toBe('from a');
    await a.delete('device-1');
    expect(await b.get('device-1')).toBe('from b');
  });

  it('coalesces the lookups of one event-loop turn into one MGET', async () => {
    const layer = createRedisLayer<number>({ client: client(), namespace: uniqueName('mget') });
    for (let i = 0; i < 50; i++) await layer.set(`k${i}`, i);
    const before = layer.stats().batches;
    const keys = Array.from({ length: 300 }, (_, i) => `k${i % 60}`);
    const values = await Promise.all(keys.map((key) => layer.get(key)));
    expect(values).toEqual(keys.map((_, i) => (i % 60 < 50 ? i % 60 : undefined)));
    expect(layer.stats().batches - before).toBe(1);
    // Each distinct key is read once.
    expect(layer.stats()).toMatchObject({ hits: 50, misses: 10 });
  });

  it('serves get, read and readOne of the same keys in one turn from one MGET', async () => {
    const layer = createRedisLayer<number>({ client: client(), namespace: uniqueName('mixed') });
    await layer.set('k1', 1);
    layer.write([{ key: 'gone', lookup: { found: false } }]);
    await layer.flush();
    const before = layer.stats().batches;
    const [values, lookups, one, again] = await Promise.all([
      Promise.all(['k1', 'gone', 'none'].map((key) => layer.get(key))),
      layer.read(['k1', 'gone', 'none']),
      layer.readOne('k1'),
      layer.get('k1'),
    ]);
    expect(values).toEqual([1, undefined, undefined]);
    expect(lookups).toEqual([{ found: true, value: 1 }, { found: false }, undefined]);
    expect(one).toEqual({ found: true, value: 1 });
    expect(again).toBe(1);
    expect(layer.stats().batches - before).toBe(1);
    expect(layer.stats()).toMatchObject({ hits: 1, negativeHits: 1, misses: 1 });
  });

  it('splits a turn larger than maxBatchSize into several MGETs', async () => {
    const layer = createRedisLayer<number>({
      client: client(),
      namespace: uniqueName('split'),
      maxBatchSize: 10,
    });
    await Promise.all(Array.from({ length: 25 }, (_, i) => layer.get(`k${i}`)));
    expect(layer.stats().batches).toBe(3);
  });

  it('reads an entry it cannot decode as a miss and counts it, never crashing', async () => {
    const redis = client();
    const namespace = uniqueName('codec');
    const layer = createRedisLayer<{ site: string }>({
      client: redis,
      namespace,
      validate: (value) => {
        if (typeof value !== 'object' || value === null || !('site' in value))
          throw new Error('no site');
        // A validator may also refuse by answering nothing.
        return value.site === 'nowhere' ? (undefined as never) : (value as { site: string });
      },
    });
    await redis.set(`${namespace}:garbage`, 'not json{');
    await redis.set(`${namespace}:future`, JSON.stringify({ v: 2, d: { site: 'x' } }));
    await redis.set(`${namespace}:invalid`, JSON.stringify({ v: 1, d: { other: 1 } }));
    await redis.set(`${namespace}:good`, JSON.stringify({ v: 1, d: { site: 'north' } }));
    await redis.set(`${namespace}:refused`, JSON.stringify({ v: 1, d: { site: 'nowhere' } }));
    expect(await layer.getMany(['garbage', 'future', 'invalid', 'good', 'refused'])).toEqual([
      undefined,
      undefined,
      undefined,
      { site: 'north' },
      undefined,
    ]);
    expect(layer.stats()).toMatchObject({ decodeErrors: 4, hits: 1, misses: 4 });
    expect(await layer.read(['refused'])).toEqual([undefined]);
  });

  it('writes back with a jittered TTL, never longer than asked', async () => {
    const redis = client();
    const namespace = uniqueName('ttl');
    const layer = createRedisLayer<number>({
      client: redis,
      namespace,
      ttlMs: 100_000,
      ttlJitterRatio: 0.5,
    });
    layer.write(
      Array.from({ length: 50 }, (_, i) => ({
        key: `k${i}`,
        lookup: { found: true as const, value: i },
      })),
    );
    layer.write([{ key: 'miss', lookup: { found: false }, ttlMs: 5_000 }]);
    await layer.flush();
    const ttls = await Promise.all(
      Array.from({ length: 50 }, (_, i) => redis.pttl(`${namespace}:k${i}`)),
    );
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(49_000);
      expect(ttl).toBeLessThanOrEqual(100_000);
    }
    expect(new Set(ttls.map((ttl) => Math.round(ttl / 1_000))).size).toBeGreaterThan(5);
    expect(await redis.pttl(`${namespace}:miss`)).toBeLessThanOrEqual(5_000);
    expect(await layer.read(['miss', 'k3'])).toEqual([{ found: false }, { found: true, value: 3 }]);
    expect(layer.stats()).toMatchObject({ writes: 51, pendingWrites: 0 });
  });

  it('bounds write-backs: beyond maxPendingWrites they are dropped and counted', async () => {
    const layer = createRedisLayer<number>({
      client: client(),
      namespace: uniqueName('bound'),
      maxPendingWrites: 100,
      maxConcurrentWrites: 1,
      maxBatchSize: 10,
    });
    layer.write(
      Array.from({ length: 250 }, (_, i) => ({
        key: `k${i}`,
        lookup: { found: true as const, value: i },
      })),
    );
    expect(layer.stats().pendingWrites).toBe(100);
    await layer.flush();
    expect(layer.stats()).toMatchObject({ writes: 100, writesDropped: 150, pendingWrites: 0 });
  });

  it('entries expire in Redis after their TTL', async () => {
    const layer = createRedisLayer<number>({
      client: client(),
      namespace: uniqueName('exp'),
      ttlMs: 200,
    });
    layer.write([{ key: 'k', lookup: { found: true, value: 1 } }]);
    await layer.flush();
    expect(await layer.get('k')).toBe(1);
    await waitFor(async () => (await layer.get('k')) === undefined, 'the entry to expire');
  });

  it('refuses a missing namespace', () => {
    expect(() => createRedisLayer({ client: client(), namespace: '' })).toThrow("'namespace'");
  });
});
