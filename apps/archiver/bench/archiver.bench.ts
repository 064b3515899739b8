// The archiver app end to end: Pub/Sub emulator -> our local GCS server. composeArchiver (as
// main.ts builds it, with createPubSubTransport) drains a backlog of MESSAGES over LOCATIONS keys
// into gzip JSON Lines objects, against a raw subscriber written with the official clients that
// does the same job the plain way: it groups the messages by the same key (publish date and the
// `location` attribute), builds each batch's JSON lines with JSON.stringify, compresses them with
// zlib.gzipSync, uploads them with `bucket.file(name).save(...)` and acks the batch's messages once
// the upload is confirmed. Same emulator, same backlog (each side has its own subscription on one
// topic, filled by the same publishes), same local GCS server, same bounds on both sides:
// MAX_IN_FLIGHT messages leased (the app's MAX_IN_FLIGHT_MESSAGES, the raw subscriber's flow
// control), BATCH_ITEMS records or BATCH_WAIT_MS per key's batch, FLUSHES uploads at once, gzip
// level 6. Rounds alternate the order; medians. A round ends when every message is acked.
// Uses PUBSUB_EMULATOR_HOST, or starts a private emulator (and stops it).
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { PubSub, type Message, type Topic } from '@google-cloud/pubsub';
import { Storage, type Bucket } from '@google-cloud/storage';
import { startGcsServer, startPubSubEmulator, uniqueName } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { createMetricsRegistry, loadConfig } from '@tributary/runtime';
import { composeArchiver } from '../src/app.js';
import { ArchiverEnv } from '../src/config.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 20_000);
const LOCATIONS = 10;
const ROUNDS = 3;
const PROJECT = 'bench-proj';
const MAX_IN_FLIGHT = 10_000;
const BATCH_ITEMS = 1_000;
const BATCH_WAIT_MS = 1_000;
const FLUSHES = 4; // the app's MAX_CONCURRENT_FLUSHES default
const LEVEL = 6; // the app's GZIP_LEVEL default
const stops: (() => Promise<unknown>)[] = [];

