// Memory with a cold cache: 1,000,000 messages, each with a distinct deviceId, through the
// enrichment stage (a StreamingService over the in-memory broker, the enricher's transform with
// one attribute-keyed lookup) whose chain is a 100k-entry LRU (the app's defaults: 100,000
// entries, 64 MiB as the layer counts bytes) over a source that builds each record from its key,
// so the only thing that can keep records is the LRU. Every lookup misses the LRU, reads the
// source and is written back; the LRU fills at 10 % and evicts from then on.
// Raw baseline: the same pipeline, messages and bounds whose transform does the same envelope
// work with a constant result instead of the lookup (as in warm-lru.bench.ts). Each runs in a
// fresh child process (RSS never shrinks, so they cannot share one), raw first; the pair runs
// twice: with Node sizing its heap from this machine, then inside a 512 MiB memory cgroup. The
// generator publishes as fast as the broker admits (it awaits each publish) and builds each
// payload on the fly. RSS is sampled every 100 ms: the peak, the RSS before the run (after a full GC), RSS at
// 10 / 50 / 90 % of the messages processed (flat once the LRU is full), and the heap in use after
// a full GC at the end with the LRU still alive. Target: ours exceeds the raw peak by less than
// the LRU's byte limit, and is flat.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCacheChain, createLruLayer, DEFAULT_LRU_OPTIONS } from '@tributary/cache';
import { createMemoryCgroup, type MemoryCgroup } from '@tributary/local-gcp/bench';
import type { Fetcher } from '@tributary/cache';
import { createStreamingService, type OutgoingMessage } from '@tributary/messagepipeline';
import { createInMemoryBroker } from '@tributary/messagepipeline/broker';
import { createEnricher, parseLookups, type Reference } from '../src/index.js';
import { constantEnrichment } from './support.js';

const MESSAGES = 1_000_000;
const LRU_ENTRIES = 100_000;
const CONCURRENCY = 100;
const SAMPLE_MS = 100;
const encoder = new TextEncoder();
const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** A source holding nothing: each record is built from its key, as a database would return it. */
let sourceReads = 0;
const record = (key: string): Reference => ({
  name: `device ${key}`,
  location: `site-${key.length % 7}`,
  model: 'pump-x200',
  installed: '2024-05-01T00:00:00.000Z',
});
const source: Fetcher<string, Reference> = {
  name: 'generated',
  get: (key) => {
    sourceReads++;
    return Promise.resolve(record(key));
  },
  getMany: (keys) => {
    sourceReads += keys.length;
    return Promise.resolve(keys.map(record));
  },
};

function payload(i: number): Uint8Array {
  return encoder.encode(
    JSON.stringify({ seq: i, temperature: 20 + (i % 50) / 10, humidity: 40 + (i % 30) }),
  );
}

const lru = createLruLayer<string, Reference>({ maxEntries: LRU_ENTRIES, ttlMs: 3_600_000 });
const chain = createCacheChain<Reference>({ layers: [lru], source });
await chain.start();
const enricher = createEnricher({
  lookups: parseLookups(
    'fetchers:\n  devices: { source: { file: x.json } }\nlookups:\n  - { name: device, fetcher: devices, key: { attribute: deviceId }, attributes: { location: location } }\n',
  ).lookups,
  fetchers: new Map([['devices', chain]]),
});

const passThrough = constantEnrichment({ name: 'device d1', location: 'site-2' });

