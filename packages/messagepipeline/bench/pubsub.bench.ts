// The Pub/Sub adapters against raw @google-cloud/pubsub, on the official emulator, same run:
//   1. consume: StreamingService over our consumer (JSON.parse transform, no-op processor) vs a
//      raw subscriber that only acks; each drains its own pre-published backlog of MESSAGES
//      (separate subscriptions on one topic, so both backlogs are identical).
//   2. publish: our producer (blocking flow control) vs raw topic.publishMessage, with the same
//      client batching settings; both publish MESSAGES and await every server id.
// Rounds alternate raw / ours (then ours / raw) and the median of each side is reported, so
// load from other processes on the machine hits both sides alike.
// Uses PUBSUB_EMULATOR_HOST when set; otherwise starts the emulator with local-gcp's launcher
// and stops it at the end.
import { performance } from 'node:perf_hooks';
import { PubSub } from '@google-cloud/pubsub';
import type { Message as ClientMessage, Subscription, Topic } from '@google-cloud/pubsub';
import { startPubSubEmulator } from '@tributary/local-gcp';
import { createStreamingService, emit } from '../src/index.js';
import { createPubSubConsumer, createPubSubProducer } from '../src/pubsub/index.js';

const MESSAGES = 20_000;
const ROUNDS = 3;
const TARGET = 0.9;
const BATCHING = { maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 10 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function payload(i: number): Buffer {
  return Buffer.from(
    encoder.encode(
      JSON.stringify({
        deviceId: `dev-${String(i % 10_000).padStart(5, '0')}`,
        ts: 1_767_225_600_000 + i,
        temperature: Math.round((15 + (i % 200) / 10) * 100) / 100,
        humidity: 40 + (i % 50),
        battery: 100 - (i % 100),
        seq: i,
        site: 'north-field-07',
      }),
    ),
  );
}
const payloads = Array.from({ length: MESSAGES }, (_, i) => payload(i));
const averageBytes = Math.round(payloads.reduce((s, p) => s + p.byteLength, 0) / MESSAGES);

// ---- emulator -------------------------------------------------------------------------------

/** Uses PUBSUB_EMULATOR_HOST when set, otherwise starts one with the shared launcher. */
async function startEmulator(): Promise<{ stop(): Promise<void> }> {
  const given = process.env['PUBSUB_EMULATOR_HOST'];
  if (given !== undefined && given !== '') return { stop: () => Promise.resolve() };
  const emulator = await startPubSubEmulator();
  process.env['PUBSUB_EMULATOR_HOST'] = emulator.hostPort;
  return emulator;
}

// ---- consume --------------------------------------------------------------------------------

async function rawConsume(subscription: Subscription): Promise<number> {
  const sub = subscription.pubsub.subscription(subscription.name);
  let acked = 0;
  let sink = 0;
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    sub.on('error', reject);
    sub.on('message', (m: ClientMessage) => {
      sink += (JSON.parse(decoder.decode(m.data)) as { seq: number }).seq;
      m.ack();
      if (++acked === MESSAGES) resolve();
    });
  });
  const elapsed = performance.now() - start;
  await sub.close();
  return sink >= 0 ? MESSAGES / (elapsed / 1000) : 0;
}

async function ourConsume(subscription: Subscription): Promise<number> {
  const consumer = createPubSubConsumer({ subscription });
  let acked = 0;
  let sink = 0;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => (resolve = r));
  const service = createStreamingService<{ seq: number }>({
    stage: 'bench',
    consumer,
    transformer: (message) => emit(JSON.parse(decoder.decode(message.data)) as { seq: number }),
    processor: (item) => {
      sink += item.payload.seq;
      return Promise.resolve();
    },
    observer: (event) => {
      if (event.type === 'acked' && ++acked === MESSAGES) resolve();
    },
  });
  const start = performance.now();
  await service.start();
  await finished;
  const elapsed = performance.now() - start;
  await service.stop();
  if (consumer.stats().acked !== MESSAGES) {
    throw new Error(`consumer acked ${consumer.stats().acked}, expected ${MESSAGES}`);
  }
  return sink >= 0 ? MESSAGES / (elapsed / 1000) : 0;
}

async function ourConsumeDirect(subscription: Subscription): Promise<number> {
  const consumer = createPubSubConsumer({ subscription });
  let sink = 0;
  let n = 0;
  const start = performance.now();
  await consumer.start();
  for await (const message of consumer) {
    sink += (JSON.parse(decoder.decode(message.data)) as { seq: number }).seq;
    message.ack();
    if (++n === MESSAGES) break;
  }
  const elapsed = performance.now() - start;
  await consumer.done;
  return sink >= 0 ? MESSAGES / (elapsed / 1000) : 0;
}

// ---- publish --------------------------------------------------------------------------------

async function rawPublish(pubsub: PubSub, topic: Topic): Promise<number> {
  const publisher = pubsub.topic(topic.name, { batching: BATCHING });
  const start = performance.now();
  await Promise.all(payloads.map((data) => publisher.publishMessage({ data })));
  return MESSAGES / ((performance.now() - start) / 1000);
}

/**
 * `maxOutstandingMessages` undefined = the producer's default bound (5000). With the bound set to
 * the whole burst, the figure isolates our code's cost from the bound's: a bounded publisher is
 * capped at outstanding / latency (Little's law), and the emulator's latency under a burst is high.
 */
