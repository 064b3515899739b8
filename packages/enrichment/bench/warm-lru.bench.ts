// The enrichment stage with a warm LRU: a StreamingService over the in-memory broker whose
// transform runs one lookup (attribute key, chain LRU -> static source, every key already in the
// LRU) and encodes the v1 envelope, against the same pipeline whose transform does the same
// envelope work with a constant result instead of the lookup. Same messages, same bounds, same run; rounds alternate; medians.
import { performance } from 'node:perf_hooks';
import { createCacheChain, createLruLayer, createStaticSource } from '@tributary/cache';
import {
  createStreamingService,
  type OutgoingMessage,
  type Transformer,
} from '@tributary/messagepipeline';
import { createInMemoryBroker } from '@tributary/messagepipeline/broker';
import { deferred } from '@tributary/messagepipeline/kernel';
import { createEnricher, parseLookups, type Reference } from '../src/index.js';
import { constantEnrichment } from './support.js';
import { median } from '@tributary/local-gcp/bench';

const MESSAGES = 100_000;
const DEVICES = 1_000;
const ROUNDS = 5;
const encoder = new TextEncoder();
const payloads = Array.from({ length: MESSAGES }, (_, i) =>
  encoder.encode(
    JSON.stringify({ seq: i, temperature: 20 + (i % 50) / 10, humidity: 40 + (i % 30) }),
  ),
);

const records = new Map<string, Reference>(
  Array.from({ length: DEVICES }, (_, i) => [
    `d${i}`,
    { name: `device ${i}`, location: `site-${i % 7}` },
  ]),
);
const chain = createCacheChain<Reference>({
  layers: [createLruLayer<string, Reference>({ maxEntries: 10_000, ttlMs: 3_600_000 })],
  source: createStaticSource(records),
});
for (const key of records.keys()) await chain.get(key); // warm
const lookups = parseLookups(
  'fetchers:\n  devices: { source: { file: x.json } }\nlookups:\n  - { name: device, fetcher: devices, key: { attribute: deviceId }, attributes: { location: location } }\n',
);
const enricher = createEnricher({
  lookups: lookups.lookups,
  fetchers: new Map([['devices', chain]]),
});
const passThrough = constantEnrichment({ name: 'device 1', location: 'site-1' });

let sink = 0;

/** Fills the backlog, then drains it through the service; returns messages per second. */
async function run(transformer: Transformer<OutgoingMessage>): Promise<number> {
  const broker = createInMemoryBroker();
  broker.createTopic('raw');
  broker.createSubscription('raw-sub', {
    topic: 'raw',
    maxBacklogMessages: MESSAGES,
    maxBacklogBytes: 1 << 30,
  });
  const producer = broker.producer('raw');
  for (let i = 0; i < MESSAGES; i++) {
    await producer.publish({
      data: payloads[i] as Uint8Array,
      attributes: { deviceId: `d${i % DEVICES}` },
    });
  }
  const done = deferred<undefined>();
  let processed = 0;
  const service = createStreamingService<OutgoingMessage>({
    stage: 'bench',
    consumer: broker.consumer('raw-sub'),
    transformer,
    processor: async ({ payload }) => {
      sink += payload.data.byteLength;
      if (++processed === MESSAGES) done.resolve(undefined);
    },
    concurrency: 100,
  });
  const started = performance.now();
  await service.start();
  await done.promise;
  const seconds = (performance.now() - started) / 1_000;
  await service.stop();
  await broker.close();
  return MESSAGES / seconds;
}

const ours: number[] = [];
const raw: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  raw.push(await run(passThrough));
  ours.push(await run(enricher.transform));
}
if (enricher.lookupStats('device').enriched !== MESSAGES * ROUNDS)
  throw new Error('not every message was enriched');
const o = median(ours);
const r = median(raw);
console.log(
  `BENCH ${JSON.stringify({
    name: 'enrichment stage, warm LRU (in-memory broker) vs the same pipeline without the lookup',
    value: Math.round(o),
    unit: 'msg/s',
    baseline: Math.round(r),
    ratio: Number((o / r).toFixed(2)),
    target: '>= 0.7',
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    notes: `rounds ours ${ours.map(Math.round).join('/')}, raw ${raw.map(Math.round).join('/')}; sink ${sink > 0}`,
  })}`,
);
