import { InvalidArgumentError } from '@tributary/messagepipeline';
import { requireInteger, requireNumber } from '@tributary/messagepipeline/kernel';
import { LRUCache } from 'lru-cache';
import type { CacheLayer, LayerWrite, Lookup, SetOptions } from './ports.js';
import type { StatsDescription } from '@tributary/messagepipeline';

/** Options for {@link createLruLayer}. */
export interface LruLayerOptions<K, V> {
  /** @defaultValue 'lru' */
  readonly name?: string | undefined;
  /** Most entries held (values and remembered misses). @defaultValue 100_000 */
  readonly maxEntries?: number | undefined;
  /** Most bytes held, as `sizeOf` counts them. @defaultValue 64 MiB */
  readonly maxBytes?: number | undefined;
  /** How long an entry is fresh. @defaultValue 60_000 */
  readonly ttlMs?: number | undefined;
  /**
   * How long an expired entry is kept for stale-if-error (the chain serves it only when the
   * layers below fail). 0 drops entries when they expire. @defaultValue 0
   */
  readonly maxStalenessMs?: number | undefined;
  /**
   * Bytes of one entry. @defaultValue {@link estimateEntryBytes}: the V8 heap the entry keeps
   * alive (the layer's and `lru-cache`'s per-entry bookkeeping, the key, the value's objects,
   * arrays and strings), so `maxBytes` bounds the heap the cache really holds
   */
  readonly sizeOf?: ((key: K, value: V | undefined) => number) | undefined;
  /** The clock (ms). @defaultValue `Date.now` */
  readonly now?: (() => number) | undefined;
}

/** The defaults of {@link LruLayerOptions}. */
export const DEFAULT_LRU_OPTIONS = Object.freeze({
  maxEntries: 100_000,
  maxBytes: 64 * 1024 * 1024,
  ttlMs: 60_000,
  maxStalenessMs: 0,
});

/** Counters and gauges of an LRU layer. */
export interface LruStats {
  readonly hits: number;
  readonly misses: number;
  /** Remembered absences answered (negative-cache hits). */
  readonly negativeHits: number;
  readonly staleServed: number;
  readonly entries: number;
  readonly bytes: number;
  /** Entries pushed out by the entry or byte bound (not expiry, not deletion). */
  readonly evictions: number;
  readonly expirations: number;
}

/** What each {@link LruStats} field measures. */
export const lruStatsDescription: StatsDescription<LruStats> = {
  hits: { kind: 'counter', help: 'Lookups answered with a fresh value' },
  misses: { kind: 'counter', help: 'Lookups the layer knew nothing fresh about' },
  negativeHits: { kind: 'counter', help: 'Lookups answered with a remembered absence' },
  staleServed: { kind: 'counter', help: 'Expired values served because the layers below failed' },
  entries: { kind: 'gauge', help: 'Entries held' },
  bytes: { kind: 'gauge', help: 'Bytes held (as sizeOf counts them)' },
  evictions: { kind: 'counter', help: 'Entries evicted by the entry or byte bound' },
  expirations: { kind: 'counter', help: 'Entries dropped after their TTL (and staleness window)' },
};

/** An in-process LRU cache layer: bounded by entries and bytes, with a TTL per entry. */
export interface LruLayer<K, V> extends CacheLayer<K, V> {
  /** An expired value at most `maxStalenessMs` past its expiry (counted when served). */
  readStale(key: K, maxStalenessMs: number): Lookup<V> | undefined;
  /** The fresh entry of `key`, synchronously (the chain's fast path); refreshes its recency. */
  readSync(key: K): Lookup<V> | undefined;
  stats(): LruStats;
}

/** What `lru-cache` can hold as a key or a value: anything but `null` and `undefined`. */
type Storable = string | number | boolean | bigint | symbol | object;

interface Entry<V> {
  readonly lookup: Lookup<V>;
  readonly freshUntil: number;
  readonly keepUntil: number;
}

