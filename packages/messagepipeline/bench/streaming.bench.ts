// StreamingService over the in-memory broker with a JSON.parse transform and a no-op processor,
// against a plain loop doing the same decode + JSON.parse over the same pre-built payloads.
//
// Two service figures, each compared with the plain loop of the same run:
//   - drain: the backlog is filled first (not timed), then the service consumes it: broker
//     delivery + service + transform + ack. This is the figure with the >= 0.7 target.
//   - end-to-end: a producer publishes while the service consumes, through the default bounded
//     backlog (the producer waits on backpressure): adds the publish path. Reported, no target.
// Rounds alternate loop / drain / end-to-end and the median of each is reported, so a burst of
// load from other processes hits every side alike. Besides wall-clock rates, each run records
// the process CPU time it used; the CPU-time ratio is much steadier on a shared, loaded machine
// (other processes steal wall time, not CPU time) and is printed in the notes.
import { performance } from 'node:perf_hooks';
import { createInMemoryBroker } from '../src/broker/index.js';
import { createStreamingService, emit } from '../src/index.js';
import { deferred } from '../src/kernel/index.js';
import { median } from '@tributary/local-gcp/bench';

const MESSAGES = 200_000;
const ROUNDS = 7;
const TARGET = 0.7;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** ~139-byte JSON telemetry records, varied so that nothing can be cached. */
function buildPayloads(count: number): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const json = JSON.stringify({
      deviceId: `dev-${String(i % 10_000).padStart(5, '0')}`,
      ts: 1_767_225_600_000 + i,
      temperature: Math.round((15 + (i % 200) / 10) * 100) / 100,
      humidity: 40 + (i % 50),
      battery: 100 - (i % 100),
      seq: i,
      site: 'north-field-07',
      fw: '2.4.1',
    });
    payloads.push(encoder.encode(json));
  }
  return payloads;
}

interface Reading {
  readonly seq: number;
}

/** Messages per second of wall time and of process CPU time. */
interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

let sink = 0;

// No forced gc() before a round: a forced full collection discards V8's optimised code for
// functions whose embedded objects died with the previous round's broker and service ("weak
// objects" deopts, seen with --trace-deopt), so every round of the pipeline would be measured
// cold while the plain loop stays hot. Production builds these objects once and never forces a
// collection; rounds alternate, so natural collections fall on both sides alike.
function startClock(): () => Rate {
  const cpu = process.cpuUsage();
  const start = performance.now();
  return () => {
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    return { wall: 1000 / wallMs, cpu: 1000 / cpuMs };
  };
}

function scale(rate: Rate, count: number): Rate {
  return { wall: rate.wall * count, cpu: rate.cpu * count };
}

function plainLoop(payloads: readonly Uint8Array[]): Rate {
  const stop = startClock();
  for (const payload of payloads) {
    const value = JSON.parse(decoder.decode(payload)) as Reading;
    sink += value.seq;
  }
  return scale(stop(), payloads.length);
}

async function runService(
  payloads: readonly Uint8Array[],
  mode: 'drain' | 'end-to-end',
): Promise<Rate> {
  const broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('raw-bench', {
    topic: 'raw',
    // drain: the whole run fits the backlog; end-to-end: the default bound (backpressure).
    ...(mode === 'drain' ? { maxBacklogMessages: payloads.length, maxBacklogBytes: 2 ** 30 } : {}),
  });
  const producer = broker.producer('raw');
  const publishAll = async (): Promise<void> => {
    for (const data of payloads) await producer.publish({ data });
  };
  if (mode === 'drain') await publishAll();

  const finished = deferred<undefined>();
  let processed = 0;
  const total = payloads.length;
  const service = createStreamingService<Reading>({
    stage: 'bench',
    consumer: broker.consumer('raw-bench'),
    transformer: (message) => emit(JSON.parse(decoder.decode(message.data)) as Reading),
    processor: (item) => {
      sink += item.payload.seq;
      if (++processed === total) finished.resolve(undefined);
      return Promise.resolve();
    },
  });
  const stop = startClock();
  await service.start();
  if (mode === 'end-to-end') await publishAll();
  await finished.promise;
  const rate = scale(stop(), total);
  await service.stop();
  const stats = broker.subscriptionStats('raw-bench');
  if (stats.acked !== total || stats.backlogMessages !== 0) {
    throw new Error(`expected ${total} acked, got ${JSON.stringify(stats)}`);
  }
  await broker.close();
  return rate;
}

const payloads = buildPayloads(MESSAGES);
const averageBytes = Math.round(payloads.reduce((sum, p) => sum + p.byteLength, 0) / MESSAGES);

// Warm up every side (JIT) before measuring.
plainLoop(payloads);
await runService(payloads.slice(0, 50_000), 'drain');
await runService(payloads.slice(0, 50_000), 'end-to-end');

const loop: Rate[] = [];
const drain: Rate[] = [];
const endToEnd: Rate[] = [];
let peakRss = 0;
for (let round = 0; round < ROUNDS; round++) {
  loop.push(plainLoop(payloads));
  drain.push(await runService(payloads, 'drain'));
  endToEnd.push(await runService(payloads, 'end-to-end'));
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}

const wall = (rates: readonly Rate[]): number => Math.round(median(rates.map((r) => r.wall)));
const best = (rates: readonly Rate[]): number => Math.round(Math.max(...rates.map((r) => r.wall)));
const cpu = (rates: readonly Rate[]): number => Math.round(median(rates.map((r) => r.cpu)));
const round2 = (value: number): number => Math.round(value * 100) / 100;
const baseline = wall(loop);
for (const [name, rates, target] of [
  ['streaming-service drain (in-memory broker, JSON.parse)', drain, `>= ${TARGET}`],
  ['streaming-service end-to-end (publish + consume, JSON.parse)', endToEnd, undefined],
] as const) {
  const value = wall(rates);
  console.log(
    `BENCH ${JSON.stringify({
      name,
      value,
      unit: 'msg/s',
      baseline,
      ratio: round2(value / baseline),
      target,
      peakRssMb: Math.round(peakRss / 2 ** 20),
      notes:
        `${MESSAGES} msgs of ~${averageBytes} B, default concurrency; medians of ${ROUNDS} ` +
        `alternating rounds; best rounds ${best(rates)} vs ${best(loop)} msg/s (ratio ` +
        `${round2(best(rates) / best(loop))}); per CPU-second ${cpu(rates)} vs ${cpu(loop)} ` +
        `(ratio ${round2(cpu(rates) / cpu(loop))})`,
    })}`,
  );
}
const show = (rates: readonly Rate[]): string => rates.map((r) => Math.round(r.wall)).join(', ');
console.log(
  `wall msg/s per round: loop ${show(loop)} | drain ${show(drain)} | end-to-end ${show(endToEnd)} (checksum ${sink % 7})`,
);
