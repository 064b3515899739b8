import { PubSub } from '@google-cloud/pubsub';
import {
  createBigQueryClient,
  createBigQuerySink,
  createInsertAllWriter,
  createTableManager,
  type BigQuerySink,
  type BigQuerySinkEvent,
  type InsertRequestEvent,
  type RowMappingOptions,
  type TableSchema,
} from '@tributary/bqstore';
import {
  createDeadLetterPublisher,
  type Logger,
  type PipelineObserver,
} from '@tributary/messagepipeline';
import {
  createPubSubConsumer,
  createPubSubProducer,
  type PubSubConsumer,
  type PubSubProducer,
} from '@tributary/messagepipeline/pubsub';
import type { BigQuery } from '@google-cloud/bigquery';
import type { BigQuerySinkConfig } from './config.js';

/** The wired parts of the BigQuery sink app. */
export interface BigQuerySinkApp {
  readonly pubsub: PubSub;
  readonly bigquery: BigQuery;
  readonly consumer: PubSubConsumer;
  readonly deadLetterProducer: PubSubProducer;
  readonly sink: BigQuerySink;
}

/** Collaborators the composition root passes in. */
export interface BigQuerySinkDeps {
  readonly logger: Logger;
  /** The table schema read from `SCHEMA_FILE`. */
  readonly schema?: TableSchema | undefined;
  /** The row mapping read from `MAPPING_FILE`. */
  readonly mapping?: RowMappingOptions | undefined;
  readonly observer?: PipelineObserver | undefined;
  readonly onEvent?: ((event: BigQuerySinkEvent) => void) | undefined;
  readonly onRequest?: ((event: InsertRequestEvent) => void) | undefined;
  /** @defaultValue a client for `GOOGLE_CLOUD_PROJECT` */
  readonly pubsub?: PubSub | undefined;
  /** @defaultValue {@link createBigQueryClient} for the dataset's project */
  readonly bigquery?: BigQuery | undefined;
}

/**
 * Pub/Sub consumer, then the BigQuery sink (BatchingService: map, route, validate; insertAll writer),
 * with a dead-letter topic for rows that cannot be written.
 */
export function buildBigQuerySink(
  config: BigQuerySinkConfig,
  deps: BigQuerySinkDeps,
): BigQuerySinkApp {
  const { logger } = deps;
  const projectId = config.BIGQUERY_PROJECT ?? config.GOOGLE_CLOUD_PROJECT;
  const pubsub = deps.pubsub ?? new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const bigquery =
    deps.bigquery ??
    createBigQueryClient({ projectId, requestTimeoutMs: config.INSERT_TIMEOUT_MS + 5_000 });
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
  const writer = createInsertAllWriter({
    bigquery,
    maxRowsPerRequest: config.INSERT_MAX_ROWS,
    maxRequestBytes: config.INSERT_MAX_BYTES,
    maxConcurrentRequests: config.INSERT_CONCURRENCY,
    requestTimeoutMs: config.INSERT_TIMEOUT_MS,
    onRequest: deps.onRequest,
  });
  const sink = createBigQuerySink({
    consumer,
    writer,
    tables: createTableManager(bigquery),
    projectId,
    datasetId: config.BIGQUERY_DATASET,
    table: config.BIGQUERY_TABLE,
    schema: deps.schema,
    autoCreate: config.AUTO_CREATE && deps.schema !== undefined,
    timePartitioning:
      config.PARTITION_TYPE === 'NONE'
        ? undefined
        : {
            type: config.PARTITION_TYPE,
            field: config.PARTITION_FIELD,
            expirationMs:
              config.PARTITION_EXPIRATION_MS > 0 ? config.PARTITION_EXPIRATION_MS : undefined,
          },
    clustering: config.CLUSTERING_FIELDS?.split(','),
    location: config.BIGQUERY_LOCATION,
    dedupView:
      config.DEDUP_VIEW === undefined || deps.mapping?.messageIdColumn === undefined
        ? undefined
        : {
            viewId: config.DEDUP_VIEW,
            idColumn: deps.mapping.messageIdColumn,
            orderColumn: deps.mapping.publishTimeColumn,
          },
    mapping: deps.mapping,
    unknownFields: config.UNKNOWN_FIELDS,
    maxItems: config.BATCH_MAX_ITEMS,
    maxBytes: config.BATCH_MAX_BYTES,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    maxConcurrentFlushes: config.MAX_CONCURRENT_FLUSHES,
    deadLetter: createDeadLetterPublisher(deadLetterProducer, {
      sourceSubscription: config.SUBSCRIPTION,
    }),
    retry: {
      maxAttempts: config.RETRY_MAX_ATTEMPTS,
      initialBackoffMs: config.RETRY_INITIAL_BACKOFF_MS,
      maxBackoffMs: Math.max(config.RETRY_MAX_BACKOFF_MS, config.RETRY_INITIAL_BACKOFF_MS),
    },
    maxDeliveryAttempts:
      config.MAX_DELIVERY_ATTEMPTS > 0 ? config.MAX_DELIVERY_ATTEMPTS : undefined,
    observer: deps.observer,
    onEvent: deps.onEvent,
    logger,
    progressTimeoutMs: config.STALL_AFTER_MS,
  });
  return { pubsub, bigquery, consumer, deadLetterProducer, sink };
}
