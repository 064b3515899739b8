import { isTributaryError } from '@tributary/messagepipeline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fetcher, Store } from '../ports.js';

/** A record of reference data, as the contract suites store it. */
export type TestRecord = Readonly<Record<string, unknown>>;

/** How an adapter's tests hand the fetcher contract suite fresh fetchers. */
export interface FetcherContractOptions {
  /**
   * A fresh fetcher whose backend holds exactly `records` (key to record), under unique names so
   * tests never see each other's data.
   */
  create(records: ReadonlyMap<string, TestRecord>): Promise<Fetcher<string, TestRecord>>;
  /** A fetcher whose backend cannot be reached (a closed port, a stopped server). */
  createUnreachable?: (() => Promise<Fetcher<string, TestRecord>>) | undefined;
  /** Removes what the factories made; runs after each test. */
  cleanup?: (() => Promise<void>) | undefined;
}

function records(count: number, prefix: string): Map<string, TestRecord> {
  const map = new Map<string, TestRecord>();
  for (let i = 0; i < count; i++) {
    map.set(`${prefix}${i}`, { id: `${prefix}${i}`, n: i, site: `site-${i % 3}` });
  }
  return map;
}

/**
 * The semantics every {@link Fetcher} keeps, as one vitest suite:
 *
 * - `get()` resolves with the value of a present key and with `undefined` for a missing one
 *   (a miss is never an error);
 * - `getMany()` answers index for index, duplicates and misses included;
 * - many concurrent lookups each get their own key's value;
 * - an unreachable backend rejects with a classified, retriable `TributaryError`, never with a
 *   miss.
 */
export function describeFetcherContract(name: string, options: FetcherContractOptions): void {
  describe(`${name}: Fetcher contract`, () => {
    afterEach(async () => {
      await options.cleanup?.();
    });

    it('resolves get() with the value of a present key', async () => {
      const data = records(3, 'p');
      const fetcher = await options.create(data);
      expect(await fetcher.get('p1')).toEqual(data.get('p1'));
    });

    it('resolves get() with undefined for a missing key, not an error', async () => {
      const fetcher = await options.create(records(2, 'm'));
      await expect(fetcher.get('absent')).resolves.toBeUndefined();
      // Asking again is still a miss (a remembered miss, if the fetcher caches, says the same).
      await expect(fetcher.get('absent')).resolves.toBeUndefined();
    });

    it('answers getMany() index for index, with duplicates and misses', async () => {
      const data = records(4, 'g');
      const fetcher = await options.create(data);
      expect(await fetcher.getMany(['g2', 'nope', 'g0', 'g2'])).toEqual([
        data.get('g2'),
        undefined,
        data.get('g0'),
        data.get('g2'),
      ]);
      expect(await fetcher.getMany([])).toEqual([]);
    });

    it('gives each of many concurrent lookups its own value', async () => {
      const data = records(200, 'c');
      const fetcher = await options.create(data);
      const keys = [...data.keys(), ...data.keys()].reverse();
      const values = await Promise.all(keys.map((key) => fetcher.get(key)));
      expect(values).toEqual(keys.map((key) => data.get(key)));
    });

    if (options.createUnreachable !== undefined) {
      const createUnreachable = options.createUnreachable;
      it('rejects with a retriable TributaryError when the backend cannot be reached', async () => {
        const fetcher = await createUnreachable();
        const failure: unknown = await fetcher.get('any').then(
          () => 'resolved',
          (error: unknown) => error,
        );
        expect(isTributaryError(failure)).toBe(true);
        expect(failure).toMatchObject({ retriable: true });
        const many: unknown = await fetcher.getMany(['a', 'b']).then(
          () => 'resolved',
          (error: unknown) => error,
        );
        expect(many).toMatchObject({ retriable: true });
      });
    }
  });
}

/** How an adapter's tests hand the store contract suite fresh stores. */
export interface StoreContractOptions {
  /** A fresh, empty store (unique names) that can also be read. */
  create(): Promise<Store<string, TestRecord> & Fetcher<string, TestRecord>>;
  /** Whether `set(…, { ttlMs })` expires entries (the Firestore store keeps them). */
  readonly expires: boolean;
  cleanup?: (() => Promise<void>) | undefined;
}

/**
 * The semantics every {@link Store} keeps: `set()` then `get()` reads the value back, a second
 * `set()` replaces it, `delete()` removes it (and deleting a missing key is fine), and a TTL
 * expires the entry when the store supports one.
 */
export function describeStoreContract(name: string, options: StoreContractOptions): void {
  describe(`${name}: Store contract`, () => {
    afterEach(async () => {
      await options.cleanup?.();
    });

    it('reads back what was set, and the latest set wins', async () => {
      const store = await options.create();
      await store.set('k', { state: 'online' });
      expect(await store.get('k')).toEqual({ state: 'online' });
      await store.set('k', { state: 'offline' });
      expect(await store.get('k')).toEqual({ state: 'offline' });
    });

    it('deletes a key, and deleting a missing key is not an error', async () => {
      const store = await options.create();
      await store.set('gone', { state: 'online' });
      await store.delete('gone');
      expect(await store.get('gone')).toBeUndefined();
      await expect(store.delete('never-there')).resolves.toBeUndefined();
    });

    if (options.expires) {
      it('expires an entry set with a TTL', async () => {
        const store = await options.create();
        await store.set('brief', { state: 'online' }, { ttlMs: 100 });
        await store.set('lasting', { state: 'online' });
        expect(await store.get('brief')).toEqual({ state: 'online' });
        const deadline = Date.now() + 5_000;
        while ((await store.get('brief')) !== undefined) {
          if (Date.now() > deadline) throw new Error('entry did not expire within 5 s');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(await store.get('lasting')).toEqual({ state: 'online' });
      });
    }
  });
}
