import {
  InvalidArgumentError,
  TributaryError,
  type StatsDescription,
} from '@tributary/messagepipeline';
import { Deque, requireInteger, requireNumber } from '@tributary/messagepipeline/kernel';
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { ABSENT, UNDECODABLE, decodeValue, encodeEntry } from './codec.js';
import { Coalescer, type Projection } from './coalescer.js';
import type { CacheLayer, CacheObserver, LayerWrite, Lookup, SetOptions } from './ports.js';

/** Options for {@link createRedisLayer}. */
export interface RedisLayerOptions<V> {
  /** A single-node client or a Cluster (Memorystore cluster mode); the caller owns and closes it. */
  readonly client: Redis | Cluster;
  /** Key prefix: keys are stored as `<namespace>:<key>`, so caches sharing a database never collide. */
  readonly namespace: string;
  /** @defaultValue 'redis' */
  readonly name?: string | undefined;
  /** Time to live of an entry. @defaultValue 3_600_000 (1 h) */
  readonly ttlMs?: number | undefined;
  /**
   * Each TTL is shortened by a random part of up to this fraction, so entries written together
   * do not expire together. @defaultValue 0.1
   */
  readonly ttlJitterRatio?: number | undefined;
  /** Most keys of one `MGET` (and of one write-back pipeline). @defaultValue 500 */
  readonly maxBatchSize?: number | undefined;
  /** Write-back pipelines in flight at once. @defaultValue 4 */
  readonly maxConcurrentWrites?: number | undefined;
  /** Write-backs waiting for a pipeline; beyond this they are dropped (counted). @defaultValue 10_000 */
  readonly maxPendingWrites?: number | undefined;
  /**
   * Checks a decoded value; throwing (or returning `undefined`) makes the entry a miss and a
   * counted decode error.
   * @defaultValue accepts any JSON value
   */
  readonly validate?: ((value: unknown) => V) | undefined;
  readonly observer?: CacheObserver | undefined;
  /** @defaultValue `Math.random` */
  readonly random?: (() => number) | undefined;
}

/** The defaults of {@link RedisLayerOptions}. */
export const DEFAULT_REDIS_LAYER_OPTIONS = Object.freeze({
  ttlMs: 3_600_000,
  ttlJitterRatio: 0.1,
  maxBatchSize: 500,
  maxConcurrentWrites: 4,
  maxPendingWrites: 10_000,
});

/** Counters and gauges of a Redis layer. */
export interface RedisLayerStats {
  readonly hits: number;
  readonly misses: number;
  readonly negativeHits: number;
  readonly errors: number;
  /** Entries that were not a version 1 entry (or failed `validate`): read as misses. */
  readonly decodeErrors: number;
  /** `MGET` commands sent. */
  readonly batches: number;
  readonly writes: number;
  readonly writeErrors: number;
  /** Write-backs dropped because `maxPendingWrites` were already waiting. */
  readonly writesDropped: number;
  readonly pendingWrites: number;
}

/** What each {@link RedisLayerStats} field measures. */
export const redisLayerStatsDescription: StatsDescription<RedisLayerStats> = {
  hits: { kind: 'counter', help: 'Keys found in Redis' },
  misses: { kind: 'counter', help: 'Keys Redis knew nothing about' },
  negativeHits: { kind: 'counter', help: 'Keys answered with a remembered absence' },
  errors: { kind: 'counter', help: 'Failed Redis commands' },
  decodeErrors: { kind: 'counter', help: 'Entries that could not be decoded (read as misses)' },
  batches: { kind: 'counter', help: 'MGET commands sent' },
  writes: { kind: 'counter', help: 'Entries written' },
  writeErrors: { kind: 'counter', help: 'Entries whose write failed' },
  writesDropped: { kind: 'counter', help: 'Write-backs dropped: too many were waiting' },
  pendingWrites: { kind: 'gauge', help: 'Write-backs waiting or in flight' },
};

/** A Redis cache layer. */
export interface RedisLayer<V> extends CacheLayer<string, V> {
  stats(): RedisLayerStats;
}

