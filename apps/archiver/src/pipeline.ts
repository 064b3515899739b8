import { Storage } from '@google-cloud/storage';
import { createArchiveSink, createGcsUploader, type ArchiveSink } from '@tributary/icestore';
import type {
  Logger,
  PipelineObserver,
  Transport,
  TransportConsumer,
} from '@tributary/messagepipeline';
import type { ArchiverConfig } from './config.js';

/** The wired parts of the archiver. */
export interface ArchiverApp {
  readonly consumer: TransportConsumer;
  readonly sink: ArchiveSink;
}

/** Collaborators the composition root passes in. */
export interface ArchiverDeps {
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
  /** @defaultValue `new Storage()` (honours `STORAGE_EMULATOR_HOST`) */
  readonly storage?: Storage | undefined;
}

/** Pub/Sub consumer, then the archive sink (keyed batching, gzip JSON Lines, create-only GCS). */
export function buildArchiver(config: ArchiverConfig, deps: ArchiverDeps): ArchiverApp {
  const { logger, transport } = deps;
  const storage = deps.storage ?? new Storage({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const consumer = transport.consumer({
    subscription: config.SUBSCRIPTION,
    maxInFlightMessages: config.MAX_IN_FLIGHT_MESSAGES,
    maxInFlightBytes: config.MAX_IN_FLIGHT_BYTES,
    logger,
  });
  const sink = createArchiveSink({
    consumer,
    uploader: createGcsUploader({
      bucket: storage.bucket(config.BUCKET),
      prefix: config.PREFIX,
      gzipLevel: config.GZIP_LEVEL,
      uploadTimeoutMs: config.UPLOAD_TIMEOUT_MS,
    }),
    keys: {
      template: config.KEY_TEMPLATE,
      layout: config.LAYOUT,
      hourly: config.HOURLY,
      timestampField: config.TIMESTAMP_FIELD,
      maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
      placeholder: config.MISSING_PART,
    },
    maxItems: config.BATCH_MAX_ITEMS,
    maxBytes: config.BATCH_MAX_BYTES,
    maxWaitMs: config.BATCH_MAX_WAIT_MS,
    maxBufferedBytes: Math.max(config.BUFFER_BUDGET_BYTES, config.BATCH_MAX_BYTES),
    maxOpenKeys: config.MAX_OPEN_KEYS,
    maxConcurrentFlushes: config.MAX_CONCURRENT_FLUSHES,
    retry: {
      maxAttempts: config.RETRY_MAX_ATTEMPTS,
      initialBackoffMs: config.RETRY_INITIAL_BACKOFF_MS,
      maxBackoffMs: config.RETRY_MAX_BACKOFF_MS,
    },
    progressTimeoutMs: config.STALL_AFTER_MS,
    observer: deps.observer,
    logger,
  });
  return { consumer, sink };
}
