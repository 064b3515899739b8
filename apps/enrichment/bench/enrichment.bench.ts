// The enrichment app on the Pub/Sub emulator, in -> out: composeEnrichment (its defaults, the
// lookups file's LRU over a static devices file, createPubSubTransport) drains a backlog of
// MESSAGES from the raw topic into the enriched topic, against a raw subscriber that republishes
// each message unchanged and acks it once the publish is confirmed. Same emulator, same backlog
// (each side has its own subscription on the one raw topic, filled by the same publishes), same
// bounds (the app's MAX_IN_FLIGHT_MESSAGES as the raw subscriber's flow control, the app's
// PUBSUB_BATCH_* as its batching). Rounds alternate the order; medians. A round ends when every
// message is acked. Uses PUBSUB_EMULATOR_HOST, or starts a private emulator (and stops it).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub, type Message, type Topic } from '@google-cloud/pubsub';
import { startPubSubEmulator, uniqueName } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport, type PubSubConsumer } from '@tributary/messagepipeline/pubsub';
import { createMetricsRegistry, loadConfig } from '@tributary/runtime';
import { composeEnrichment } from '../src/app.js';
import { EnrichmentEnv } from '../src/config.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 10_000);
const DEVICES = 1_000;
const ROUNDS = 3;
const PROJECT = 'bench-proj';
const stops: (() => Promise<unknown>)[] = [];
const MAX_IN_FLIGHT = 1_000; // the app's MAX_IN_FLIGHT_MESSAGES default
const BATCHING = { maxMessages: 100, maxMilliseconds: 10 }; // the app's PUBSUB_BATCH_* defaults

const payloads = Array.from({ length: MESSAGES }, (_, i) =>
  Buffer.from(JSON.stringify({ seq: i, temperature: 20 + (i % 50) / 10, humidity: 40 + (i % 30) })),
);

async function publishBacklog(pubsub: PubSub, topic: Topic): Promise<void> {
  const publisher = pubsub.topic(topic.name, {
    batching: { maxMessages: 1_000, maxMilliseconds: 10 },
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 1_000 }, async () => {
      for (let i = next++; i < MESSAGES; i = next++) {
        await publisher.publishMessage({
          data: payloads[i] as Buffer,
          attributes: { deviceId: `d${i % DEVICES}` },
        });
      }
    }),
  );
  await publisher.flush();
}

/** Runs until `acked()` reaches MESSAGES; returns messages per second. */
async function drain(acked: () => number): Promise<number> {
  const started = performance.now();
  const deadline = started + 300_000;
  while (acked() < MESSAGES) {
    if (performance.now() > deadline) throw new Error(`only ${acked()} of ${MESSAGES} acked`);
    await sleep(20);
  }
  return MESSAGES / ((performance.now() - started) / 1_000);
}

async function ours(pubsub: PubSub, subscription: string, out: string, lookupsFile: string) {
  const config = loadConfig(EnrichmentEnv, {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    INPUT_SUBSCRIPTION: subscription,
    OUTPUT_TOPIC: out,
    DEAD_LETTER_TOPIC: out,
    LOOKUPS_FILE: lookupsFile,
  });
  const app = await composeEnrichment(config, {
    logger: silentLogger,
    registry: createMetricsRegistry(),
    transport: createPubSubTransport({ pubsub }),
  });
  const services = Object.values(app.services);
  for (const service of services) await service.start();
  // createPubSubTransport's consumer is a PubSubConsumer; the Transport type hides its stats.
  const consumer = app.enrichment.consumer as unknown as PubSubConsumer;
  const rate = await drain(() => consumer.stats().acked);
  for (const service of services.reverse()) await service.stop({ timeoutMs: 5_000 });
  const stats = app.enrichment.enricher.lookupStats('device');
  if (stats.enriched < MESSAGES) throw new Error(`only ${stats.enriched} enriched`);
  return rate;
}

async function raw(pubsub: PubSub, subscription: string, out: string): Promise<number> {
  const target = pubsub.topic(out, { batching: BATCHING });
  const sub = pubsub.subscription(subscription, {
    flowControl: { maxMessages: MAX_IN_FLIGHT, allowExcessMessages: false },
  });
  let acked = 0;
  sub.on('message', (message: Message) => {
    target.publishMessage({ data: message.data, attributes: message.attributes }).then(
      () => {
        message.ack();
        acked++;
      },
      () => {
        message.nack();
      },
    );
  });
  sub.on('error', () => undefined);
  const rate = await drain(() => acked);
  await sub.close();
  return rate;
}

async function main(): Promise<void> {
  let emulatorHost = process.env['PUBSUB_EMULATOR_HOST'];
  if (emulatorHost === undefined || emulatorHost === '') {
    const emulator = await startPubSubEmulator();
    stops.push(() => emulator.stop());
    emulatorHost = emulator.hostPort;
  }
  process.env['PUBSUB_EMULATOR_HOST'] = emulatorHost;
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulatorHost });
  stops.push(() => pubsub.close());
  const dir = await mkdtemp(join(tmpdir(), 'enrichment-bench-'));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'devices.json'),
    JSON.stringify(
      Array.from({ length: DEVICES }, (_, i) => ({
        id: `d${i}`,
        name: `device ${i}`,
        location: `site-${i % 7}`,
      })),
    ),
  );
  const lookupsFile = join(dir, 'lookups.yaml');
  await writeFile(
    lookupsFile,
    'fetchers:\n  devices:\n    source: { file: devices.json, keyField: id }\n    lru: { maxEntries: 100000, ttlMs: 600000 }\nlookups:\n  - name: device\n    fetcher: devices\n    key: { attribute: deviceId }\n    fields: [name, location]\n    attributes: { location: location }\n',
  );
  const [out] = await pubsub.createTopic(uniqueName('bench-enriched'));
  stops.push(() => out.delete());

  const runs = { ours: [] as number[], raw: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const [input] = await pubsub.createTopic(uniqueName('bench-raw'));
    const [oursSub] = await input.createSubscription(uniqueName('bench-ours'));
    const [rawSub] = await input.createSubscription(uniqueName('bench-raw'));
    await publishBacklog(pubsub, input);
    const sides = [
      async () => runs.ours.push(await ours(pubsub, oursSub.name, out.name, lookupsFile)),
      async () => runs.raw.push(await raw(pubsub, rawSub.name, out.name)),
    ];
    for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
    await oursSub.delete();
    await rawSub.delete();
    await input.delete();
  }
  const o = median(runs.ours);
  const r = median(runs.raw);
  const spread = (values: number[]): string => values.map((v) => Math.round(v)).join('/');
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: `enrichment app on the Pub/Sub emulator, in -> out (${MESSAGES} msgs) vs a raw republishing subscriber`,
      value: Math.round(o),
      unit: 'msg/s',
      baseline: Math.round(r),
      ratio: Number((o / r).toFixed(2)),
      target: '>= 0.8',
      notes: `rounds ours ${spread(runs.ours)}, raw ${spread(runs.raw)}; ${MAX_IN_FLIGHT} in flight, batches of ${BATCHING.maxMessages}/${BATCHING.maxMilliseconds} ms on both; load avg ${loadavg()[0]?.toFixed(2) ?? '?'} on ${String(availableParallelism())} cores`,
    })}\n`,
  );
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
