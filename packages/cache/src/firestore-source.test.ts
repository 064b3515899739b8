import type { Firestore } from '@google-cloud/firestore';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { createFirestoreSource } from './firestore-source.js';
import { firestoreClient, seedCollection, unreachableFirestore } from './test-support/backends.js';
import {
  describeFetcherContract,
  describeStoreContract,
  type TestRecord,
} from './testing/index.js';
import { uniqueName } from '@tributary/local-gcp';

const clients: Firestore[] = [];
function client(): Firestore {
  const firestore = firestoreClient();
  clients.push(firestore);
  return firestore;
}
afterAll(async () => {
  for (const firestore of clients) await firestore.terminate();
});

describeFetcherContract('Firestore source', {
  async create(records) {
    const firestore = client();
    const collection = await seedCollection(firestore, records);
    return createFirestoreSource<TestRecord>({ firestore, collection });
  },
  async createUnreachable() {
    // Not terminated: the client keeps retrying the abandoned getAll in the background, and
    // terminating it under that retry rejects a promise inside the client library.
    const firestore = await unreachableFirestore();
    return createFirestoreSource<TestRecord>({
      firestore,
      collection: 'devices',
      timeoutMs: 2_000,
    });
  },
});

describeStoreContract('Firestore source', {
  create: async () =>
    createFirestoreSource<TestRecord>({ firestore: client(), collection: uniqueName('presence') }),
  expires: false,
});

describe('Firestore source', () => {
  it('coalesces the lookups of one turn into one getAll', async () => {
    const firestore = client();
    const records = new Map(Array.from({ length: 100 }, (_, i) => [`d${i}`, { n: i }] as const));
    const collection = await seedCollection(firestore, records);
    const source = createFirestoreSource<{ n: number }>({ firestore, collection });
    const values = await Promise.all(Array.from({ length: 120 }, (_, i) => source.get(`d${i}`)));
    expect(values).toEqual(Array.from({ length: 120 }, (_, i) => (i < 100 ? { n: i } : undefined)));
    expect(source.stats()).toMatchObject({ batches: 1, documentsRead: 120, hits: 100, misses: 20 });
  });

  it('reads the document the id template names, projected to the fields asked for', async () => {
    const firestore = client();
    const collection = await seedCollection(
      firestore,
      new Map([
        ['device-7', { name: 'pump', location: 'north', secret: 'x', nested: { a: 1, b: 2 } }],
      ]),
    );
    const source = createFirestoreSource({
      firestore,
      collection,
      documentId: 'device-{key}',
      fields: ['name', 'location', 'nested.a'],
    });
    expect(await source.get('7')).toEqual({ name: 'pump', location: 'north', nested: { a: 1 } });
    expect(await source.get('device-7')).toBeUndefined();
  });

  it('turns Firestore values into plain JSON', async () => {
    const firestore = client();
    const collection = uniqueName('plain');
    await firestore
      .doc(`${collection}/d1`)
      .set({ at: Timestamp.fromMillis(Date.UTC(2026, 0, 2)), ref: firestore.doc('sites/s1') });
    const source = createFirestoreSource({ firestore, collection });
    expect(await source.get('d1')).toEqual({ at: '2026-01-02T00:00:00.000Z', ref: 'sites/s1' });
  });

  it('fails one key alone, permanently, when validate refuses its document', async () => {
    const firestore = client();
    const collection = await seedCollection(
      firestore,
      new Map([
        ['good', { site: 'a' }],
        ['bad', { site: 3 }],
      ]),
    );
    const source = createFirestoreSource({
      firestore,
      collection,
      validate: (data) => {
        if (typeof data['site'] !== 'string') throw new Error('site must be a string');
        return data as { site: string };
      },
    });
    const [good, bad] = await Promise.allSettled([source.get('good'), source.get('bad')]);
    expect(good).toEqual({ status: 'fulfilled', value: { site: 'a' } });
    expect(bad).toMatchObject({
      status: 'rejected',
      reason: { code: 'SCHEMA_MISMATCH', retriable: false },
    });
  });

  it('answers a key that cannot be a document id as a miss', async () => {
    const source = createFirestoreSource({ firestore: client(), collection: uniqueName('ids') });
    expect(await source.getMany(['a/b', '', '..'])).toEqual([undefined, undefined, undefined]);
  });

  it('refuses a document path as the collection, naming the option', () => {
    expect(() => createFirestoreSource({ firestore: client(), collection: 'devices/d1' })).toThrow(
      "'collection'",
    );
    expect(() =>
      createFirestoreSource({ firestore: client(), collection: 'd', documentId: 'x' }),
    ).toThrow("'documentId'");
  });
});
