import type { ComponentHealth } from '@tributary/messagepipeline';

/**
 * What a cache layer knows about a key: a value (`found: true`), or a remembered absence
 * (`found: false`, negative caching). A layer that knows nothing about the key answers
 * `undefined` instead.
 */
export type Lookup<V> = { readonly found: true; readonly value: V } | { readonly found: false };

/**
 * The read port: looks keys up in reference data. A miss resolves with `undefined`; a failure
 * rejects with a classified `TributaryError` (transient for an outage), so a caller never
 * confuses "not there" with "could not ask".
 */
export interface Fetcher<K, V> {
  /** Names the fetcher in metrics and logs (`lru`, `redis`, `firestore:devices`). */
  readonly name: string;
  /** The value of `key`, or `undefined` when there is none. */
  get(key: K): Promise<V | undefined>;
  /** The values of `keys`, index for index (`undefined` for each miss); duplicates allowed. */
  getMany(keys: readonly K[]): Promise<(V | undefined)[]>;
}

/** Options of one {@link Store.set}. */
export interface SetOptions {
  /** Expire the entry after this long; the store's own TTL when unset. */
  readonly ttlMs?: number | undefined;
}

/**
 * The write port of a writable layer. On its own it is the presence cache of the Go original:
 * ephemeral state with no source of truth (in memory, in Redis with a TTL, or in Firestore).
 */
export interface Store<K, V> {
  set(key: K, value: V, options?: SetOptions): Promise<void>;
  /** Removes the key; removing a missing key is not an error. */
  delete(key: K): Promise<void>;
}

/** One write-back of the chain: what the layers below said about `key`. */
export interface LayerWrite<K, V> {
  readonly key: K;
  readonly lookup: Lookup<V>;
  /** At most this long (negative entries use the chain's shorter TTL). */
  readonly ttlMs?: number | undefined;
}

/**
 * A layer of a cache chain (LRU, Redis): a fetcher and a store that can also remember
 * absences, so the chain can cache misses, write back what it found and drop what it
 * invalidates.
 */
export interface CacheLayer<K, V> extends Fetcher<K, V>, Store<K, V> {
  /**
   * `local`: this process only (an LRU), dropped on every instance by a published invalidation.
   * `shared`: seen by every instance (Redis).
   */
  readonly scope: 'local' | 'shared';
  /** What the layer knows about each key, index for index; rejects on failure. */
  read(keys: readonly K[]): Promise<(Lookup<V> | undefined)[]>;
  /** `read` of one key, without its arrays (the chain's per-key path). */
  readOne(key: K): Promise<Lookup<V> | undefined>;
  /** Writes entries back (bounded: a layer may drop a write-back it has no room for, counted). */
  write(writes: readonly LayerWrite<K, V>[]): void;
  /**
   * An expired value no older than `maxStalenessMs` past its expiry, for stale-if-error;
   * layers that keep none leave this out.
   */
  readStale?(key: K, maxStalenessMs: number): Lookup<V> | undefined;
  /** Resolves when the write-backs accepted so far are done (or failed, counted). */
  flush(): Promise<void>;
}

/** One timed operation of a layer or source, for a latency histogram. */
export interface CacheEvent {
  /** The fetcher's `name`. */
  readonly layer: string;
  readonly operation: 'read' | 'write';
  readonly outcome: 'ok' | 'error';
  /** Keys in the operation (a coalesced batch has many). */
  readonly keys: number;
  readonly durationMs: number;
}

/** Receives {@link CacheEvent}s; must be cheap and must not throw. */
export type CacheObserver = (event: CacheEvent) => void;

/** Health of a chain: ready, perhaps degraded (a layer bypassed). */
export type CacheHealth = ComponentHealth & { readonly degraded: boolean };
