import {
  cacheChainStatsDescription,
  createCacheChain,
  createFirestoreSource,
  firestoreSourceStatsDescription,
  lruStatsDescription,
  redisLayerStatsDescription,
  staticSourceStatsDescription,
  createLruLayer,
  createRedisLayer,
  loadStaticSource,
  type BreakerOptions,
  type CacheChain,
  type CacheLayer,
  type CacheObserver,
  type Fetcher,
  type FirestoreSourceOptions,
  type InvalidationBus,
  type RedisLayerOptions,
} from '@tributary/cache';
import {
  TributaryError,
  type Logger,
  type StatsDescription,
  type StatsSource,
} from '@tributary/messagepipeline';
import type { FetcherDefinition, LookupsConfig } from './lookups-file.js';

/** A looked-up record. */
export type Reference = Readonly<Record<string, unknown>>;

/** The clients and shared settings {@link createFetchers} builds chains with. */
export interface FetcherDeps {
  /** Required when a fetcher reads Firestore. */
  readonly firestore?: FirestoreSourceOptions<Reference>['firestore'] | undefined;
  /** Adds a Redis layer to every fetcher that declares `redis`; without it they run LRU-only. */
  readonly redis?: RedisLayerOptions<Reference>['client'] | undefined;
  /** Per-fetcher invalidation buses, by fetcher name. */
  readonly invalidations?: ((fetcher: string) => InvalidationBus | undefined) | undefined;
  readonly breaker?: BreakerOptions | undefined;
  readonly observer?: CacheObserver | undefined;
  readonly logger?: Logger | undefined;
}

/** The stats of one part of a fetcher (its chain, a layer, its source), for `exposeStats`. */
export type FetcherStatsSource = StatsSource;

/** The chain of a fetcher and the stats of its parts. */
export interface BuiltFetcher {
  readonly chain: CacheChain<Reference>;
  readonly statsSources: readonly FetcherStatsSource[];
}

/**
 * Builds the chain of every declared fetcher: an LRU, a Redis layer (when `deps.redis` is set and
 * the fetcher declares `redis`), and its source (Firestore, or a file loaded into memory).
 * @throws `TributaryError` `CONFIG_INVALID` when a fetcher needs Firestore and none is given, or
 * its source file is invalid.
 */
export async function createFetchers(
  config: LookupsConfig,
  deps: FetcherDeps,
): Promise<ReadonlyMap<string, BuiltFetcher>> {
  const built = new Map<string, BuiltFetcher>();
  for (const [name, definition] of config.fetchers) {
    built.set(name, await createFetcher(definition, deps));
  }
  return built;
}

async function createFetcher(
  definition: FetcherDefinition,
  deps: FetcherDeps,
): Promise<BuiltFetcher> {
  const { name } = definition;
  const statsSources: FetcherStatsSource[] = [];
  const track = <S extends object>(
    prefix: string,
    stats: () => S,
    description: StatsDescription<S>,
  ): void => {
    statsSources.push({ prefix, stats, description: description });
  };
  let source: Fetcher<string, Reference>;
  if (definition.source.kind === 'firestore') {
    if (deps.firestore === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `fetcher '${name}' reads Firestore, and no Firestore client was given`,
      );
    }
    const firestore = createFirestoreSource<Reference>({
      firestore: deps.firestore,
      collection: definition.source.collection,
      documentId: definition.source.documentId,
      fields: definition.source.fields,
      name: `${name}:firestore`,
      observer: deps.observer,
    });
    track('cache_firestore', () => firestore.stats(), firestoreSourceStatsDescription);
    source = firestore;
  } else {
    const file = await loadStaticSource<Reference>(definition.source.file, {
      keyField: definition.source.keyField,
      name: `${name}:file`,
    });
    track('cache_file', () => file.stats(), staticSourceStatsDescription);
    source = file;
  }
  const staleIfErrorMs = definition.staleIfErrorMs ?? 0;
  const lru = createLruLayer<string, Reference>({
    name: `${name}:lru`,
    maxEntries: definition.lru.maxEntries,
    maxBytes: definition.lru.maxBytes,
    ttlMs: definition.lru.ttlMs,
    maxStalenessMs: staleIfErrorMs,
  });
  track('cache_lru', () => lru.stats(), lruStatsDescription);
  const layers: CacheLayer<string, Reference>[] = [lru];
  if (deps.redis !== undefined && definition.redis !== undefined) {
    const redis = createRedisLayer<Reference>({
      client: deps.redis,
      namespace: definition.redis.namespace,
      ttlMs: definition.redis.ttlMs,
      name: `${name}:redis`,
      observer: deps.observer,
    });
    track('cache_redis', () => redis.stats(), redisLayerStatsDescription);
    layers.push(redis);
  }
  const chain = createCacheChain<Reference>({
    name,
    layers,
    source,
    negativeTtlMs: definition.negativeTtlMs,
    staleIfErrorMs,
    breaker: deps.breaker,
    invalidations: deps.invalidations?.(name),
    logger: deps.logger,
  });
  track('cache', () => chain.stats(), cacheChainStatsDescription);
  return { chain, statsSources };
}
