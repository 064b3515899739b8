export type {
  CacheEvent,
  CacheHealth,
  CacheLayer,
  CacheObserver,
  Fetcher,
  LayerWrite,
  Lookup,
  SetOptions,
  Store,
} from './ports.js';
export {
  createLruLayer,
  DEFAULT_LRU_OPTIONS,
  estimateEntryBytes,
  estimateHeapBytes,
  LRU_ENTRY_OVERHEAD_BYTES,
  lruStatsDescription,
} from './lru-layer.js';
export type { LruLayer, LruLayerOptions, LruStats } from './lru-layer.js';
export {
  createRedisLayer,
  DEFAULT_REDIS_LAYER_OPTIONS,
  redisLayerStatsDescription,
} from './redis-layer.js';
export type { RedisLayer, RedisLayerOptions, RedisLayerStats } from './redis-layer.js';
export { CODEC_VERSION } from './codec.js';
export { createRedisClient, DEFAULT_REDIS_CLIENT_OPTIONS } from './redis-client.js';
export type { RedisClientOptions } from './redis-client.js';
export {
  createFirestoreSource,
  DEFAULT_FIRESTORE_SOURCE_OPTIONS,
  firestoreSourceStatsDescription,
} from './firestore-source.js';
export type {
  FirestoreSource,
  FirestoreSourceOptions,
  FirestoreSourceStats,
} from './firestore-source.js';
export { classifyFirestoreError } from './firestore-errors.js';
export {
  createStaticSource,
  loadStaticSource,
  parseStaticRecords,
  staticSourceStatsDescription,
} from './static-source.js';
export type { StaticSource, StaticSourceOptions, StaticSourceStats } from './static-source.js';
export { DEFAULT_BREAKER_OPTIONS } from './breaker.js';
export type { BreakerOptions, BreakerState } from './breaker.js';
export {
  cacheChainStatsDescription,
  createCacheChain,
  DEFAULT_CACHE_CHAIN_OPTIONS,
} from './chain.js';
export type { CacheChain, CacheChainOptions, CacheChainStats } from './chain.js';
export { createRedisInvalidationBus } from './invalidation.js';
export type { InvalidationBus, RedisInvalidationBusOptions } from './invalidation.js';
