import {
  createBigQueryClient,
  createBigQuerySink,
  createInsertAllWriter,
  createStorageWriteWriter,
  createTableManager,
  type AppendEvent,
  type BigQuerySink,
  type BigQuerySinkEvent,
  type InsertRequestEvent,
  type RowMappingOptions,
  type RowWriter,
  type TableSchema,
} from '@tributary/bqstore';
import {
  createDeadLetterPublisher,
  type Logger,
  type PipelineObserver,
  type Service,
  type Transport,
  type TransportConsumer,
  type TransportProducer,
} from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import type { BigQuery } from '@google-cloud/bigquery';
import type { BigQuerySinkConfig } from './config.js';

/** The wired parts of the BigQuery sink app. */
export interface BigQuerySinkApp {
  readonly bigquery: BigQuery;
  readonly consumer: TransportConsumer;
  readonly deadLetterProducer: TransportProducer;
  readonly sink: BigQuerySink;
  /** Closes the row writer's connections on stop (the Storage Write writer's gRPC streams). */
  readonly writerService: Service;
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
  /** Told about every AppendRows request of the Storage Write writer (`WRITER=storage-write`). */
  readonly onAppend?: ((event: AppendEvent) => void) | undefined;
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
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
  const { logger, transport } = deps;
  const projectId = config.BIGQUERY_PROJECT ?? config.GOOGLE_CLOUD_PROJECT;
  const bigquery =
    deps.bigquery ??
    createBigQueryClient({ projectId, requestTimeoutMs: config.INSERT_TIMEOUT_MS + 5_000 });
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
  let writer: RowWriter;
  let closeWriter = (): void => undefined;
  if (config.WRITER === 'storage-write') {
    const storageWriter = createStorageWriteWriter({
      projectId,
      emulatorHost: config.BIGQUERY_STORAGE_EMULATOR_HOST,
      stream: config.STORAGE_WRITE_STREAM,
      appendTimeoutMs: config.INSERT_TIMEOUT_MS,
      onAppend: deps.onAppend,
    });
    writer = storageWriter;
    closeWriter = () => {
      storageWriter.close();
    };
  } else {
    writer = createInsertAllWriter({
      bigquery,
      maxRowsPerRequest: config.INSERT_MAX_ROWS,
      maxRequestBytes: config.INSERT_MAX_BYTES,
      maxConcurrentRequests: config.INSERT_CONCURRENCY,
      requestTimeoutMs: config.INSERT_TIMEOUT_MS,
      onRequest: deps.onRequest,
    });
  }
  const writerService = new Lifecycle(`${writer.name} writer`, {
    stop: closeWriter,
    stopUnstarted: true,
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
  return { bigquery, consumer, deadLetterProducer, sink, writerService };
}
