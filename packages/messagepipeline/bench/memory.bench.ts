// Bounded memory under a flood: 1,000,000 messages offered through the in-memory broker to a
// StreamingService whose processor takes 1 ms per item. The generator publishes as fast as the
// broker admits (it awaits each publish, so it waits whenever the subscription backlog is full)
// and builds each ~139-byte payload on the fly, so nothing but the pipeline holds messages.
// RSS is sampled every 100 ms; the figure is the peak, with RSS at 10 %, 50 % and 90 % of
// progress to show it stays flat while the offered count grows. Baseline: RSS before the run.
//
// Concurrency 200: 1 ms per item gives at most ~200 items per ms in theory; on a 2-core machine
// under load the timers fire late and the run takes well under a minute to about two.
import { setTimeout as sleep } from 'node:timers/promises';
import { createInMemoryBroker } from '../src/broker/index.js';
import { createStreamingService, emit } from '../src/index.js';

const MESSAGES = 1_000_000;
const CONCURRENCY = 200;
const PROCESS_MS = 1;
const SAMPLE_MS = 100;
const TARGET_MB = 150;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

function payload(i: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      deviceId: `dev-${String(i % 10_000).padStart(5, '0')}`,
      ts: 1_767_225_600_000 + i,
      temperature: Math.round((15 + (i % 200) / 10) * 100) / 100,
      humidity: 40 + (i % 50),
      battery: 100 - (i % 100),
      seq: i,
      site: 'north-field-07',
      fw: '2.4.1',
    }),
  );
}

interface Reading {
  readonly seq: number;
}

globalThis.gc?.();
const baselineRss = process.memoryUsage.rss();

const broker = createInMemoryBroker();
broker.createTopic('raw');
broker.createSubscription('raw-slow', { topic: 'raw' }); // default bounds: 2_000 msgs, 16 MiB
const producer = broker.producer('raw');

let offered = 0;
let processed = 0;
const service = createStreamingService<Reading>({
  stage: 'memory-bench',
  consumer: broker.consumer('raw-slow'),
  concurrency: CONCURRENCY,
  transformer: (message) => emit(JSON.parse(decoder.decode(message.data)) as Reading),
  processor: async () => {
    await sleep(PROCESS_MS);
    processed++;
  },
});

interface Sample {
  readonly atMs: number;
  readonly processed: number;
  readonly offered: number;
  readonly rss: number;
  readonly backlog: number;
}
const samples: Sample[] = [];
const started = performance.now();
const sample = (): void => {
  samples.push({
    atMs: performance.now() - started,
    processed,
    offered,
    rss: process.memoryUsage.rss(),
    backlog: broker.subscriptionStats('raw-slow').backlogMessages,
  });
};
const sampler = setInterval(sample, SAMPLE_MS);

await service.start();
for (let i = 0; i < MESSAGES; i++) {
  await producer.publish({ data: payload(i) });
  offered++;
}
while (processed < MESSAGES) await sleep(SAMPLE_MS);
sample();
clearInterval(sampler);
const elapsedS = (performance.now() - started) / 1000;
await service.stop();
await broker.close();

const peak = samples.reduce((max, s) => Math.max(max, s.rss), 0);
const maxBacklog = samples.reduce((max, s) => Math.max(max, s.backlog), 0);
const at = (fraction: number): Sample | undefined =>
  samples.find((s) => s.processed >= fraction * MESSAGES);
const progress = [0.1, 0.5, 0.9]
  .map((fraction) => {
    const s = at(fraction);
    return s === undefined
      ? ''
      : `${fraction * 100}%: ${mb(s.rss)} MB (offered ${s.offered}, backlog ${s.backlog})`;
  })
  .join('; ');
console.log(
  `BENCH ${JSON.stringify({
    name: 'memory under flood (1M msgs, 1 ms processor)',
    value: mb(peak),
    unit: 'MB peak RSS',
    baseline: mb(baselineRss),
    target: `< ${TARGET_MB}`,
    peakRssMb: mb(peak),
    notes: `RSS at ${progress}; max broker backlog ${maxBacklog}; concurrency ${CONCURRENCY}; ${Math.round(MESSAGES / elapsedS)} msg/s over ${Math.round(elapsedS)} s`,
  })}`,
);
if (peak / 2 ** 20 >= TARGET_MB) process.exitCode = 1;