// Heap sizes of V8 (Node 20, 64-bit, 8-byte pointers as Node ships it), checked against
// `heapUsed` growth over 100k entries of several shapes (the estimate matched to the byte for
// objects, arrays, numbers and unique strings); lru-layer.test.ts repeats that check.
/**
 * What one entry costs besides its key and value: the `lru-cache` key map's hash-table entry
 * and index slots, the layer's entry record with its two timestamps (heap numbers), and the
 * `{ found, value }` lookup. Measured at 157 B per entry with `heapUsed` over 100k entries.
 */
export const LRU_ENTRY_OVERHEAD_BYTES = 160;
const POINTER = 8;
const STRING_HEADER = 16; // map, hash, length
const HEAP_NUMBER = 16; // map, float64
const OBJECT_HEADER = 24; // map, properties, elements; the fields follow in the object
const ARRAY_HEADER = 32 + 16; // JSArray (map, properties, elements, length) and its FixedArray
const align = (bytes: number): number => Math.ceil(bytes / POINTER) * POINTER;
// Any character above U+00FF makes V8 store a string with two bytes per character.
const TWO_BYTE = /[\u0100-\uffff]/;

/**
 * The heap bytes `value` keeps alive, estimated from its shape: strings at one or two bytes a
 * character plus their header, numbers that are not small integers as heap numbers, objects and
 * arrays as their header plus one pointer per field or element, `true`, `false` and `null` as
 * nothing (shared). Strings are counted as if not shared with anything else, so values whose
 * strings are literals shared by many entries are overcounted, never undercounted.
 */
export function estimateHeapBytes(value: unknown): number {
  if (typeof value === 'string') {
    return align(STRING_HEADER + (TWO_BYTE.test(value) ? 2 : 1) * value.length);
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? 0 : HEAP_NUMBER;
  }
  if (typeof value === 'bigint') return align(STRING_HEADER + value.toString(16).length / 2);
  if (typeof value !== 'object' || value === null) return 0; // shared: true, false, null
  if (Array.isArray(value)) {
    let bytes = ARRAY_HEADER + POINTER * value.length;
    for (const element of value as unknown[]) bytes += estimateHeapBytes(element);
    return bytes;
  }
  let bytes = OBJECT_HEADER;
  for (const field in value) {
    if (Object.hasOwn(value, field)) {
      bytes += POINTER + estimateHeapBytes((value as Record<string, unknown>)[field]);
    }
  }
  return bytes;
}

/**
 * The default `sizeOf` of the LRU layer: the heap one entry keeps alive, i.e.
 * {@link LRU_ENTRY_OVERHEAD_BYTES} plus the estimates of its key and its value
 * (a remembered absence has no value).
 */
export function estimateEntryBytes(key: unknown, value: unknown): number {
  return LRU_ENTRY_OVERHEAD_BYTES + estimateHeapBytes(key) + estimateHeapBytes(value);
}

