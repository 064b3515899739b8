/**
 * Loads one batch of distinct keys; resolves index for index with `keys`, an `Error` in the
 * place of a key that failed alone.
 */
export type BatchLoader<K, R> = (keys: readonly K[]) => Promise<readonly (R | Error)[]>;

type Settle = (value: unknown) => void;

// One executor shared by every load: it hands the promise's resolving functions out through
// these two slots, so a load allocates its promise and nothing else of its own (no closure, no
// deferred object).
let takenResolve: Settle = () => undefined;
let takenReject: Settle = () => undefined;
const takeResolvers = (resolve: Settle, reject: Settle): void => {
  takenResolve = resolve;
  takenReject = reject;
};

/**
 * DataLoader-style coalescing: every `load()` of one event-loop turn joins one batch (distinct
 * keys, split at `maxBatchSize`), loaded by one call of `loader` when the turn ends (setImmediate,
 * so lookups started from many promise callbacks of the turn still meet). A key asked twice in a
 * turn is loaded once. A failed batch rejects every load in it.
 */
export class Coalescer<K, R> {
  readonly #loader: BatchLoader<K, R>;
  readonly #maxBatchSize: number;
  // The turn's distinct keys (in order) with their promises, and the resolving functions of
  // those promises at the same positions.
  #pending = new Map<K, Promise<R>>();
  #resolves: Settle[] = [];
  #rejects: Settle[] = [];
  #scheduled = false;
  /** Batches sent to the loader so far. */
  batches = 0;

  constructor(loader: BatchLoader<K, R>, maxBatchSize: number) {
    this.#loader = loader;
    this.#maxBatchSize = maxBatchSize;
  }

  load(key: K): Promise<R> {
    const waiting = this.#pending.get(key);
    if (waiting !== undefined) return waiting;
    const promise = new Promise<R>(takeResolvers as (resolve: (value: R) => void) => void);
    this.#pending.set(key, promise);
    this.#resolves.push(takenResolve);
    this.#rejects.push(takenReject);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#dispatch);
    }
    return promise;
  }

  loadMany(keys: readonly K[]): Promise<R[]> {
    return Promise.all(keys.map((key) => this.load(key)));
  }

  readonly #dispatch = (): void => {
    this.#scheduled = false;
    const keys = Array.from(this.#pending.keys());
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#pending = new Map();
    this.#resolves = [];
    this.#rejects = [];
    for (let from = 0; from < keys.length; from += this.#maxBatchSize) {
      this.batches++;
      this.#send(keys, resolves, rejects, from, Math.min(keys.length, from + this.#maxBatchSize));
    }
  };

  #send(
    keys: readonly K[],
    resolves: readonly Settle[],
    rejects: readonly Settle[],
    from: number,
    to: number,
  ): void {
    const batch = from === 0 && to === keys.length ? keys : keys.slice(from, to);
    this.#loader(batch).then(
      (results) => {
        for (let i = from; i < to; i++) {
          const result = results[i - from];
          // A loader fails one key by answering an Error in its place.
          if (result instanceof Error) (rejects[i] as Settle)(result);
          else (resolves[i] as Settle)(result);
        }
      },
      (error: unknown) => {
        for (let i = from; i < to; i++) (rejects[i] as Settle)(error);
      },
    );
  }
}
