import { PubSub } from '@google-cloud/pubsub';
import {
  createBatchingService,
  createDeadLetterPublisher,
  type BatchingService,
  type Logger,
  type PipelineObserver,
} from '@tributary/messagepipeline';
import {
  createPubSubConsumer,
  createPubSubProducer,
  type PubSubConsumer,
  type PubSubProducer,
} from '@tributary/messagepipeline/pubsub';
import {
  createEventStore,
  createMysqlPool,
  eventRowTransformer,
  type EventStore,
} from '@tributary/sqlstore';
import type { Pool } from 'mysql2/promise';
import type { SqlSinkConfig } from './config.js';

/** The wired parts of the sql-sink app. */
export interface SqlSink {
  readonly pubsub: PubSub;
  readonly pool: Pool;
  readonly consumer: PubSubConsumer;
  readonly deadLetterProducer: PubSubProducer;
  readonly store: EventStore;
  readonly service: BatchingService;
}

/** Collaborators the composition root passes in. */
export interface SqlSinkDeps {
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** @defaultValue a client for `GOOGLE_CLOUD_PROJECT` */
  readonly pubsub?: PubSub | undefined;
}

/**
 * Pub/Sub subscription, then a BatchingService (transform: the event row; process: one multi-row
 * idempotent INSERT per batch). Rows the database refuses go to the dead-letter topic, then are
 * acked; transient failures are retried, then nacked.
 */
export function buildSqlSink(config: SqlSinkConfig, deps: SqlSinkDeps): SqlSink {
  const { logger } = deps;
  const pubsub = deps.pubsub ?? new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const pool = createMysqlPool({
    url: config.MYSQL_URL,
    connectionLimit: config.MYSQL_POOL_SIZE,
    connectTimeoutMs: config.MYSQL_CONNECT_TIMEOUT_MS,
    tls: config.MYSQL_TLS
      ? {
          caFile: config.MYSQL_TLS_CA_FILE,
          certFile: config.MYSQL_TLS_CERT_FILE,
          keyFile: config.MYSQL_TLS_KEY_FILE,
          rejectUnauthorized: config.MYSQL_TLS_REJECT_UNAUTHORIZED,
        }
      : undefined,
  });
  const consumer = createPubSubConsumer({
    pubsub,
    subscriptionName: config.SUBSCRIPTION,
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    logger,
  });
  const deadLetterProducer = createPubSubProducer({
    pubsub,
    topicName: config.DEAD_LETTER_TOPIC,
    logger,
  });
  const store = createEventStore({
    pool,
    table: config.MYSQL_TABLE,
    statementTimeoutMs: config.MYSQL_STATEMENT_TIMEOUT_MS,
    logger,
  });
  const service = createBatchingService({
    stage: 'sql-sink',
    consumer,
    transformer: eventRowTransformer,
    processor: store.write,
    deadLetter: createDeadLetterPublisher(deadLetterProducer, {
      sourceSubscription: consumer.subscriptionName,
    }),
    maxItems: config.BATCH_MAX_ITEMS,
    maxBytes: config.BATCH_MAX_BYTES,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    maxConcurrentFlushes: config.MAX_CONCURRENT_FLUSHES,
    retry: {
      maxAttempts: config.RETRY_MAX_ATTEMPTS,
      initialBackoffMs: config.RETRY_INITIAL_BACKOFF_MS,
    },
    maxDeliveryAttempts:
      config.MAX_DELIVERY_ATTEMPTS === 0 ? undefined : config.MAX_DELIVERY_ATTEMPTS,
    observer: deps.observer,
    logger,
    progressTimeoutMs: config.STALL_AFTER_MS,
  });
  return { pubsub, pool, consumer, deadLetterProducer, store, service };
}