// Extra Node flags for every child, e.g. MEMORY_BENCH_NODE_FLAGS=--max-old-space-size=96 to see
// RSS with the old space capped.
const nodeFlags = (process.env['MEMORY_BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
/**
 * Each pair of runs: Node sizing its heap from this machine's memory, then from a 512 MiB
 * container's (infra/ and the GKE manifests give the enrichment 512 MiB), in a memory cgroup of
 * that size; skipped, saying so, where this process may not create one.
 */
const SETTINGS: readonly { label: string; containerMib?: number }[] = [
  { label: 'node defaults' },
  { label: 'node defaults in a 512 MiB container', containerMib: 512 },
];
const mode = process.argv[2];
if (mode !== 'ours' && mode !== 'raw') {
  // The parent: runs each mode in a fresh process and reports.
  const runChild = (child: 'raw' | 'ours'): Result => {
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', ...nodeFlags, fileURLToPath(import.meta.url), child],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (run.status !== 0 || line === undefined) throw new Error(`${child} run failed`);
    return JSON.parse(line.slice(7)) as Result;
  };
  for (const setting of SETTINGS) {
    let cgroup: MemoryCgroup | undefined;
    if (setting.containerMib !== undefined) {
      try {
        cgroup = createMemoryCgroup(setting.containerMib);
      } catch (error) {
        process.stderr.write(
          `${setting.label}: not run, no memory cgroup here (${String(error)})\n`,
        );
        continue;
      }
    }
    // spawnSync returns when the child has exited: this process stays in the cgroup meanwhile,
    // idle, its earlier memory charged where it was.
    const contained = (child: 'raw' | 'ours'): Result =>
      cgroup === undefined ? runChild(child) : cgroup.spawnInside(() => runChild(child));
    let raw: Result;
    let ours: Result;
    try {
      raw = contained('raw');
      ours = contained('ours');
    } finally {
      cgroup?.remove();
    }
    const limit = DEFAULT_LRU_OPTIONS.maxBytes;
    const describe = (r: Result): string =>
      `before ${mb(r.before)} MB, 10/50/90 % ${r.at.map(mb).join(' / ')} MB, peak ${mb(r.peak)} MB, heap after full GC ${mb(r.heapAfterGc)} MB, ${r.rate} msg/s`;
    console.log(
      `BENCH ${JSON.stringify({
        name: `enrichment memory: 1M distinct keys through a 100k-entry LRU (in-memory broker) vs the same pipeline without the lookup (${setting.label})`,
        value: mb(ours.peak),
        unit: 'MB peak RSS',
        baseline: mb(raw.peak),
        ratio: Number(((ours.peak - raw.peak) / limit).toFixed(2)),
        target: `ours - raw < the LRU byte limit (${mb(limit)} MB), flat`,
        peakRssMb: mb(ours.peak),
        notes: `ratio = (ours - raw peak) / byte limit; ours: ${describe(ours)}, LRU ${ours.lru}; raw: ${describe(raw)}; load avg ${loadavg()[0]?.toFixed(2) ?? '?'} on ${String(availableParallelism())} cores; node flags: --expose-gc ${nodeFlags.join(' ')}`,
      })}`,
    );
  }
  process.exit(0);
}

interface Result {
  readonly before: number;
  readonly peak: number;
  readonly at: number[];
  readonly heapAfterGc: number;
  readonly rate: number;
  readonly lru: string;
}

const broker = createInMemoryBroker();
broker.createTopic('raw');
broker.createSubscription('raw-sub', { topic: 'raw' }); // default bounds: 2,000 msgs, 16 MiB
const producer = broker.producer('raw');
let processed = 0;
let bytesOut = 0;
const service = createStreamingService<OutgoingMessage>({
  stage: 'memory-bench',
  consumer: broker.consumer('raw-sub'),
  transformer: mode === 'ours' ? enricher.transform : passThrough,
  processor: ({ payload: out }) => {
    bytesOut += out.data.byteLength;
    processed++;
    return Promise.resolve();
  },
  concurrency: CONCURRENCY,
});

globalThis.gc?.();
await sleep(200);
const baselineRss = process.memoryUsage.rss();

interface Sample {
  readonly processed: number;
  readonly rss: number;
  readonly entries: number;
}
const samples: Sample[] = [];
const sample = (): void => {
  samples.push({ processed, rss: process.memoryUsage.rss(), entries: lru.stats().entries });
};
const sampler = setInterval(sample, SAMPLE_MS);
const started = performance.now();
await service.start();
for (let i = 0; i < MESSAGES; i++) {
  await producer.publish({ data: payload(i), attributes: { deviceId: `d${i}` } });
}
while (processed < MESSAGES) await sleep(SAMPLE_MS);
sample();
clearInterval(sampler);
const elapsedS = (performance.now() - started) / 1_000;
await service.stop();
await chain.stop();
await broker.close();

globalThis.gc?.();
const heapAfterGc = process.memoryUsage().heapUsed;
const stats = lru.stats();
const enriched = enricher.lookupStats('device').enriched;
if (mode === 'ours' && (enriched !== MESSAGES || sourceReads !== MESSAGES))
  throw new Error(`${enriched} enriched, ${sourceReads} source reads, not ${MESSAGES}`);
const at = (fraction: number): number =>
  samples.find((x) => x.processed >= fraction * MESSAGES)?.rss ?? NaN;
const result: Result = {
  before: baselineRss,
  peak: samples.reduce((max, s) => Math.max(max, s.rss), 0),
  at: [at(0.1), at(0.5), at(0.9)],
  heapAfterGc,
  rate: Math.round(MESSAGES / elapsedS),
  lru: `${stats.entries} entries, ${mb(stats.bytes)} MB as it counts, ${stats.evictions} evictions, ${sourceReads} source reads, ${mb(bytesOut)} MB out`,
};
console.log(`RESULT ${JSON.stringify(result)}`);
