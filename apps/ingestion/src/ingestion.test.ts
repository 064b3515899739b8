import { PubSub } from '@google-cloud/pubsub';
import {
  findFreePort,
  startPrivateMosquitto,
  testEnv,
  uniqueName,
  type PrivateMosquittoBroker,
} from '@tributary/local-gcp';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport, type PubSubProducer } from '@tributary/messagepipeline/pubsub';
import { loadRoutesFile, mqttAttributes } from '@tributary/mqttconverter';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestionConfig } from './config.js';
import { buildIngestion, type Ingestion } from './pipeline.js';
import { publishAll } from './test-support/mqtt-publisher.js';
import { ingestionConfig, writeRoutesFile } from './test-support/ingestion-env.js';
import { collectTopic, tally, waitUntil, type Collected } from './test-support/pubsub.js';

let pubsub: PubSub;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pubsub.close();
});

async function collect(prefix: string): Promise<Collected> {
  const collected = await collectTopic(pubsub, prefix);
  cleanups.push(() => collected.close());
  return collected;
}

async function startIngestion(
  config: IngestionConfig,
  waitReady = true,
): Promise<Ingestion<PubSubProducer>> {
  const routes = await loadRoutesFile(config.ROUTES_FILE);
  const ingestion = buildIngestion(config, {
    routes,
    logger: silentLogger,
    transport: createPubSubTransport({ pubsub }),
  });
  for (const producer of ingestion.producers.values()) await producer.start();
  await ingestion.deadLetterProducer.start();
  await ingestion.service.start();
  const stop = async (): Promise<void> => {
    await ingestion.service.stop({ timeoutMs: 10_000 });
    for (const producer of ingestion.producers.values()) await producer.stop();
    await ingestion.deadLetterProducer.stop();
  };
  cleanups.push(stop);
  if (!waitReady) return ingestion;
  await waitUntil(
    () => ingestion.consumer.health().ready,
    30_000,
    () => ingestion.consumer.health().detail ?? '',
  );
  return ingestion;
}

/** Two routes over four MQTT topics; route `telemetry` lifts `deviceId`. */
async function twoRoutes(
  base: string,
): Promise<{ telemetry: Collected; events: Collected; routesFile: string }> {
  const [telemetry, events] = await Promise.all([collect('telemetry'), collect('events')]);
  const routesFile = await writeRoutesFile([
    {
      name: 'telemetry',
      topic: `${base}/devices/{deviceId}/telemetry`,
      destination: telemetry.topic.name,
    },
    { name: 'events', topic: `${base}/events/#`, destination: events.topic.name },
  ]);
  return { telemetry, events, routesFile };
}

const topicOf =
  (base: string) =>
  (i: number): string =>
    i % 2 === 0 ? `${base}/devices/d${i % 4}/telemetry` : `${base}/events/kind${i % 4}`;

