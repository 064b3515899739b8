import { Firestore } from '@google-cloud/firestore';
import { findFreePort, testEnv, uniqueName } from '@tributary/local-gcp';
import { Redis } from 'ioredis';
import type { Fetcher } from '../ports.js';

/** A Firestore client of the harness's emulator (or of `hostPort`: a private emulator). */
export function firestoreClient(hostPort?: string): Firestore {
  const saved = process.env['FIRESTORE_EMULATOR_HOST'];
  // The client reads the variable once, in its constructor, and prefers it to settings.
  process.env['FIRESTORE_EMULATOR_HOST'] = hostPort ?? testEnv().FIRESTORE_EMULATOR_HOST;
  try {
    return new Firestore({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  } finally {
    process.env['FIRESTORE_EMULATOR_HOST'] = saved;
  }
}

/** A Firestore client pointed at a port where nothing listens. */
export async function unreachableFirestore(): Promise<Firestore> {
  return firestoreClient(`127.0.0.1:${await findFreePort()}`);
}

/** Writes `records` as documents of a fresh collection; returns its name. */
export async function seedCollection(
  firestore: Firestore,
  records: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  prefix = 'devices',
): Promise<string> {
  const collection = uniqueName(prefix);
  const entries = [...records];
  for (let from = 0; from < entries.length; from += 400) {
    const batch = firestore.batch();
    for (const [key, record] of entries.slice(from, from + 400)) {
      batch.set(firestore.collection(collection).doc(key), record);
    }
    await batch.commit();
  }
  return collection;
}

/** A Redis client of the harness's server (or of `url`). */
export function redisClient(url?: string): Redis {
  const client = new Redis(url ?? testEnv().REDIS_URL, {
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
  });
  client.on('error', () => undefined);
  return client;
}

/** Wraps a fetcher, counting the keys asked of it (for single-flight and read-through tests). */
export function counting<V>(fetcher: Fetcher<string, V>): Fetcher<string, V> & {
  readonly asked: string[];
} {
  const asked: string[] = [];
  return {
    name: fetcher.name,
    asked,
    get(key) {
      asked.push(key);
      return fetcher.get(key);
    },
    getMany(keys) {
      asked.push(...keys);
      return fetcher.getMany(keys);
    },
  };
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
