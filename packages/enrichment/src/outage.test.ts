// Outages of the layers under a stream of messages: nothing is lost, nothing is acked without
// its enrichment. Each test runs its own redis-server or Firestore emulator so it can stop it.
import { Firestore } from '@google-cloud/firestore';
import {
  createCacheChain,
  createFirestoreSource,
  createLruLayer,
  createRedisClient,
  createRedisLayer,
} from '@tributary/cache';
import { startFirestoreEmulator, startRedis, testEnv, uniqueName } from '@tributary/local-gcp';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Reference } from './fetchers.js';
import { startHarness, type Harness } from './test-support/harness.js';

const LOOKUPS = `
fetchers:
  devices: { source: { file: unused.json } }
lookups:
  - name: device
    fetcher: devices
    key: { attribute: deviceId }
    onMiss: dead-letter
`;

function firestoreAt(hostPort: string): Firestore {
  const saved = process.env['FIRESTORE_EMULATOR_HOST'];
  process.env['FIRESTORE_EMULATOR_HOST'] = hostPort;
  try {
    return new Firestore({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  } finally {
    process.env['FIRESTORE_EMULATOR_HOST'] = saved;
  }
}

async function seed(firestore: Firestore, collection: string, devices: number): Promise<void> {
  const batch = firestore.batch();
  for (let i = 0; i < devices; i++) {
    batch.set(firestore.doc(`${collection}/d${i}`), {
      name: `device ${i}`,
      location: `site-${i % 7}`,
    });
  }
  await batch.commit();
}

/**
 * Publishes at least `count` messages for `devices` devices in the background, and goes on while
 * `more()` holds; resolves to the number published.
 */
function publishStream(
  h: Harness,
  count: number,
  devices: number,
  more: () => boolean = () => false,
): Promise<number> {
  return (async () => {
    let i = 0;
    for (; i < count || more(); i++) {
      await h.publishJson({ seq: i }, { deviceId: `d${i % devices}`, seq: String(i) });
    }
    return i;
  })();
}

/** Every sequence number arrived, each with its device's enrichment and no marker. */
function expectAllEnriched(h: Harness, count: number): void {
  const seen = new Set<number>();
  for (const { decoded, payload } of h.enriched) {
    const { seq } = payload as { seq: number };
    const device = `d${Number(decoded.attributes['deviceId']?.slice(1))}`;
    expect(decoded.attributes['enrichment.device']).toBeUndefined();
    expect(decoded.enrichment).toEqual({
      device: {
        name: `device ${device.slice(1)}`,
        location: `site-${Number(device.slice(1)) % 7}`,
      },
    });
    seen.add(seq);
  }
  expect(seen.size).toBe(count);
  expect(h.deadLetters).toEqual([]);
}

describe('outages', () => {
  it('Redis stopped mid-stream of 5,000+ messages: all enriched through Firestore; the breaker opens, then closes', async () => {
    const redis = await startRedis({ reuseExisting: false });
    onTestFinished(() => redis.stop());
    const client = createRedisClient({
      url: redis.url,
      commandTimeoutMs: 300,
      maxReconnectDelayMs: 100,
    });
    onTestFinished(() => {
      client.disconnect();
    });
    const firestore = firestoreAt(testEnv().FIRESTORE_EMULATOR_HOST);
    onTestFinished(() => firestore.terminate());
    const collection = uniqueName('devices');
    const devices = 400;
    await seed(firestore, collection, devices);
    const source = createFirestoreSource<Reference>({ firestore, collection });
    const redisLayer = createRedisLayer<Reference>({ client, namespace: uniqueName('outage') });
    const chain = createCacheChain<Reference>({
      // A small, short-lived LRU, so most lookups reach Redis.
      layers: [createLruLayer<string, Reference>({ maxEntries: 20, ttlMs: 50 }), redisLayer],
      source,
      breaker: { failureThreshold: 3, cooldownMs: 250 },
    });
    await chain.start();
    onTestFinished(() => chain.stop());
    const h = await startHarness({ yaml: LOOKUPS, fetchers: new Map([['devices', chain]]) });
    onTestFinished(() => h.close());

    // The breaker closes on a probe, and probes ride on lookups: the stream goes on past 5,000
    // until the circuit has closed, so a fast machine cannot run out of traffic first.
    let closedAgain = false;
    const publishing = publishStream(h, 5_000, devices, () => !closedAgain);
    await h.until(() => h.enriched.length >= 1_500, 'the first 1,500', 60_000);
    await redis.stop();
    await h.until(() => chain.circuits().get('redis') === 'open', 'the circuit to open', 30_000);
    expect(chain.health()).toMatchObject({ ready: true, degraded: true });
    const atOpen = h.enriched.length;
    await h.until(
      () => h.enriched.length >= atOpen + 1_000,
      '1,000 more while Redis is down',
      60_000,
    );
    const restarted = await startRedis({ reuseExisting: false, port: redis.port });
    onTestFinished(() => restarted.stop());
    await h.until(() => chain.circuits().get('redis') === 'closed', 'the circuit to close', 30_000);
    closedAgain = true;
    const count = await publishing;
    await h.until(() => h.enriched.length >= count, `all ${count}`, 60_000);
    expectAllEnriched(h, count);
    expect(h.enriched.length).toBe(count);
    expect(chain.stats()).toMatchObject({ sourceErrors: 0 });
    expect(chain.stats().circuitOpens).toBeGreaterThanOrEqual(1);
    expect(chain.stats().bypassed).toBeGreaterThan(0);
    expect(redisLayer.stats().hits).toBeGreaterThan(0);
  }, 180_000);

  it('Firestore stopped mid-stream: messages are nacked and redelivered, then enriched after it returns; none dropped', async () => {
    let emulator = await startFirestoreEmulator();
    onTestFinished(() => emulator.stop());
    const firestore = firestoreAt(emulator.hostPort);
    onTestFinished(() => firestore.terminate().catch(() => undefined));
    const collection = uniqueName('devices');
    const devices = 50;
    await seed(firestore, collection, devices);
    // No cache layers: every message reads Firestore.
    const chain = createCacheChain<Reference>({
      layers: [],
      source: createFirestoreSource<Reference>({ firestore, collection, timeoutMs: 1_000 }),
    });
    // The emulator keeps nothing across a restart: between its return and the re-seed below, the
    // registry is really empty and a lookup is a real miss. This test is about the outage, so
    // misses are nacked (redelivered until the seed lands) instead of dead-lettered; with
    // `dead-letter` the few messages that fall in that window are dead-lettered, as they should.
    const h = await startHarness({
      yaml: LOOKUPS.replace('onMiss: dead-letter', 'onMiss: nack'),
      fetchers: new Map([['devices', chain]]),
      retry: { maxAttempts: 2, initialBackoffMs: 50 },
    });
    onTestFinished(() => h.close());

    const count = 2_000;
    const publishing = publishStream(h, count, devices);
    await h.until(() => h.enriched.length >= 500, 'the first 500', 60_000);
    await emulator.stop();
    await h.until(() => h.enricher.lookupStats('device').errors >= 20, 'failed lookups', 60_000);
    const duringOutage = h.enriched.length;
    emulator = await startFirestoreEmulator({ port: emulator.port });
    await seed(firestore, collection, devices); // the emulator keeps nothing across a restart
    await publishing;
    await h.until(() => h.enriched.length >= count, `all ${count}`, 120_000);
    expect(h.enriched.length).toBe(count);
    expect(duringOutage).toBeLessThan(count);
    expect(h.deadLetters).toHaveLength(0);
    expectAllEnriched(h, count);
  }, 240_000);
});
