import { Firestore } from '@google-cloud/firestore';
import {
  createRedisClient,
  createRedisInvalidationBus,
  type CacheObserver,
} from '@tributary/cache';
import {
  createEnricher,
  createFetchers,
  type BuiltFetcher,
  type Enricher,
  type LookupsConfig,
} from '@tributary/enrichment';
import {
  createDeadLetterPublisher,
  createStreamingService,
  type Logger,
  type OutgoingMessage,
  type PipelineObserver,
  type StreamingService,
  type Transport,
  type TransportConsumer,
  type TransportProducer,
} from '@tributary/messagepipeline';
import type { EnrichmentConfig } from './config.js';

/** The wired parts of the enrichment app. */
export interface Enrichment {
  readonly consumer: TransportConsumer;
  readonly producer: TransportProducer;
  readonly deadLetterProducer: TransportProducer;
  readonly fetchers: ReadonlyMap<string, BuiltFetcher>;
  readonly enricher: Enricher;
  readonly service: StreamingService;
  /** Closes the clients the app created (Redis, Firestore); after the services stopped. */
  close(): Promise<void>;
}

/** Collaborators the composition root passes in. */
export interface EnrichmentDeps {
  readonly lookups: LookupsConfig;
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** Timings of cache layers and sources. */
  readonly cacheObserver?: CacheObserver | undefined;
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
}

/**
 * Pub/Sub subscription, then a StreamingService (transform: the lookups; process: publish to the
 * output topic), acking only after the publish is confirmed. Every fetcher's chain is an LRU,
 * Redis when `REDIS_URL` is set and the fetcher declares `redis`, and its source (Firestore or
 * a file). Dead letters carry `error.*` attributes.
 * @throws `TributaryError` `CONFIG_INVALID` when a fetcher's source cannot be built.
 */
export async function buildEnrichment(
  config: EnrichmentConfig,
  deps: EnrichmentDeps,
): Promise<Enrichment> {
  const { logger, lookups, transport } = deps;
  const needsFirestore = [...lookups.fetchers.values()].some((f) => f.source.kind === 'firestore');
  const firestore = needsFirestore
    ? new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT })
    : undefined;
  const redisOptions = {
    cluster: config.REDIS_CLUSTER,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  };
  const redis =
    config.REDIS_URL === undefined
      ? undefined
      : createRedisClient({ url: config.REDIS_URL, ...redisOptions });
  const subscriber =
    redis !== undefined && config.INVALIDATION_CHANNEL_PREFIX !== undefined
      ? createRedisClient({ url: config.REDIS_URL as string, ...redisOptions })
      : undefined;
  const prefix = config.INVALIDATION_CHANNEL_PREFIX;
  const fetchers = await createFetchers(lookups, {
    firestore,
    redis,
    invalidations:
      redis === undefined || subscriber === undefined || prefix === undefined
        ? undefined
        : (fetcher) =>
            createRedisInvalidationBus({
              publisher: redis,
              subscriber,
              channel: `${prefix}:${fetcher}`,
            }),
    breaker: {
      failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
      cooldownMs: config.BREAKER_COOLDOWN_MS,
    },
    observer: deps.cacheObserver,
    logger,
  });
  const enricher = createEnricher({
    lookups: lookups.lookups,
    fetchers: new Map([...fetchers].map(([name, built]) => [name, built.chain])),
  });
  const producerOptions = {
    // Ordering keys pass through: publishing with one needs the client's ordering on.
    messageOrdering: true,
    batching: {
      maxMessages: config.PUBSUB_BATCH_MAX_MESSAGES,
      maxMilliseconds: config.PUBSUB_BATCH_MAX_MS,
    },
    logger,
  };
  const producer = transport.producer({ ...producerOptions, topic: config.OUTPUT_TOPIC });
  const deadLetterProducer = transport.producer({
    ...producerOptions,
    topic: config.DEAD_LETTER_TOPIC,
  });
  const consumer = transport.consumer({
    subscription: config.INPUT_SUBSCRIPTION,
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    logger,
  });
  const service = createStreamingService<OutgoingMessage>({
    stage: 'enrichment',
    consumer,
    transformer: enricher.transform,
    processor: async ({ payload }, signal) => {
      await producer.publish(payload, { signal });
    },
    deadLetter: createDeadLetterPublisher(deadLetterProducer, {
      sourceSubscription: config.INPUT_SUBSCRIPTION,
    }),
    retry: {
      maxAttempts: config.RETRY_MAX_ATTEMPTS,
      initialBackoffMs: config.RETRY_INITIAL_BACKOFF_MS,
    },
    maxDeliveryAttempts:
      config.MAX_DELIVERY_ATTEMPTS === 0 ? undefined : config.MAX_DELIVERY_ATTEMPTS,
    concurrency: config.CONCURRENCY,
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    observer: deps.observer,
    logger,
    progressTimeoutMs: config.STALL_AFTER_MS,
  });
  return {
    consumer,
    producer,
    deadLetterProducer,
    fetchers,
    enricher,
    service,
    async close() {
      subscriber?.disconnect();
      await redis?.quit().catch(() => undefined);
      await firestore?.terminate().catch(() => undefined);
    },
  };
}
