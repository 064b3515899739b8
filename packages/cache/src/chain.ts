import {
  InvalidArgumentError,
  silentLogger,
  toTributaryError,
  type Logger,
  type Service,
  type StatsDescription,
  type StopOptions,
} from '@tributary/messagepipeline';
import { Lifecycle, requireNumber, within } from '@tributary/messagepipeline/kernel';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import type { InvalidationBus } from './invalidation.js';
import type { CacheHealth, CacheLayer, Fetcher, Lookup } from './ports.js';

/** Options for {@link createCacheChain}. */
export interface CacheChainOptions<V> {
  /** @defaultValue 'cache' */
  readonly name?: string | undefined;
  /** Cache layers, fastest first (an LRU, then Redis); may be empty. */
  readonly layers: readonly CacheLayer<string, V>[];
  /** The source of truth (Firestore, a static file), read when no layer knows the key. */
  readonly source: Fetcher<string, V>;
  /**
   * How long a miss of the source is remembered in the layers (negative caching); 0 turns it off.
   * @defaultValue 30_000
   */
  readonly negativeTtlMs?: number | undefined;
  /**
   * When the source (and every layer below) fails, serve an expired value from a layer that keeps
   * one (an LRU with `maxStalenessMs`) if it expired at most this long ago; 0 turns it off.
   * @defaultValue 0
   */
  readonly staleIfErrorMs?: number | undefined;
  /** The circuit breaker of every `shared` layer (Redis). */
  readonly breaker?: BreakerOptions | undefined;
  /**
   * Where invalidations are published and heard, so every instance drops the key from its
   * local layers (multi-instance coherence). The chain subscribes on `start()`.
   */
  readonly invalidations?: InvalidationBus | undefined;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger | undefined;
  /** The clock of the breakers (ms). @defaultValue `Date.now` */
  readonly now?: (() => number) | undefined;
}

/** The defaults of {@link CacheChainOptions}. */
export const DEFAULT_CACHE_CHAIN_OPTIONS = Object.freeze({
  negativeTtlMs: 30_000,
  staleIfErrorMs: 0,
});

/** Counters and gauges of a chain. */
export interface CacheChainStats {
  /** Keys asked for. */
  readonly requests: number;
  /** Lookups that joined a read of the same key already under way (single-flight). */
  readonly coalesced: number;
  /** Keys read from the source. */
  readonly sourceReads: number;
  /** Keys the source does not have. */
  readonly sourceMisses: number;
  readonly sourceErrors: number;
  /** Expired values served because the source failed. */
  readonly staleServed: number;
  /** Failed reads of a layer (the chain went on to the next one). */
  readonly layerErrors: number;
  /** Reads that skipped a layer whose circuit is open. */
  readonly bypassed: number;
  /** Layers whose circuit is open now. */
  readonly openCircuits: number;
  /** Times a circuit opened. */
  readonly circuitOpens: number;
  /** Invalidations heard from other instances. */
  readonly invalidationsHeard: number;
}

/** What each {@link CacheChainStats} field measures. */
export const cacheChainStatsDescription: StatsDescription<CacheChainStats> = {
  requests: { kind: 'counter', help: 'Keys asked for' },
  coalesced: { kind: 'counter', help: 'Lookups that joined a read already under way' },
  sourceReads: { kind: 'counter', help: 'Keys read from the source of truth' },
  sourceMisses: { kind: 'counter', help: 'Keys the source does not have' },
  sourceErrors: { kind: 'counter', help: 'Keys whose source read failed' },
  staleServed: { kind: 'counter', help: 'Expired values served because the source failed' },
  layerErrors: { kind: 'counter', help: 'Failed layer reads (the next layer was asked)' },
  bypassed: { kind: 'counter', help: 'Reads that skipped a layer with an open circuit' },
  openCircuits: { kind: 'gauge', help: 'Layers bypassed now (circuit open)' },
  circuitOpens: { kind: 'counter', help: 'Times a circuit opened' },
  invalidationsHeard: { kind: 'counter', help: 'Invalidations heard from other instances' },
};

/**
 * A read-through chain of cache layers over a source of truth: a fetcher that is also a service
 * (start subscribes to invalidations; stop drains the write-backs).
 */
export interface CacheChain<V> extends Fetcher<string, V>, Service {
  /**
   * What the first layer knows of `key` right now, synchronously, when it is an in-process LRU
   * (a fresh value or a remembered miss); `undefined` otherwise. The fast path of a warm cache:
   * counted as a request like `get()`.
   */
  peek(key: string): Lookup<V> | undefined;
  /** Drops `key` from every layer and publishes the invalidation, if a bus is set. */
  invalidate(key: string): Promise<void>;
  /** Ready while running; `degraded` (still ready) while a layer is bypassed. */
  health(): CacheHealth;
  /** The circuit state of each layer that has a breaker, by layer name. */
  circuits(): ReadonlyMap<string, BreakerState>;
  stats(): CacheChainStats;
}