/** ~200 B of telemetry JSON. */
const payloads = Array.from({ length: MESSAGES }, (_, i) =>
  Buffer.from(
    JSON.stringify({
      device_id: `dev-${String(i % 1_000).padStart(5, '0')}`,
      ts: new Date(1_767_225_600_000 + i * 1000).toISOString(),
      seq: i,
      value: Math.round((15 + (i % 200) / 10) * 100) / 100,
      readings: ['t', 'h', 'p'].map((name, k) => ({ name, value: (i % 50) + k / 10 })),
    }),
  ),
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
          attributes: { location: `site-${String(i % LOCATIONS)}` },
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

async function ours(pubsub: PubSub, storage: Storage, subscription: string, bucket: string) {
  const config = loadConfig(ArchiverEnv, {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    SUBSCRIPTION: subscription,
    BUCKET: bucket,
    PREFIX: 'ours',
    KEY_TEMPLATE: '{yyyy}/{MM}/{dd}/{attributes.location}',
    BATCH_MAX_ITEMS: String(BATCH_ITEMS),
    BATCH_MAX_WAIT_MS: String(BATCH_WAIT_MS),
    MAX_IN_FLIGHT_MESSAGES: String(MAX_IN_FLIGHT),
    MAX_CONCURRENT_FLUSHES: String(FLUSHES),
    GZIP_LEVEL: String(LEVEL),
  });
  const transport = createPubSubTransport({ pubsub });
  const app = await composeArchiver(config, {
    logger: silentLogger,
    registry: createMetricsRegistry(),
    transport,
    storage,
  });
  const services = Object.values(app.services);
  for (const service of services) await service.start();
  const [consumer] = transport.consumers;
  if (consumer === undefined) throw new Error('the archiver made no consumer');
  const rate = await drain(() => consumer.stats().acked);
  for (const service of services.reverse()) await service.stop({ timeoutMs: 10_000 });
  const stats = app.app.sink.stats();
  if (stats.recordsWritten < MESSAGES) throw new Error(`only ${stats.recordsWritten} archived`);
  return { rate, objects: stats.objectsWritten };
}

/** The plain way: per-key arrays, JSON.stringify, gzipSync, save(), ack after the upload. */
async function raw(pubsub: PubSub, storage: Storage, subscription: string, bucketName: string) {
  const bucket: Bucket = storage.bucket(bucketName);
  const sub = pubsub.subscription(subscription, {
    flowControl: { maxMessages: MAX_IN_FLIGHT, allowExcessMessages: false },
  });
  const open = new Map<string, { messages: Message[]; timer: NodeJS.Timeout }>();
  const waiting: Message[][] = [];
  let running = 0;
  let acked = 0;
  let objects = 0;
  let sequence = 0;
  const upload = async (key: string, messages: Message[]): Promise<void> => {
    const text = messages
      .map(
        (m) =>
          `${JSON.stringify({
            id: m.id,
            publishTime: m.publishTime.toISOString(),
            attributes: m.attributes,
            payload: JSON.parse(m.data.toString('utf8')) as unknown,
          })}\n`,
      )
      .join('');
    const data = gzipSync(Buffer.from(text, 'utf8'), { level: LEVEL });
    await bucket.file(`raw/${key}/${String(sequence++)}.jsonl.gz`).save(data, {
      resumable: false,
      contentType: 'application/x-ndjson',
      metadata: { contentEncoding: 'gzip' },
    });
  };
  const keyOf = (m: Message): string =>
    `${m.publishTime.toISOString().slice(0, 10).replaceAll('-', '/')}/${m.attributes['location'] ?? '_unknown'}`;
  const pump = (): void => {
    while (running < FLUSHES && waiting.length > 0) {
      const messages = waiting.shift() as Message[];
      running++;
      const key = keyOf(messages[0] as Message);
      upload(key, messages).then(
        () => {
          for (const m of messages) m.ack();
          acked += messages.length;
          objects++;
          running--;
          pump();
        },
        () => {
          for (const m of messages) m.nack();
          running--;
          pump();
        },
      );
    }
  };
  const flush = (key: string): void => {
    const batch = open.get(key);
    if (batch === undefined) return;
    open.delete(key);
    clearTimeout(batch.timer);
    waiting.push(batch.messages);
    pump();
  };
  sub.on('message', (message: Message) => {
    const key = keyOf(message);
    let batch = open.get(key);
    if (batch === undefined) {
      batch = {
        messages: [],
        timer: setTimeout(() => {
          flush(key);
        }, BATCH_WAIT_MS),
      };
      open.set(key, batch);
    }
    batch.messages.push(message);
    if (batch.messages.length >= BATCH_ITEMS) flush(key);
  });
  sub.on('error', () => undefined);
  const rate = await drain(() => acked);
  await sub.close();
  return { rate, objects };
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  let emulatorHost = process.env['PUBSUB_EMULATOR_HOST'];
  if (emulatorHost === undefined || emulatorHost === '') {
    const emulator = await startPubSubEmulator();
    stops.push(() => emulator.stop());
    emulatorHost = emulator.hostPort;
  }
  process.env['PUBSUB_EMULATOR_HOST'] = emulatorHost;
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulatorHost });
  stops.push(() => pubsub.close());
  // A private GCS server in this process (the client prefers STORAGE_EMULATOR_HOST, so unset it).
  delete process.env['STORAGE_EMULATOR_HOST'];
  const gcsServer = await startGcsServer({ port: 0 });
  stops.push(() => gcsServer.stop());
  const storage = new Storage({ apiEndpoint: gcsServer.url, projectId: PROJECT });

  const runs = { ours: [] as number[], raw: [] as number[] };
  const objects = { ours: 0, raw: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const bucket = uniqueName('bench-archive');
    await storage.createBucket(bucket);
    const [input] = await pubsub.createTopic(uniqueName('bench-in'));
    const [oursSub] = await input.createSubscription(uniqueName('bench-ours'));
    const [rawSub] = await input.createSubscription(uniqueName('bench-raw'));
    await publishBacklog(pubsub, input);
    const sides = [
      async () => {
        const result = await ours(pubsub, storage, oursSub.name, bucket);
        runs.ours.push(result.rate);
        objects.ours = result.objects;
      },
      async () => {
        const result = await raw(pubsub, storage, rawSub.name, bucket);
        runs.raw.push(result.rate);
        objects.raw = result.objects;
      },
    ];
    for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
    await oursSub.delete();
    await rawSub.delete();
    await input.delete();
    await storage.bucket(bucket).deleteFiles({ force: true });
    await storage.bucket(bucket).delete();
  }
  const o = median(runs.ours);
  const r = median(runs.raw);
  const spread = (values: number[]): string => values.map((v) => Math.round(v)).join('/');
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: `archiver app, Pub/Sub emulator -> local GCS (${MESSAGES} msgs, ${LOCATIONS} keys) vs a raw subscriber + gzipSync + save()`,
      value: Math.round(o),
      unit: 'msg/s',
      baseline: Math.round(r),
      ratio: Number((o / r).toFixed(2)),
      target: '>= 0.8',
      peakRssMb: Math.round(process.memoryUsage.rss() / 1024 / 1024),
      notes: `rounds ours ${spread(runs.ours)}, raw ${spread(runs.raw)}; ${MAX_IN_FLIGHT} in flight, batches of ${BATCH_ITEMS} records / ${BATCH_WAIT_MS} ms per key, ${FLUSHES} uploads at once, gzip level ${LEVEL} on both; last round's objects ours ${objects.ours}, raw ${objects.raw}; ~${Math.round(payloads.reduce((s, p) => s + p.byteLength, 0) / MESSAGES)} B payloads; load avg ${loadBefore.toFixed(2)} before, ${loadavg()[0]?.toFixed(2) ?? '?'} after, on ${String(availableParallelism())} cores`,
    })}\n`,
  );
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