async function ourPublish(
  pubsub: PubSub,
  topic: Topic,
  maxOutstandingMessages?: number,
): Promise<number> {
  const producer = createPubSubProducer({
    pubsub,
    topicName: topic.name,
    batching: BATCHING,
    maxOutstandingMessages,
  });
  await producer.start();
  const start = performance.now();
  await Promise.all(payloads.map((data) => producer.publish({ data })));
  const rate = MESSAGES / ((performance.now() - start) / 1000);
  await producer.stop();
  return rate;
}

// ---- run ------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const emulator = await startEmulator();
const pubsub = new PubSub({ projectId: 'bench-proj' });
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const topics: Topic[] = [];
const subscriptions: Subscription[] = [];
let peakRss = 0;
try {
  const [consumeTopic] = await pubsub.createTopic(`bench-consume-${suffix}`);
  const [publishTopic] = await pubsub.createTopic(`bench-publish-${suffix}`);
  topics.push(consumeTopic, publishTopic);
  for (let i = 0; i < ROUNDS * 3 + 2; i++) {
    const [sub] = await consumeTopic.createSubscription(`bench-sub-${i}-${suffix}`, {
      ackDeadlineSeconds: 60,
    });
    subscriptions.push(sub);
  }
  const seeder = pubsub.topic(consumeTopic.name, {
    batching: { maxMessages: 1000, maxMilliseconds: 10 },
  });
  await Promise.all(payloads.map((data) => seeder.publishMessage({ data })));

  // Warm up both sides on the two spare subscriptions.
  const [warmRaw, warmOurs] = subscriptions.slice(ROUNDS * 3) as [Subscription, Subscription];
  await rawConsume(warmRaw);
  await ourConsume(warmOurs);
  await rawPublish(pubsub, publishTopic);
  await ourPublish(pubsub, publishTopic);

  const consume = { raw: [] as number[], ours: [] as number[] };
  const direct: number[] = [];
  const publish = { raw: [] as number[], ours: [] as number[] };
  const publishUnbounded: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rawSub = subscriptions[round * 3] as Subscription;
    const ourSub = subscriptions[round * 3 + 1] as Subscription;
    direct.push(await ourConsumeDirect(subscriptions[round * 3 + 2] as Subscription));
    const order = round % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
    for (const side of order) {
      consume[side].push(side === 'raw' ? await rawConsume(rawSub) : await ourConsume(ourSub));
      publish[side].push(
        side === 'raw'
          ? await rawPublish(pubsub, publishTopic)
          : await ourPublish(pubsub, publishTopic),
      );
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
    publishUnbounded.push(await ourPublish(pubsub, publishTopic, MESSAGES));
  }

  const round2 = (value: number): number => Math.round(value * 100) / 100;
  for (const [name, figures, notes] of [
    [
      'pubsub consume: StreamingService over createPubSubConsumer (emulator)',
      consume,
      `${MESSAGES} msgs of ~${averageBytes} B pre-published per subscription; raw = subscription.on('message') JSON.parse + ack, client defaults; ours = defaults (1000 in flight, 5 streams), service concurrency 10; median of ${ROUNDS} alternating rounds`,
    ],
    [
      'pubsub publish: createPubSubProducer (emulator)',
      publish,
      `${MESSAGES} msgs of ~${averageBytes} B, batching 100 msgs / 1 MiB / 10 ms on both; raw = topic.publishMessage unbounded; ours = blocking flow control at 5000 outstanding (default); median of ${ROUNDS} alternating rounds`,
    ],
  ] as const) {
    const value = Math.round(median(figures.ours));
    const baseline = Math.round(median(figures.raw));
    console.log(
      `BENCH ${JSON.stringify({
        name,
        value,
        unit: 'msg/s',
        baseline,
        ratio: round2(value / baseline),
        target: `>= ${TARGET}`,
        peakRssMb: Math.round(peakRss / 2 ** 20),
        notes,
      })}`,
    );
  }
  const unboundedValue = Math.round(median(publishUnbounded));
  const publishBaseline = Math.round(median(publish.raw));
  console.log(
    `BENCH ${JSON.stringify({
      name: 'pubsub publish: createPubSubProducer, bound raised to the burst (emulator)',
      value: unboundedValue,
      unit: 'msg/s',
      baseline: publishBaseline,
      ratio: round2(unboundedValue / publishBaseline),
      notes: `maxOutstandingMessages = ${MESSAGES}, like the unbounded raw side: our code's own cost; the default row's gap is the 5000-message bound over the emulator's latency`,
    })}`,
  );
  const directValue = Math.round(median(direct));
  const consumeBaseline = Math.round(median(consume.raw));
  console.log(
    `BENCH ${JSON.stringify({
      name: 'pubsub consume: createPubSubConsumer iterated directly (emulator)',
      value: directValue,
      unit: 'msg/s',
      baseline: consumeBaseline,
      ratio: round2(directValue / consumeBaseline),
      notes: 'for await + JSON.parse + ack, no service; same backlog and raw baseline as above',
    })}`,
  );
  console.log(
    `rounds (msg/s): consume direct ${direct.map(Math.round).join(', ')} | raw ${consume.raw.map(Math.round).join(', ')} | ours ${consume.ours.map(Math.round).join(', ')}; publish raw ${publish.raw.map(Math.round).join(', ')} | ours ${publish.ours.map(Math.round).join(', ')}`,
  );
} finally {
  for (const sub of subscriptions) await sub.delete().catch(() => undefined);
  for (const topic of topics) await topic.delete().catch(() => undefined);
  await pubsub.close();
  await emulator.stop();
}
