// The Pub/Sub adapters against raw @google-cloud/pubsub, on the official emulator, same run:
//   1. consume: StreamingService over our consumer (JSON.parse transform, no-op processor) vs a
//      raw subscriber that only acks; each drains its own pre-published backlog of MESSAGES
//      (separate subscriptions on one topic, so both backlogs are identical).
//   2. publish at equal bound: our producer at its default bound (5,000 messages / 10 MiB
//      outstanding, blocking) vs the raw client's own flow control, `topic.flowControlled()` with
//      `flowControlOptions` set to the same two limits. Same client batching on both; both publish
//      MESSAGES and await every server id. This is the row with the >= 0.9 target.
//   3. publish unbounded, for information: raw `topic.publishMessage` with no bound, against our
//      producer with its bound raised to the whole burst.
// Rounds alternate (one order on even rounds, the reverse on odd ones) and the median of each side
// is reported, so load from other processes on the machine hits every side alike.
// Uses PUBSUB_EMULATOR_HOST when set; otherwise starts the emulator with local-gcp's launcher
// and stops it at the end. PUBSUB_BENCH=publish skips the consume rows (for profiling).
import { performance } from 'node:perf_hooks';
import { PubSub } from '@google-cloud/pubsub';
import type { Message as ClientMessage, Subscription, Topic } from '@google-cloud/pubsub';
import { startPubSubEmulator } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import { createStreamingService, emit } from '../src/index.js';
import {
  createPubSubConsumer,
  createPubSubProducer,
  DEFAULT_PUBSUB_PRODUCER_OPTIONS,
} from '../src/pubsub/index.js';

const MESSAGES = 20_000;
const ROUNDS = 5;
const TARGET = 0.9;
const BATCHING = { maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 10 } as const;
/** Our producer's default bound; the raw flow-controlled side is given the same two limits. */
const BOUND = {
  maxOutstandingMessages: DEFAULT_PUBSUB_PRODUCER_OPTIONS.maxOutstandingMessages,
  maxOutstandingBytes: DEFAULT_PUBSUB_PRODUCER_OPTIONS.maxOutstandingBytes,
} as const;
const CONSUME = process.env['PUBSUB_BENCH'] !== 'publish';

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

/** Messages per second of wall time, and this process's CPU time per message (µs). */
interface Rate {
  readonly wall: number;
  readonly cpuUs: number;
}

/**
 * Starts timing a publish run. The CPU figure counts this process only (not the emulator): it is
 * the cost of the publishing code itself and varies less than wall time on a loaded machine.
 */
function startClock(): () => Rate {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { wall: MESSAGES / (wallMs / 1000), cpuUs: (used.user + used.system) / MESSAGES };
  };
}

/** Raw, unbounded: every publish handed to the client at once (information only). */
async function rawPublish(pubsub: PubSub, topic: Topic): Promise<Rate> {
  const publisher = pubsub.topic(topic.name, { batching: BATCHING });
  const stop = startClock();
  await Promise.all(payloads.map((data) => publisher.publishMessage({ data })));
  return stop();
}

/**
 * Raw, bounded the client's own way: `flowControlled()` on a publisher whose
 * `flowControlOptions` are our bound; the loop waits whenever `publish()` says the bound is
 * reached, then `all()` awaits every server id.
 */
async function rawPublishBounded(pubsub: PubSub, topic: Topic): Promise<Rate> {
  const publisher = pubsub.topic(topic.name, { batching: BATCHING, flowControlOptions: BOUND });
  const flow = publisher.flowControlled();
  const stop = startClock();
  for (const data of payloads) {
    const wait = flow.publish({ data });
    if (wait !== null) await wait;
  }
  const ids = await flow.all();
  const rate = stop();
  if (ids.length !== MESSAGES) throw new Error(`raw published ${ids.length}, expected ${MESSAGES}`);
  return rate;
}

/**
 * Our producer, at `bound` outstanding messages (bytes: the default). Every publish is issued at
 * once; those beyond the bound wait inside the producer for credit.
 */
async function ourPublish(pubsub: PubSub, topic: Topic, bound: number): Promise<Rate> {
  const producer = createPubSubProducer({
    pubsub,
    topicName: topic.name,
    batching: BATCHING,
    maxOutstandingMessages: bound,
    maxOutstandingBytes: BOUND.maxOutstandingBytes,
  });
  await producer.start();
  const stop = startClock();
  await Promise.all(payloads.map((data) => producer.publish({ data })));
  const rate = stop();
  await producer.stop();
  if (producer.stats().published !== MESSAGES) {
    throw new Error(`producer published ${producer.stats().published}, expected ${MESSAGES}`);
  }
  return rate;
}

// ---- run ------------------------------------------------------------------------------------