/**
 * Creates an LRU layer on `lru-cache`: a hit refreshes recency; past `maxEntries` or `maxBytes`
 * the least recently used entry goes. Entries are fresh for their TTL (the write's `ttlMs`, at
 * most the layer's `ttlMs`), then kept `maxStalenessMs` longer for stale-if-error.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createLruLayer<K extends Storable, V extends Storable>(
  options: LruLayerOptions<K, V> = {},
): LruLayer<K, V> {
  return new LruLayerImpl(options);
}

class LruLayerImpl<K extends Storable, V extends Storable> implements LruLayer<K, V> {
  readonly name: string;
  readonly scope = 'local' as const;
  readonly #cache: LRUCache<K, Entry<V>>;
  readonly #ttlMs: number;
  readonly #maxStalenessMs: number;
  readonly #now: () => number;
  #hits = 0;
  #misses = 0;
  #negativeHits = 0;
  #staleServed = 0;
  #evictions = 0;
  #expirations = 0;

  constructor(options: LruLayerOptions<K, V>) {
    const d = DEFAULT_LRU_OPTIONS;
    this.name = options.name ?? 'lru';
    const maxEntries = requireInteger('maxEntries', options.maxEntries ?? d.maxEntries, 1);
    const maxBytes = requireInteger('maxBytes', options.maxBytes ?? d.maxBytes, 1);
    this.#ttlMs = requireNumber('ttlMs', options.ttlMs ?? d.ttlMs, 1, { allowInfinity: true });
    this.#maxStalenessMs = requireNumber(
      'maxStalenessMs',
      options.maxStalenessMs ?? d.maxStalenessMs,
      0,
      { allowInfinity: true },
    );
    if (options.sizeOf !== undefined && typeof options.sizeOf !== 'function') {
      throw InvalidArgumentError.for('sizeOf', 'must be a function');
    }
    const sizeOf = options.sizeOf ?? estimateEntryBytes;
    this.#now = options.now ?? Date.now;
    this.#cache = new LRUCache<K, Entry<V>>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (entry, key) =>
        Math.max(1, Math.ceil(sizeOf(key, entry.lookup.found ? entry.lookup.value : undefined))),
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.#evictions++;
      },
    });
  }

  readSync(key: K): Lookup<V> | undefined {
    const entry = this.#cache.get(key);
    if (entry !== undefined) {
      const now = this.#now();
      if (now < entry.freshUntil) {
        if (entry.lookup.found) this.#hits++;
        else this.#negativeHits++;
        return entry.lookup;
      }
      if (now >= entry.keepUntil) this.#expire(key);
    }
    this.#misses++;
    return undefined;
  }

  readStale(key: K, maxStalenessMs: number): Lookup<V> | undefined {
    const entry = this.#cache.peek(key);
    if (entry === undefined || !entry.lookup.found) return undefined;
    const now = this.#now();
    if (now >= entry.keepUntil || now - entry.freshUntil > maxStalenessMs) return undefined;
    this.#staleServed++;
    return entry.lookup;
  }

  read(keys: readonly K[]): Promise<(Lookup<V> | undefined)[]> {
    return Promise.resolve(keys.map((key) => this.readSync(key)));
  }

  readOne(key: K): Promise<Lookup<V> | undefined> {
    return Promise.resolve(this.readSync(key));
  }

  write(writes: readonly LayerWrite<K, V>[]): void {
    for (const { key, lookup, ttlMs } of writes) this.#put(key, lookup, ttlMs);
  }

  get(key: K): Promise<V | undefined> {
    const lookup = this.readSync(key);
    return Promise.resolve(lookup?.found === true ? lookup.value : undefined);
  }

  getMany(keys: readonly K[]): Promise<(V | undefined)[]> {
    return Promise.resolve(
      keys.map((key) => {
        const lookup = this.readSync(key);
        return lookup?.found === true ? lookup.value : undefined;
      }),
    );
  }

  set(key: K, value: V, options: SetOptions = {}): Promise<void> {
    this.#put(key, { found: true, value }, options.ttlMs);
    return Promise.resolve();
  }

  delete(key: K): Promise<void> {
    this.#cache.delete(key);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stats(): LruStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      negativeHits: this.#negativeHits,
      staleServed: this.#staleServed,
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  #put(key: K, lookup: Lookup<V>, ttlMs: number | undefined): void {
    const ttl = Math.min(this.#ttlMs, ttlMs ?? Infinity);
    const freshUntil = this.#now() + ttl;
    // Only values are worth serving stale; a remembered absence just expires.
    const keepUntil = lookup.found ? freshUntil + this.#maxStalenessMs : freshUntil;
    this.#cache.set(key, { lookup, freshUntil, keepUntil });
  }

  #expire(key: K): void {
    this.#cache.delete(key);
    this.#expirations++;
  }
}
