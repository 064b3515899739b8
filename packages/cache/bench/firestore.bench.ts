// Cold lookups in the Firestore tier: KEYS distinct documents read through the Firestore source
// (lookups of one event-loop turn coalesced into one getAll) against a raw baseline over the same
// keys and the same bound of IN_FLIGHT lookups in flight, in the same run and against the same
// emulator:
//   - naive: IN_FLIGHT concurrent workers, one `doc(key).get()` per key (a per-message lookup).
// Rounds alternate naive / ours; medians are reported with every round. Uses the emulator at
// FIRESTORE_EMULATOR_HOST, or starts a private one (and stops it).
import { availableParallelism, loadavg } from 'node:os';
import { Firestore } from '@google-cloud/firestore';
import { startFirestoreEmulator } from '@tributary/local-gcp';
import { createFirestoreSource } from '../src/index.js';
import { lookupRate, median } from './support.js';

const KEYS = Number(process.env['BENCH_KEYS'] ?? 5_000);
const IN_FLIGHT = 200;
const ROUNDS = 3;
const PROJECT = 'bench-proj';
const collection = `bench-firestore-${process.pid}`;
const keys = Array.from({ length: KEYS }, (_, i) => `d${i}`);
const stops: (() => Promise<unknown>)[] = [];

const workers = (lookup: (key: string) => Promise<unknown>): Promise<number> =>
  lookupRate(keys, IN_FLIGHT, lookup);

async function main(): Promise<void> {
  let hostPort = process.env['FIRESTORE_EMULATOR_HOST'];
  if (hostPort === undefined || hostPort === '') {
    const emulator = await startFirestoreEmulator({ projectId: PROJECT });
    stops.push(() => emulator.stop());
    hostPort = emulator.hostPort;
  }
  process.env['FIRESTORE_EMULATOR_HOST'] = hostPort;
  const firestore = new Firestore({ projectId: PROJECT });
  stops.push(() => firestore.terminate());
  const documents = firestore.collection(collection);
  for (let from = 0; from < KEYS; from += 400) {
    const batch = firestore.batch();
    for (const key of keys.slice(from, from + 400)) {
      batch.set(documents.doc(key), { name: 'pump', location: 'north-field-07', siteId: 's1' });
    }
    await batch.commit();
  }
  stops.push(() => firestore.recursiveDelete(documents));

  const naive = (): Promise<number> =>
    workers(async (key) => {
      const snapshot = await documents.doc(key).get();
      return snapshot.exists ? snapshot.data() : undefined;
    });
  let getAllCalls = 0;
  const ours = async (): Promise<number> => {
    // A fresh source each round, so nothing is remembered between rounds.
    const source = createFirestoreSource({ firestore, collection });
    const rate = await workers((key) => source.get(key));
    getAllCalls = source.stats().batches;
    return rate;
  };

  // One warm-up pass of each (JIT, gRPC channel), not counted.
  await naive();
  await ours();
  const runs = { naive: [] as number[], ours: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.naive.push(await naive());
    runs.ours.push(await ours());
  }
  const n = median(runs.naive);
  const o = median(runs.ours);
  const spread = (values: number[]): string => values.map((v) => Math.round(v)).join('/');
  process.stdout.write(
    `BENCH ${JSON.stringify({
      name: `firestore tier: coalesced getAll vs per-document get (${KEYS} keys, ${IN_FLIGHT} in flight)`,
      value: Math.round(o),
      unit: 'keys/s',
      baseline: Math.round(n),
      ratio: Number((o / n).toFixed(2)),
      target: '>= 3',
      notes: `emulator; rounds ours ${spread(runs.ours)}, naive ${spread(runs.naive)}; ${getAllCalls} getAll calls per round of ours; load avg ${loadavg()[0]?.toFixed(2) ?? '?'} on ${String(availableParallelism())} cores`,
    })}\n`,
  );
}

try {
  await main();
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
process.exit(0);