describe('ingestion: MQTT -> Pub/Sub', () => {
  it('delivers 10,000 QoS 1 messages over four topics exactly once, with their attributes', async () => {
    const base = uniqueName('ing');
    const { telemetry, events, routesFile } = await twoRoutes(base);
    const ingestion = await startIngestion(
      ingestionConfig({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: 'unused-dlq',
        CHECK_TOPICS: 'false', // no dead letters expected here: the topic need not exist
      }),
    );
    const arrived = (): number => telemetry.total() + events.total();
    const started = performance.now();
    const ids = await publishAll({
      url: testEnv().MQTT_URL,
      count: 10_000,
      topicOf: topicOf(base),
      arrived,
    });
    await waitUntil(
      () => arrived() >= ids.length,
      60_000,
      () => `${arrived()} of ${ids.length} arrived`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let late duplicates show
    const seconds = (performance.now() - started) / 1000;
    const counts = new Map([...telemetry.counts, ...events.counts]);
    const result = tally(ids, counts);
    process.stdout.write(
      `10k: ${arrived()} deliveries in ${seconds.toFixed(1)} s, missing ${result.missing.length}, duplicates ${result.duplicates}\n`,
    );
    expect(result).toEqual({ missing: [], duplicates: 0, unexpected: 0 });
    expect(telemetry.counts.size).toBe(5_000);
    expect(events.counts.size).toBe(5_000);
    const t = telemetry.messages.get('2')?.attributes;
    expect(t).toMatchObject({
      [mqttAttributes.topic]: `${base}/devices/d2/telemetry`,
      [mqttAttributes.route]: 'telemetry',
      [mqttAttributes.qos]: '1',
      [mqttAttributes.retain]: 'false',
      [mqttAttributes.dup]: 'false',
      deviceId: 'd2',
    });
    expect(Date.parse(t?.[mqttAttributes.receivedAt] ?? '')).toBeGreaterThan(Date.now() - 600_000);
    expect(events.messages.get('3')?.attributes).toMatchObject({
      [mqttAttributes.topic]: `${base}/events/kind3`,
      [mqttAttributes.route]: 'events',
    });
    expect(ingestion.consumer.stats()).toMatchObject({
      inFlightMessages: 0,
      staleAcks: 0,
      unroutable: 0,
    });
  }, 120_000);

  it('loses nothing while a private Mosquitto restarts mid-stream', async () => {
    const broker: PrivateMosquittoBroker = await startPrivateMosquitto();
    cleanups.push(() => broker.stop());
    const base = uniqueName('rst');
    const { telemetry, events, routesFile } = await twoRoutes(base);
    const ingestion = await startIngestion(
      ingestionConfig({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: 'unused-dlq',
        CHECK_TOPICS: 'false', // no dead letters expected here: the topic need not exist
        MQTT_URL: broker.url,
      }),
    );
    const arrived = (): number => telemetry.counts.size + events.counts.size;
    let restarted: Promise<void> | undefined;
    const ids = await publishAll({
      url: broker.url,
      count: 10_000,
      topicOf: topicOf(base),
      arrived,
      onPublished: (i) => {
        if (i === 4_000) restarted ??= broker.restart();
      },
    });
    await restarted;
    const counts = (): Map<string, number> => new Map([...telemetry.counts, ...events.counts]);
    await waitUntil(
      () => tally(ids, counts()).missing.length === 0,
      60_000,
      () => `${tally(ids, counts()).missing.length} missing`,
    );
    const result = tally(ids, counts());
    process.stdout.write(
      `restart: ${arrived()} deliveries for ${ids.length} ids, duplicates ${result.duplicates}, ` +
        `connections ${ingestion.consumer.stats().connections}, stale acks ${ingestion.consumer.stats().staleAcks}\n`,
    );
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toBe(0);
    expect(ingestion.consumer.stats().connections).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('dead-letters oversized and unroutable messages with the reason, and keeps going', async () => {
    const base = uniqueName('dlq');
    const [raw, dlq] = await Promise.all([collect('raw'), collect('dlq')]);
    const clientId = uniqueName('ingestion');
    // A subscription an older routes file left in the persistent session: no route accepts it.
    const old = await connectAsync(testEnv().MQTT_URL, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await old.subscribeAsync(`${base}/legacy/#`, { qos: 1 });
    await old.endAsync();
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/devices/{deviceId}/up`, destination: raw.topic.name },
    ]);
    await startIngestion(
      ingestionConfig({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: dlq.topic.name,
        MQTT_CLIENT_ID: clientId,
        MAX_PAYLOAD_BYTES: '1KiB',
      }),
    );
    const publisher = await connectAsync(testEnv().MQTT_URL, { protocolVersion: 5 });
    const big = JSON.stringify({ id: 'big', pad: 'x'.repeat(4_000) });
    await publisher.publishAsync(`${base}/devices/d1/up`, big, { qos: 1 });
    await publisher.publishAsync(`${base}/legacy/thing`, JSON.stringify({ id: 'stray' }), {
      qos: 1,
    });
    await publisher.publishAsync(`${base}/devices/d1/up`, JSON.stringify({ id: 'fine' }), {
      qos: 1,
    });
    await publisher.endAsync();
    await waitUntil(
      () => dlq.counts.size >= 2 && raw.counts.has('fine'),
      30_000,
      'dead letters and the good message',
    );
    const tooLarge = dlq.messages.get(big.slice(0, 1024));
    expect(tooLarge?.attributes).toMatchObject({
      'error.code': 'PAYLOAD_TOO_LARGE',
      'error.stage': 'ingestion',
      'payload.truncated': 'true',
      'payload.bytes': String(big.length),
      [mqttAttributes.topic]: `${base}/devices/d1/up`,
      deviceId: 'd1',
    });
    expect(tooLarge?.data.byteLength).toBe(1024);
    expect(dlq.messages.get('stray')?.attributes).toMatchObject({
      'error.code': 'UNROUTABLE',
      'error.stage': 'ingestion',
      [mqttAttributes.topic]: `${base}/legacy/thing`,
    });
    expect(dlq.messages.get('stray')?.attributes['error.message']).toContain(
      `${base}/legacy/thing`,
    );
    expect([...raw.counts.keys()]).toEqual(['fine']);
  }, 90_000);

  it("dead-letters a message whose attribute is over Pub/Sub's limit, and the next ones flow", async () => {
    const base = uniqueName('attr');
    const [raw, dlq] = await Promise.all([collect('raw'), collect('dlq')]);
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/devices/{deviceId}/up`, destination: raw.topic.name },
    ]);
    await startIngestion(
      ingestionConfig({ ROUTES_FILE: routesFile, DEAD_LETTER_TOPIC: dlq.topic.name }),
    );
    // The emulator would take a 2,000-byte attribute value; Pub/Sub answers INVALID_ARGUMENT.
    const longDevice = 'd'.repeat(2_000);
    const publisher = await connectAsync(testEnv().MQTT_URL, { protocolVersion: 5 });
    await publisher.publishAsync(
      `${base}/devices/${longDevice}/up`,
      JSON.stringify({ id: 'long' }),
      {
        qos: 1,
      },
    );
    for (const id of ['after-1', 'after-2']) {
      await publisher.publishAsync(`${base}/devices/d1/up`, JSON.stringify({ id }), { qos: 1 });
    }
    await publisher.endAsync();
    await waitUntil(() => dlq.total() >= 1 && raw.total() >= 2, 30_000, 'dead letter and the rest');
    const letter = [...dlq.messages.values()][0];
    expect(letter?.attributes).toMatchObject({
      'error.code': 'INVALID_ATTRIBUTES',
      'error.stage': 'ingestion',
      'payload.wrapped': 'true',
    });
    expect(letter?.attributes['error.message']).toContain('has a value of 2000 bytes');
    const wrapper = JSON.parse(letter?.data.toString() ?? '{}') as {
      attributes: Record<string, string>;
      payload: unknown;
    };
    expect(wrapper.payload).toEqual({ id: 'long' });
    expect(wrapper.attributes['deviceId']).toBe(longDevice);
    expect([...raw.counts.keys()].sort()).toEqual(['after-1', 'after-2']);
  }, 90_000);

  it('holds every message while the route and dead-letter topics are missing, then delivers each once', async () => {
    const base = uniqueName('both');
    const routeTopic = uniqueName('raw-late');
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/devices/{deviceId}/up`, destination: routeTopic },
    ]);
    // A publisher-only role cannot check topics at startup: the flow must still hold.
    const ingestion = await startIngestion(
      ingestionConfig({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: uniqueName('dlq-late'),
        CHECK_TOPICS: 'false',
      }),
    );
    await publishAll({
      url: testEnv().MQTT_URL,
      count: 50,
      topicOf: () => `${base}/devices/d1/up`,
      arrived: () => 0,
    });
    await waitUntil(
      () => /destination unavailable \(NOT_FOUND\)/.test(ingestion.service.health().detail ?? ''),
      30_000,
      () => ingestion.service.health().detail ?? '',
    );
    expect(ingestion.service.health().ready).toBe(false);
    expect(ingestion.consumer.stats().acksSent).toBe(0);
    // The route topic appears (under the name the routes file gives it). A topic keeps nothing
    // for subscriptions made later, so delivery is counted where Pub/Sub confirms it.
    await pubsub.createTopic(routeTopic);
    cleanups.push(async () => {
      await pubsub.topic(routeTopic).delete();
    });
    const producer = ingestion.producers.get(routeTopic);
    await waitUntil(
      () => ingestion.consumer.stats().acksSent === 50,
      90_000,
      () => `${ingestion.consumer.stats().acksSent} of 50 acked`,
    );
    // Each message confirmed by Pub/Sub exactly once, then acked once; nothing dead-lettered.
    expect(producer?.stats().published).toBe(50);
    expect(ingestion.deadLetterProducer.stats().published).toBe(0);
    expect(ingestion.consumer.stats().inFlightMessages).toBe(0);
    await waitUntil(() => ingestion.service.health().ready, 10_000, 'ready again');
  }, 150_000);

  it('reaches a broker that is down at startup once it comes up', async () => {
    const port = await findFreePort();
    const base = uniqueName('late');
    const raw = await collect('late');
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/{deviceId}/up`, destination: raw.topic.name },
    ]);
    const ingestion = await startIngestion(
      ingestionConfig({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: 'unused-dlq',
        CHECK_TOPICS: 'false', // no dead letters expected here: the topic need not exist
        MQTT_URL: `mqtt://127.0.0.1:${port}`,
      }),
      false,
    );
    await waitUntil(
      () => ingestion.consumer.stats().connectFailures >= 3,
      30_000,
      'several failed connection attempts',
    );
    expect(ingestion.consumer.health().ready).toBe(false);
    const broker = await startPrivateMosquitto({ port });
    cleanups.push(() => broker.stop());
    await waitUntil(
      () => ingestion.consumer.health().ready,
      30_000,
      'connected to the late broker',
    );
    const publisher = await connectAsync(broker.url, { protocolVersion: 5 });
    await publisher.publishAsync(`${base}/d1/up`, JSON.stringify({ id: 'late-1' }), { qos: 1 });
    await publisher.endAsync();
    await waitUntil(() => raw.counts.has('late-1'), 30_000, 'the message at Pub/Sub');
    expect(raw.messages.get('late-1')?.attributes).toMatchObject({ deviceId: 'd1' });
  }, 90_000);
});
