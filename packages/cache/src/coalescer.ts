import { deferred, type Deferred } from '@tributary/messagepipeline/kernel';

/**
 * Loads one batch of distinct keys; resolves index for index with `keys`, an `Error` in the
 * place of a key that failed alone.
 */
export type BatchLoader<K, R> = (keys: readonly K[]) => Promise<readonly (R | Error)[]>;

/**
 * DataLoader-style coalescing: every `load()` of one event-loop turn joins one batch (distinct
 * keys, split at `maxBatchSize`), loaded by one call of `loader` when the turn ends (setImmediate,
 * so lookups started from many promise callbacks of the turn still meet). A key asked twice in a
 * turn is loaded once. A failed batch rejects every load in it.
 */
export class Coalescer<K, R> {
  readonly #loader: BatchLoader<K, R>;
  readonly #maxBatchSize: number;
  #pending = new Map<K, Deferred<R>>();
  #scheduled = false;
  /** Batches sent to the loader so far. */
  batches = 0;

  constructor(loader: BatchLoader<K, R>, maxBatchSize: number) {
    this.#loader = loader;
    this.#maxBatchSize = maxBatchSize;
  }

  load(key: K): Promise<R> {
    let waiting = this.#pending.get(key);
    if (waiting === undefined) {
      waiting = deferred<R>();
      this.#pending.set(key, waiting);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#dispatch);
      }
    }
    return waiting.promise;
  }

  loadMany(keys: readonly K[]): Promise<R[]> {
    return Promise.all(keys.map((key) => this.load(key)));
  }

  readonly #dispatch = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    const keys = [...pending.keys()];
    for (let from = 0; from < keys.length; from += this.#maxBatchSize) {
      const batch = keys.slice(from, from + this.#maxBatchSize);
      this.batches++;
      this.#loader(batch).then(
        (results) => {
          batch.forEach((key, index) => {
            const result = results[index];
            // A loader fails one key by answering an Error in its place.
            if (result instanceof Error) pending.get(key)?.reject(result);
            else pending.get(key)?.resolve(result as R);
          });
        },
        (error: unknown) => {
          for (const key of batch) pending.get(key)?.reject(error);
        },
      );
    }
  };
}