const emulator = await startEmulator();
const pubsub = new PubSub({ projectId: 'bench-proj' });
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const topics: Topic[] = [];
const subscriptions: Subscription[] = [];
let peakRss = 0;
const round2 = (value: number): number => Math.round(value * 100) / 100;
const show = (values: readonly number[]): string => values.map(Math.round).join(', ');
const spread = (ours: readonly number[], raw: readonly number[]): string => {
  const ratios = ours.map((value, i) => value / (raw[i] ?? Number.NaN));
  return `${round2(Math.min(...ratios))}–${round2(Math.max(...ratios))}`;
};
try {
  const [publishTopic] = await pubsub.createTopic(`bench-publish-${suffix}`);
  topics.push(publishTopic);

  const consume = { raw: [] as number[], ours: [] as number[] };
  const direct: number[] = [];
  if (CONSUME) {
    const [consumeTopic] = await pubsub.createTopic(`bench-consume-${suffix}`);
    topics.push(consumeTopic);
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
    for (let round = 0; round < ROUNDS; round++) {
      const rawSub = subscriptions[round * 3] as Subscription;
      const ourSub = subscriptions[round * 3 + 1] as Subscription;
      direct.push(await ourConsumeDirect(subscriptions[round * 3 + 2] as Subscription));
      const order = round % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
      for (const side of order) {
        consume[side].push(side === 'raw' ? await rawConsume(rawSub) : await ourConsume(ourSub));
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }
    }
  }

  const publishSides = {
    raw: () => rawPublishBounded(pubsub, publishTopic),
    ours: () => ourPublish(pubsub, publishTopic, BOUND.maxOutstandingMessages),
    rawUnbounded: () => rawPublish(pubsub, publishTopic),
    oursUnbounded: () => ourPublish(pubsub, publishTopic, MESSAGES),
  } as const;
  type PublishSide = keyof typeof publishSides;
  const publish: Record<PublishSide, Rate[]> = {
    raw: [],
    ours: [],
    rawUnbounded: [],
    oursUnbounded: [],
  };
  const sides = Object.keys(publishSides) as PublishSide[];
  for (const side of sides) await publishSides[side](); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      publish[side].push(await publishSides[side]());
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
  }

  const bench = (row: Record<string, unknown>): void => {
    console.log(`BENCH ${JSON.stringify({ unit: 'msg/s', ...row })}`);
  };
  const pair = (
    ours: readonly number[],
    raw: readonly number[],
  ): { value: number; baseline: number; ratio: number } => {
    const value = Math.round(median(ours));
    const baseline = Math.round(median(raw));
    return { value, baseline, ratio: round2(value / baseline) };
  };
  const wall = (rates: readonly Rate[]): number[] => rates.map((r) => r.wall);
  const cpuNote = (ours: readonly Rate[], raw: readonly Rate[]): string => {
    const o = median(ours.map((r) => r.cpuUs));
    const r = median(raw.map((x) => x.cpuUs));
    return `node CPU per message (medians): ours ${o.toFixed(1)} µs, raw ${r.toFixed(1)} µs (raw/ours ${round2(r / o)})`;
  };
  const publishNotes = `${MESSAGES} msgs of ~${averageBytes} B, batching 100 msgs / 1 MiB / 10 ms on every side; medians of ${ROUNDS} alternating rounds`;
  if (CONSUME) {
    bench({
      name: 'pubsub consume: StreamingService over createPubSubConsumer (emulator)',
      ...pair(consume.ours, consume.raw),
      target: `>= ${TARGET}`,
      peakRssMb: Math.round(peakRss / 2 ** 20),
      notes: `${MESSAGES} msgs of ~${averageBytes} B pre-published per subscription; raw = subscription.on('message') JSON.parse + ack, client defaults; ours = defaults (1000 in flight, 5 streams), service concurrency 10; median of ${ROUNDS} alternating rounds`,
    });
    bench({
      name: 'pubsub consume: createPubSubConsumer iterated directly (emulator)',
      ...pair(direct, consume.raw),
      notes: 'for await + JSON.parse + ack, no service; same backlog and raw baseline as above',
    });
  }
  bench({
    name: 'pubsub publish at equal bound: createPubSubProducer vs raw flowControlled() (emulator)',
    ...pair(wall(publish.ours), wall(publish.raw)),
    target: `>= ${TARGET}`,
    peakRssMb: Math.round(peakRss / 2 ** 20),
    notes: `bound ${BOUND.maxOutstandingMessages} msgs / ${BOUND.maxOutstandingBytes} B outstanding on both: ours = the default, raw = topic.flowControlled() with those flowControlOptions; per-round ratios ${spread(wall(publish.ours), wall(publish.raw))}; ${cpuNote(publish.ours, publish.raw)}; ${publishNotes}`,
  });
  bench({
    name: 'pubsub publish unbounded (information): createPubSubProducer, bound = burst, vs raw publishMessage (emulator)',
    ...pair(wall(publish.oursUnbounded), wall(publish.rawUnbounded)),
    notes: `ours = maxOutstandingMessages ${MESSAGES}, raw = topic.publishMessage with no flow control; per-round ratios ${spread(wall(publish.oursUnbounded), wall(publish.rawUnbounded))}; ${cpuNote(publish.oursUnbounded, publish.rawUnbounded)}; ${publishNotes}`,
  });
  if (CONSUME) {
    console.log(
      `consume rounds (msg/s): direct ${show(direct)} | raw ${show(consume.raw)} | ours ${show(consume.ours)}`,
    );
  }
  console.log(
    `publish rounds (msg/s): at bound ours ${show(wall(publish.ours))} | raw ${show(wall(publish.raw))}; unbounded ours ${show(wall(publish.oursUnbounded))} | raw ${show(wall(publish.rawUnbounded))}`,
  );
} finally {
  for (const sub of subscriptions) await sub.delete().catch(() => undefined);
  for (const topic of topics) await topic.delete().catch(() => undefined);
  await pubsub.close();
  await emulator.stop();
}
