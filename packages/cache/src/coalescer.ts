/**
 * Loads one batch of distinct keys; resolves index for index with `keys`, an `Error` in the
 * place of a key that failed alone.
 */
export type BatchLoader<K, R> = (keys: readonly K[]) => Promise<readonly (R | Error)[]>;

/**
 * Turns what the loader found for a key into what one caller is given. Called once per caller
 * when the batch settles, so a caller that wants less than the loader's result (a value rather
 * than a lookup) costs no second promise. Must not throw.
 */
export type Projection<R, P> = (result: R) => P;

type Settle = (value: unknown) => void;
type AnyProjection = Projection<unknown, unknown>;

const identity: AnyProjection = (result) => result;

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
 * The loads of one turn, in parallel arrays: `keys` holds each distinct key once, in order;
 * the waiter at index `i` of the other arrays waits for `keys[at[i]]`. A key asked again with
 * the projection of its first waiter shares that waiter's promise; with another projection it
 * gets a waiter of its own (the key is still loaded once).
 */
interface Turn<K> {
  readonly keys: K[];
  readonly at: number[];
  readonly promises: Promise<unknown>[];
  readonly projections: AnyProjection[];
  readonly resolves: Settle[];
  readonly rejects: Settle[];
}

const newTurn = <K>(): Turn<K> => ({
  keys: [],
  at: [],
  promises: [],
  projections: [],
  resolves: [],
  rejects: [],
});

/**
 * DataLoader-style coalescing: every `load()` of one event-loop turn joins one batch (distinct
 * keys, split at `maxBatchSize`), loaded by one call of `loader` when the turn ends (setImmediate,
 * so lookups started from many promise callbacks of the turn still meet). A key asked twice in a
 * turn is loaded once. A failed batch rejects every load in it.
 */
export class Coalescer<K, R> {
  readonly #loader: BatchLoader<K, R>;
  readonly #maxBatchSize: number;
  // Each distinct key of the turn -> the index of its first waiter.
  #first = new Map<K, number>();
  #turn: Turn<K> = newTurn();
  #scheduled = false;
  /** Batches sent to the loader so far. */
  batches = 0;

  constructor(loader: BatchLoader<K, R>, maxBatchSize: number) {
    this.#loader = loader;
    this.#maxBatchSize = maxBatchSize;
  }

  /** What the loader finds for `key`. */
  load(key: K): Promise<R> {
    return this.#wait(key, identity) as Promise<R>;
  }

  /** What the loader finds for `key`, passed through `project` when the batch settles. */
  loadAs<P>(key: K, project: Projection<R, P>): Promise<P> {
    return this.#wait(key, project as AnyProjection) as Promise<P>;
  }

  loadMany(keys: readonly K[]): Promise<R[]> {
    return Promise.all(keys.map((key) => this.load(key)));
  }

  #wait(key: K, project: AnyProjection): Promise<unknown> {
    const turn = this.#turn;
    const first = this.#first.get(key);
    let position: number;
    if (first === undefined) {
      position = turn.keys.length;
      this.#first.set(key, turn.at.length);
      turn.keys.push(key);
    } else {
      // Asked again this turn: the first caller's promise when it wants the same projection;
      // otherwise a waiter of its own (rare: the key is still loaded once).
      if (turn.projections[first] === project) return turn.promises[first] as Promise<unknown>;
      position = turn.at[first] as number;
    }
    const promise = new Promise(takeResolvers);
    turn.at.push(position);
    turn.promises.push(promise);
    turn.projections.push(project);
    turn.resolves.push(takenResolve);
    turn.rejects.push(takenReject);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#dispatch);
    }
    return promise;
  }

  readonly #dispatch = (): void => {
    this.#scheduled = false;
    const turn = this.#turn;
    this.#turn = newTurn();
    this.#first = new Map();
    const count = turn.keys.length;
    if (count <= this.#maxBatchSize) {
      this.batches++;
      this.#send(turn, turn.keys, 0);
      return;
    }
    for (let from = 0; from < count; from += this.#maxBatchSize) {
      this.batches++;
      this.#send(turn, turn.keys.slice(from, from + this.#maxBatchSize), from);
    }
  };

  /** Loads `batch` (the turn's keys from position `from` on) and settles their waiters. */
  #send(turn: Turn<K>, batch: readonly K[], from: number): void {
    const to = from + batch.length;
    this.#loader(batch).then(
      (results) => {
        const { at, projections, resolves, rejects } = turn;
        for (let w = 0; w < at.length; w++) {
          const position = at[w] as number;
          if (position < from || position >= to) continue;
          const result = results[position - from];
          // A loader fails one key by answering an Error in its place.
          if (result instanceof Error) (rejects[w] as Settle)(result);
          else (resolves[w] as Settle)((projections[w] as AnyProjection)(result));
        }
      },
      (error: unknown) => {
        const { at, rejects } = turn;
        for (let w = 0; w < at.length; w++) {
          const position = at[w] as number;
          if (position >= from && position < to) (rejects[w] as Settle)(error);
        }
      },
    );
  }
}
