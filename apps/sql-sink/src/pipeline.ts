import {
  createBatchingService,
  createDeadLetterPublisher,
  type BatchingService,
  type Logger,
  type PipelineObserver,
  type Transport,
  type TransportConsumer,
  type TransportProducer,
} from '@tributary/messagepipeline';
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
  readonly pool: Pool;
  readonly consumer: TransportConsumer;
  readonly deadLetterProducer: TransportProducer;
  readonly store: EventStore;
  readonly service: BatchingService;
}

/** Collaborators the composition root passes in. */
export interface SqlSinkDeps {
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
}

/**
 * The subscription on `deps.transport`, then a BatchingService (transform: the event row; process: one multi-row
 * idempotent INSERT per batch). Rows the database refuses go to the dead-letter topic, then are
 * acked; transient failures are retried, then nacked.
 */
export function buildSqlSink(config: SqlSinkConfig, deps: SqlSinkDeps): SqlSink {
  const { logger, transport } = deps;
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
  const consumer = transport.consumer({
    subscription: config.SUBSCRIPTION,
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    logger,
  });
  const deadLetterProducer = transport.producer({
    topic: config.DEAD_LETTER_TOPIC,
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
      sourceSubscription: config.SUBSCRIPTION,
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
  return { pool, consumer, deadLetterProducer, store, service };
}
