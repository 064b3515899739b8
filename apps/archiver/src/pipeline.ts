import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { createArchiveSink, createGcsUploader, type ArchiveSink } from '@tributary/icestore';
import type { Logger, PipelineObserver } from '@tributary/messagepipeline';
import { createPubSubConsumer, type PubSubConsumer } from '@tributary/messagepipeline/pubsub';
import type { ArchiverConfig } from './config.js';

/** The wired parts of the archiver. */
export interface ArchiverApp {
  readonly consumer: PubSubConsumer;
  readonly sink: ArchiveSink;
}

/** Collaborators the composition root passes in. */
export interface ArchiverDeps {
  readonly logger: Logger;
  readonly observer?: PipelineObserver | undefined;
  /** @defaultValue a client for `GOOGLE_CLOUD_PROJECT` */
  readonly pubsub?: PubSub | undefined;
  /** @defaultValue `new Storage()` (honours `STORAGE_EMULATOR_HOST`) */
  readonly storage?: Storage | undefined;
}

/** Pub/Sub consumer, then the archive sink (keyed batching, gzip JSON Lines, create-only GCS). */
export function buildArchiver(config: ArchiverConfig, deps: ArchiverDeps): ArchiverApp {
  const { logger } = deps;
  const pubsub = deps.pubsub ?? new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const storage = deps.storage ?? new Storage({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const consumer = createPubSubConsumer({
    pubsub,
    subscriptionName: config.SUBSCRIPTION,
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
