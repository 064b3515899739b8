// Cold lookups in the Redis tier: 100k distinct keys read through the Redis layer (lookups of
// one event-loop turn coalesced into one MGET) against two raw baselines over the same keys and
// the same bound of 200 lookups in flight, in the same run:
//   - naive: 200 concurrent workers, one GET per key (what a per-message lookup does);
//   - ceiling: MGET of 200 keys at a time, one after another (a hand-written batch loop).
// All three decode every value the same way: our layer through its versioned codec, the two
// baselines by hand (JSON.parse of the whole entry, version check, the value taken out), so the
// baselines do the decode work ours does. Each round runs naive, then ours and the ceiling in
// turns (ours first in even rounds); medians and every round are reported. Needs Redis at REDIS_URL
// (default redis://127.0.0.1:6379).
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createRedisLayer } from '../src/index.js';
import { lookupRate, median } from './support.js';

const KEYS = 100_000;
const IN_FLIGHT = 200;
/** A round of ours or the ceiling is about 0.3 s: enough of them for a steady median. */
const ROUNDS = 11;
const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const namespace = `bench-redis-${process.pid}`;
const client = new Redis(url, { maxRetriesPerRequest: 0 });
const keys = Array.from({ length: KEYS }, (_, i) => `d${i}`);
const value = JSON.stringify({
  v: 1,
  d: { name: 'pump', location: 'north-field-07', siteId: 's1' },
});

async function populate(): Promise<void> {
  for (let from = 0; from < KEYS; from += 1_000) {
    const pipeline = client.pipeline();
    for (const key of keys.slice(from, from + 1_000))
      pipeline.set(`${namespace}:${key}`, value, 'EX', 600);
    await pipeline.exec();
  }
}

/** The hand-written decode of the baselines: the value of a version 1 entry. */
function decodeRaw(text: string | null): unknown {
  if (text === null) return undefined;
  const entry = JSON.parse(text) as { v?: unknown; d?: unknown };
  return entry.v === 1 ? entry.d : undefined;
}

const workers = (lookup: (key: string) => Promise<unknown>): Promise<number> =>
  lookupRate(keys, IN_FLIGHT, lookup);

async function naive(): Promise<number> {
  return workers(async (key) => decodeRaw(await client.get(`${namespace}:${key}`)));
}

async function ours(): Promise<number> {
  // A fresh layer each round, so nothing is remembered between rounds.
  const layer = createRedisLayer({ client, namespace });
  const rate = await workers((key) => layer.get(key));
  return rate;
}

async function ceiling(): Promise<number> {
  let found = 0;
  const started = performance.now();
  for (let from = 0; from < KEYS; from += IN_FLIGHT) {
    const batch = keys.slice(from, from + IN_FLIGHT).map((key) => `${namespace}:${key}`);
    for (const text of await client.mget(batch)) if (decodeRaw(text) !== undefined) found++;
  }
  if (found !== KEYS) throw new Error(`found ${found} of ${KEYS}`);
  return KEYS / ((performance.now() - started) / 1_000);
}

await populate();
const runs = { naive: [] as number[], ours: [] as number[], ceiling: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  runs.naive.push(await naive());
  // Ours and the ceiling take turns going first, so a drift in load favours neither.
  if (round % 2 === 0) {
    runs.ours.push(await ours());
    runs.ceiling.push(await ceiling());
  } else {
    runs.ceiling.push(await ceiling());
    runs.ours.push(await ours());
  }
}
const n = median(runs.naive);
const o = median(runs.ours);
const c = median(runs.ceiling);
const spread = (values: number[]) => values.map((v) => Math.round(v)).join('/');
// Each round's own ratio: the rounds ran back to back, so these pair figures under the same load.
const paired = (base: number[]) =>
  runs.ours.map((v, i) => (v / (base[i] as number)).toFixed(2)).join('/');
console.log(
  `BENCH ${JSON.stringify({ name: 'redis tier: coalesced MGET vs per-key GET (100k keys, 200 in flight)', value: Math.round(o), unit: 'keys/s', baseline: Math.round(n), ratio: Number((o / n).toFixed(2)), target: '>= 5', notes: `rounds ours ${spread(runs.ours)}, naive ${spread(runs.naive)}; per-round ratios ${paired(runs.naive)}` })}`,
);
console.log(
  `BENCH ${JSON.stringify({ name: 'redis tier: coalesced MGET vs raw MGET loop (ceiling)', value: Math.round(o), unit: 'keys/s', baseline: Math.round(c), ratio: Number((o / c).toFixed(2)), target: '>= 0.8', notes: `rounds ceiling ${spread(runs.ceiling)}; per-round ratios ${paired(runs.ceiling)}` })}`,
);
const cursor = client.scanStream({ match: `${namespace}:*`, count: 1_000 });
for await (const batch of cursor)
  if ((batch as string[]).length > 0) await client.del(...(batch as string[]));
client.disconnect();