/**
 * Creates a read-through chain: a key is looked up layer by layer, then in the source; what is
 * found is written back into the layers above it (negative entries for misses, with
 * `negativeTtlMs`). Concurrent lookups of one key share one read (single-flight). A failing layer
 * is skipped, never ending the lookup; a shared layer that keeps failing is bypassed by its
 * circuit breaker until a probe succeeds. When the source fails, a value no more than
 * `staleIfErrorMs` expired may be served (counted); otherwise the lookup rejects with the
 * source's classified error.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createCacheChain<V>(options: CacheChainOptions<V>): CacheChain<V> {
  return new CacheChainImpl(options);
}

interface Flight<V> {
  promise: Promise<V | undefined>;
  invalidated: boolean;
}

interface SyncLayer<V> {
  readSync(key: string): Lookup<V> | undefined;
}

function hasReadSync<V>(
  layer: CacheLayer<string, V>,
): layer is CacheLayer<string, V> & SyncLayer<V> {
  return typeof (layer as Partial<SyncLayer<V>>).readSync === 'function';
}

class CacheChainImpl<V> implements CacheChain<V> {
  readonly name: string;
  readonly #layers: readonly CacheLayer<string, V>[];
  readonly #breakers: readonly (CircuitBreaker | undefined)[];
  readonly #memory: SyncLayer<V> | undefined;
  readonly #source: Fetcher<string, V>;
  readonly #negativeTtlMs: number;
  readonly #staleIfErrorMs: number;
  readonly #bus: InvalidationBus | undefined;
  readonly #logger: Logger;
  readonly #lifecycle: Lifecycle;
  readonly #flights = new Map<string, Flight<V>>();
  #unsubscribe: (() => Promise<void>) | undefined;
  #requests = 0;
  #coalesced = 0;
  #sourceReads = 0;
  #sourceMisses = 0;
  #sourceErrors = 0;
  #staleServed = 0;
  #layerErrors = 0;
  #bypassed = 0;
  #invalidationsHeard = 0;

  constructor(options: CacheChainOptions<V>) {
    const d = DEFAULT_CACHE_CHAIN_OPTIONS;
    const layers: unknown = options.layers;
    if (!Array.isArray(layers)) throw InvalidArgumentError.for('layers', 'must be an array');
    for (const [i, layer] of options.layers.entries()) {
      if (typeof (layer as Partial<CacheLayer<string, V>>).read !== 'function') {
        throw InvalidArgumentError.for(`layers[${i}]`, 'must be a cache layer');
      }
    }
    const source = options.source as Fetcher<string, V> | undefined;
    if (typeof source?.get !== 'function') {
      throw InvalidArgumentError.for('source', 'must be a Fetcher');
    }
    this.name = options.name ?? 'cache';
    this.#layers = options.layers;
    this.#source = source;
    this.#negativeTtlMs = requireNumber(
      'negativeTtlMs',
      options.negativeTtlMs ?? d.negativeTtlMs,
      0,
    );
    this.#staleIfErrorMs = requireNumber(
      'staleIfErrorMs',
      options.staleIfErrorMs ?? d.staleIfErrorMs,
      0,
      { allowInfinity: true },
    );
    this.#breakers = options.layers.map((layer) =>
      layer.scope === 'shared' ? new CircuitBreaker(options.breaker, options.now) : undefined,
    );
    const first = options.layers[0];
    this.#memory = first !== undefined && hasReadSync<V>(first) ? first : undefined;
    this.#bus = options.invalidations;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'cache', cache: this.name });
    this.#lifecycle = new Lifecycle(`cache chain '${this.name}'`, {
      start: async () => {
        if (this.#bus !== undefined) {
          this.#unsubscribe = await this.#bus.subscribe((key) => {
            this.#heard(key);
          });
        }
      },
      stop: async (timeoutMs) => {
        await this.#unsubscribe?.();
        const flushed = await within(
          Promise.all(this.#layers.map((layer) => layer.flush())),
          timeoutMs,
        );
        if (flushed.kind !== 'ok') {
          this.#logger.warn({ outcome: flushed.kind }, 'cache write-backs not drained at stop');
        }
      },
      stopUnstarted: true,
    });
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  peek(key: string): Lookup<V> | undefined {
    const hit = this.#memory?.readSync(key);
    if (hit !== undefined) this.#requests++;
    return hit;
  }

  get(key: string): Promise<V | undefined> {
    this.#requests++;
    const hit = this.#memory?.readSync(key);
    if (hit !== undefined) return Promise.resolve(hit.found ? hit.value : undefined);
    const flying = this.#flights.get(key);
    if (flying !== undefined) {
      this.#coalesced++;
      return flying.promise;
    }
    const flight: Flight<V> = { promise: Promise.resolve(undefined), invalidated: false };
    const land = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.promise = this.#resolve(key, flight).then(
      (value) => {
        land();
        return value;
      },
      (error: unknown) => {
        land();
        throw error;
      },
    );
    this.#flights.set(key, flight);
    return flight.promise;
  }

  getMany(keys: readonly string[]): Promise<(V | undefined)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  async invalidate(key: string): Promise<void> {
    this.#dropFlight(key);
    const results = await Promise.allSettled(this.#layers.map((layer) => layer.delete(key)));
    await this.#bus?.publish(key);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw toTributaryError(failed.reason);
  }

  health(): CacheHealth {
    const open = [...this.circuits()].filter(([, state]) => state !== 'closed');
    const health = this.#lifecycle.healthWhenRunning(() =>
      open.length === 0
        ? { ready: true }
        : {
            ready: true,
            detail: `degraded: bypassing ${open.map(([name, state]) => `${name} (circuit ${state})`).join(', ')}`,
          },
    );
    return { ...health, degraded: open.length > 0 };
  }

  circuits(): ReadonlyMap<string, BreakerState> {
    const states = new Map<string, BreakerState>();
    this.#layers.forEach((layer, i) => {
      const breaker = this.#breakers[i];
      if (breaker !== undefined) states.set(layer.name, breaker.state);
    });
    return states;
  }

  stats(): CacheChainStats {
    let openCircuits = 0;
    let circuitOpens = 0;
    for (const breaker of this.#breakers) {
      if (breaker === undefined) continue;
      if (breaker.state !== 'closed') openCircuits++;
      circuitOpens += breaker.opens;
    }
    return {
      requests: this.#requests,
      coalesced: this.#coalesced,
      sourceReads: this.#sourceReads,
      sourceMisses: this.#sourceMisses,
      sourceErrors: this.#sourceErrors,
      staleServed: this.#staleServed,
      layerErrors: this.#layerErrors,
      bypassed: this.#bypassed,
      openCircuits,
      circuitOpens,
      invalidationsHeard: this.#invalidationsHeard,
    };
  }

  async #resolve(key: string, flight: Flight<V>): Promise<V | undefined> {
    // The layers that did not know the key, to write back into; the memory layer missed already.
    const above: CacheLayer<string, V>[] = [];
    const layers = this.#layers;
    let from = 0;
    if (this.#memory !== undefined) {
      above.push(layers[0] as CacheLayer<string, V>);
      from = 1;
    }
    for (let i = from; i < layers.length; i++) {
      const layer = layers[i] as CacheLayer<string, V>;
      const breaker = this.#breakers[i];
      if (breaker !== undefined && !breaker.allow()) {
        this.#bypassed++;
        continue;
      }
      let lookup: Lookup<V> | undefined;
      try {
        lookup = await layer.readOne(key);
        breaker?.success();
      } catch (error) {
        this.#layerFailed(layer, breaker, error);
        continue;
      }
      if (lookup !== undefined) {
        this.#writeBack(flight, above, key, lookup);
        return lookup.found ? lookup.value : undefined;
      }
      above.push(layer);
    }
    let value: V | undefined;
    try {
      this.#sourceReads++;
      value = await this.#source.get(key);
    } catch (error) {
      const stale = this.#stale(key);
      if (stale !== undefined) {
        this.#staleServed++;
        return stale;
      }
      this.#sourceErrors++;
      throw toTributaryError(error);
    }
    if (value === undefined) {
      this.#sourceMisses++;
      if (this.#negativeTtlMs > 0) {
        this.#writeBack(flight, above, key, { found: false }, this.#negativeTtlMs);
      }
      return undefined;
    }
    this.#writeBack(flight, above, key, { found: true, value });
    return value;
  }

  #layerFailed(
    layer: CacheLayer<string, V>,
    breaker: CircuitBreaker | undefined,
    error: unknown,
  ): void {
    this.#layerErrors++;
    if (breaker === undefined) return;
    const opensBefore = breaker.opens;
    breaker.failure();
    if (breaker.opens > opensBefore) {
      this.#logger.warn(
        { err: error, layer: layer.name },
        'cache layer failing: circuit open, bypassing it',
      );
    }
  }

  #stale(key: string): V | undefined {
    if (this.#staleIfErrorMs <= 0) return undefined;
    for (const layer of this.#layers) {
      const lookup = layer.readStale?.(key, this.#staleIfErrorMs);
      if (lookup?.found === true) return lookup.value;
    }
    return undefined;
  }

  #writeBack(
    flight: Flight<V>,
    layers: readonly CacheLayer<string, V>[],
    key: string,
    lookup: Lookup<V>,
    ttlMs?: number,
  ): void {
    if (flight.invalidated) return;
    for (const layer of layers) {
      const breaker = this.#breakers[this.#layers.indexOf(layer)];
      if (breaker !== undefined && breaker.state !== 'closed') continue;
      layer.write([{ key, lookup, ttlMs }]);
    }
  }

  #dropFlight(key: string): void {
    const flight = this.#flights.get(key);
    if (flight === undefined) return;
    flight.invalidated = true;
    this.#flights.delete(key);
  }

  #heard(key: string): void {
    this.#invalidationsHeard++;
    this.#dropFlight(key);
    for (const layer of this.#layers) {
      if (layer.scope === 'local') void layer.delete(key).catch(() => undefined);
    }
  }
}