/**
 * Creates a Redis layer on `ioredis`: namespaced keys, versioned JSON entries, TTL with jitter,
 * lookups of one event-loop turn coalesced into one `MGET` (one per hash slot on a Cluster), and
 * write-back through a bounded queue drained by at most `maxConcurrentWrites` pipelines.
 * Failures reject with a transient `UNAVAILABLE` error.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createRedisLayer<V>(options: RedisLayerOptions<V>): RedisLayer<V> {
  return new RedisLayerImpl(options);
}

const NAMESPACE = /^[^\s]{1,128}$/;

class RedisLayerImpl<V> implements RedisLayer<V> {
  readonly name: string;
  readonly scope = 'shared' as const;
  readonly #client: Redis | Cluster;
  readonly #cluster: boolean;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #jitter: number;
  readonly #maxBatchSize: number;
  readonly #maxConcurrentWrites: number;
  readonly #maxPendingWrites: number;
  readonly #validate: ((value: unknown) => V) | undefined;
  readonly #observer: CacheObserver | undefined;
  readonly #random: () => number;
  // What MGET found per key, without a lookup object: see Slot.
  readonly #coalescer: Coalescer<string, Slot<V>>;
  readonly #queue = new Deque<LayerWrite<string, V>>();
  #writing = 0;
  #idle: (() => void)[] = [];
  #hits = 0;
  #misses = 0;
  #negativeHits = 0;
  #errors = 0;
  #decodeErrors = 0;
  #writes = 0;
  #writeErrors = 0;
  #writesDropped = 0;

  constructor(options: RedisLayerOptions<V>) {
    const d = DEFAULT_REDIS_LAYER_OPTIONS;
    const client = options.client as Redis | Cluster | undefined;
    if (typeof client?.mget !== 'function') {
      throw InvalidArgumentError.for('client', 'must be an ioredis Redis or Cluster client');
    }
    if (typeof options.namespace !== 'string' || !NAMESPACE.test(options.namespace)) {
      throw InvalidArgumentError.for('namespace', 'must be 1-128 characters without whitespace');
    }
    this.#client = client;
    this.#cluster = 'isCluster' in client && client.isCluster;
    this.name = options.name ?? 'redis';
    this.#prefix = `${options.namespace}:`;
    this.#ttlMs = requireInteger('ttlMs', options.ttlMs ?? d.ttlMs, 1);
    this.#jitter = requireNumber('ttlJitterRatio', options.ttlJitterRatio ?? d.ttlJitterRatio, 0, {
      max: 0.9,
    });
    this.#maxBatchSize = requireInteger('maxBatchSize', options.maxBatchSize ?? d.maxBatchSize, 1);
    this.#maxConcurrentWrites = requireInteger(
      'maxConcurrentWrites',
      options.maxConcurrentWrites ?? d.maxConcurrentWrites,
      1,
    );
    this.#maxPendingWrites = requireInteger(
      'maxPendingWrites',
      options.maxPendingWrites ?? d.maxPendingWrites,
      1,
    );
    this.#validate = options.validate;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    this.#coalescer = new Coalescer((keys) => this.#mget(keys), this.#maxBatchSize);
  }

  read(keys: readonly string[]): Promise<(Lookup<V> | undefined)[]> {
    return Promise.all(keys.map((key) => this.readOne(key)));
  }

  /** What the layer knows about one key (`read` of one key, without its arrays). */
  readOne(key: string): Promise<Lookup<V> | undefined> {
    return this.#coalescer.loadAs(key, lookupOf as Projection<Slot<V>, Lookup<V> | undefined>);
  }

  get(key: string): Promise<V | undefined> {
    return this.#coalescer.loadAs(key, valueOf as Projection<Slot<V>, V | undefined>);
  }

  getMany(keys: readonly string[]): Promise<(V | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  write(writes: readonly LayerWrite<string, V>[]): void {
    for (const write of writes) {
      if (this.#queue.length + this.#writing >= this.#maxPendingWrites) this.#writesDropped++;
      else this.#queue.push(write);
    }
    this.#pump();
  }

  async set(key: string, value: V, options: SetOptions = {}): Promise<void> {
    try {
      await this.#client.set(
        this.#prefix + key,
        encodeEntry({ found: true, value }),
        'PX',
        this.#ttl(options.ttlMs),
      );
      this.#writes++;
    } catch (error) {
      this.#writeErrors++;
      throw unavailable(`redis SET failed: ${describe(error)}`, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.del(this.#prefix + key);
    } catch (error) {
      this.#errors++;
      throw unavailable(`redis DEL failed: ${describe(error)}`, error);
    }
  }

  flush(): Promise<void> {
    if (this.#writing === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stats(): RedisLayerStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      negativeHits: this.#negativeHits,
      errors: this.#errors,
      decodeErrors: this.#decodeErrors,
      batches: this.#coalescer.batches,
      writes: this.#writes,
      writeErrors: this.#writeErrors,
      writesDropped: this.#writesDropped,
      pendingWrites: this.#queue.length + this.#writing,
    };
  }

  /** The TTL of one write: the smaller of the layer's and the write's, less a random jitter. */
  #ttl(ttlMs: number | undefined): number {
    const base = Math.min(this.#ttlMs, ttlMs ?? Infinity);
    return Math.max(1, Math.round(base * (1 - this.#jitter * this.#random())));
  }

  async #mget(keys: readonly string[]): Promise<Slot<V>[]> {
    const startedAt = performance.now();
    const count = keys.length;
    let texts: (string | null)[];
    try {
      if (this.#cluster) texts = await this.#mgetBySlot(keys);
      else {
        const full = new Array<string>(count);
        for (let i = 0; i < count; i++) full[i] = this.#prefix + (keys[i] as string);
        texts = await this.#client.mget(full);
      }
    } catch (error) {
      this.#errors++;
      this.#observe('read', 'error', count, startedAt);
      throw unavailable(`redis MGET failed: ${describe(error)}`, error);
    }
    this.#observe('read', 'ok', count, startedAt);
    const slots = new Array<Slot<V>>(count);
    for (let i = 0; i < count; i++) slots[i] = this.#decode(texts[i] ?? null);
    return slots;
  }

  /** On a Cluster: one `MGET` per hash slot, the answers put back at their keys' positions. */
  async #mgetBySlot(keys: readonly string[]): Promise<(string | null)[]> {
    const texts = new Array<string | null>(keys.length).fill(null);
    const bySlot = new Map<number, { keys: string[]; positions: number[] }>();
    keys.forEach((key, position) => {
      const full = this.#prefix + key;
      const slot = calculateSlot(full);
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, { keys: [full], positions: [position] });
      else {
        group.keys.push(full);
        group.positions.push(position);
      }
    });
    await Promise.all(
      Array.from(bySlot.values(), async ({ keys: group, positions }) => {
        const reply = await this.#client.mget(group);
        positions.forEach((position, i) => (texts[position] = reply[i] ?? null));
      }),
    );
    return texts;
  }

  #decode(text: string | null): Slot<V> {
    if (text === null) {
      this.#misses++;
      return undefined;
    }
    const decoded = decodeValue(text);
    if (decoded === UNDECODABLE) {
      this.#decodeErrors++;
      this.#misses++;
      return undefined;
    }
    if (decoded === ABSENT) {
      this.#negativeHits++;
      return ABSENT;
    }
    if (this.#validate === undefined) {
      this.#hits++;
      return decoded as V;
    }
    try {
      const value = this.#validate(decoded);
      if (value === undefined) throw new TypeError('validate returned undefined');
      this.#hits++;
      return value;
    } catch {
      this.#decodeErrors++;
      this.#misses++;
      return undefined;
    }
  }

  #pump(): void {
    while (this.#writing < this.#maxConcurrentWrites && this.#queue.length > 0) {
      const batch: LayerWrite<string, V>[] = [];
      while (batch.length < this.#maxBatchSize) {
        const next = this.#queue.shift();
        if (next === undefined) break;
        batch.push(next);
      }
      this.#writing += batch.length;
      void this.#send(batch).finally(() => {
        this.#writing -= batch.length;
        this.#pump();
        if (this.#writing === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idle.splice(0)) resolve();
        }
      });
    }
  }

  /** One pipeline per group (hash slot on a Cluster); never rejects, counts what failed. */
  async #send(batch: readonly LayerWrite<string, V>[]): Promise<void> {
    const startedAt = performance.now();
    const bySlot = new Map<number, LayerWrite<string, V>[]>();
    for (const write of batch) {
      const slot = this.#cluster ? calculateSlot(this.#prefix + write.key) : 0;
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, [write]);
      else group.push(write);
    }
    let failed = 0;
    await Promise.all(
      [...bySlot.values()].map(async (group) => {
        const pipeline = this.#client.pipeline();
        for (const { key, lookup, ttlMs } of group) {
          pipeline.set(this.#prefix + key, encodeEntry(lookup), 'PX', this.#ttl(ttlMs));
        }
        try {
          const results = (await pipeline.exec()) ?? [];
          for (const [error] of results) if (error !== null) failed++;
        } catch {
          failed += group.length;
        }
      }),
    );
    this.#writes += batch.length - failed;
    this.#writeErrors += failed;
    this.#observe('write', failed > 0 ? 'error' : 'ok', batch.length, startedAt);
  }

  #observe(
    operation: 'read' | 'write',
    outcome: 'ok' | 'error',
    keys: number,
    startedAt: number,
  ): void {
    this.#observer?.({
      layer: this.name,
      operation,
      outcome,
      keys,
      durationMs: performance.now() - startedAt,
    });
  }
}

/**
 * What MGET found for one key, kept small for the hot path: the decoded value, {@link ABSENT}
 * for a remembered absence, `undefined` for a miss. Decoded values are never `undefined`.
 */
type Slot<V> = V | typeof ABSENT | undefined;

const REMEMBERED_ABSENCE: Lookup<never> = Object.freeze({ found: false });

/** `get()`'s answer: the value found; `undefined` for a miss or a remembered absence. */
function valueOf(slot: unknown): unknown {
  return slot === ABSENT ? undefined : slot;
}

/** `read()`'s answer: a lookup for a value or a remembered absence; `undefined` for a miss. */
function lookupOf(slot: unknown): Lookup<unknown> | undefined {
  if (slot === undefined) return undefined;
  return slot === ABSENT ? REMEMBERED_ABSENCE : { found: true, value: slot };
}

function unavailable(message: string, cause: unknown): TributaryError {
  return TributaryError.transient('UNAVAILABLE', message, cause);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
