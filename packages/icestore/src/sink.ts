import {
  batchingServiceStatsDescription,
  createBatchingService,
  decodeEnvelope,
  emit,
  type BatchingService,
  type BatchingServiceOptions,
  type BatchingServiceStats,
  type Message,
  type StatsDescription,
} from '@tributary/messagepipeline';
import type { GcsUploader } from './gcs-uploader.js';
import { readJsonPayload, type ArchiveRecord } from './json-line.js';
import { compileKeyTemplate, type KeyTemplateOptions } from './key-template.js';

/** Options for {@link createArchiveSink}. */
export interface ArchiveSinkOptions extends Omit<
  BatchingServiceOptions<ArchiveRecord>,
  'transformer' | 'processor' | 'key' | 'stage'
> {
  /** @defaultValue `'archiver'` */
  readonly stage?: string | undefined;
  /** Where batches go ({@link createGcsUploader}). */
  readonly uploader: GcsUploader;
  /** How messages are grouped into object folders. */
  readonly keys?: KeyTemplateOptions | undefined;
  /**
   * Check the bucket in `start()`: a missing bucket or a refusal then fails startup with a
   * `destination` error naming it, instead of a loop of nacks. @defaultValue true
   */
  readonly checkBucket?: boolean | undefined;
}

/** What {@link ArchiveSink.stats} reports, beside the keyed batching figures. */
export interface ArchiveSinkStats extends BatchingServiceStats {
  readonly objectsWritten: number;
  /** Uploads answered 412: the batch's object already existed (a retry); acked. */
  readonly objectsAlreadyWritten: number;
  readonly recordsWritten: number;
  readonly bytesUncompressed: number;
  readonly bytesCompressed: number;
}

/** How {@link ArchiveSinkStats} is exported (see `exposeStats`). */
export const archiveSinkStatsDescription: StatsDescription<ArchiveSinkStats> = {
  ...batchingServiceStatsDescription,
  objectsWritten: { kind: 'counter', help: 'Objects written' },
  objectsAlreadyWritten: { kind: 'counter', help: 'Uploads that found their object (412), acked' },
  recordsWritten: { kind: 'counter', help: 'Records written into objects' },
  bytesUncompressed: {
    kind: 'counter',
    name: 'uncompressed_bytes',
    help: 'JSON Lines bytes before gzip',
  },
  bytesCompressed: { kind: 'counter', name: 'compressed_bytes', help: 'Object bytes after gzip' },
};

/** A keyed BatchingService that archives messages to Cloud Storage. */
export interface ArchiveSink extends Omit<BatchingService, 'stats'> {
  stats(): ArchiveSinkStats;
}

/**
 * Pub/Sub (any consumer) to Cloud Storage on the core keyed BatchingService: each message gets
 * its key from the template (date, attributes, enrichment), each key batches on its own limits
 * within the byte budget and open-key limit, and each batch becomes one gzip JSON Lines object
 * with a deterministic create-only name. Items are acked only after their object is written (or
 * found already written); 429/5xx/timeouts are retried, then nacked; a missing bucket or a
 * refusal holds the messages (not ready).
 */
export function createArchiveSink(options: ArchiveSinkOptions): ArchiveSink {
  const template = compileKeyTemplate(options.keys);
  const uploader = options.uploader;
  const counts = {
    objectsWritten: 0,
    objectsAlreadyWritten: 0,
    recordsWritten: 0,
    bytesUncompressed: 0,
    bytesCompressed: 0,
  };
  const service = createBatchingService<KeyedRecord>({
    ...options,
    stage: options.stage ?? 'archiver',
    transformer: (original) => {
      // An enriched message travels as envelope v1: archive its payload, key by its enrichment.
      // One that is not a valid envelope is archived as it came: the archive keeps everything.
      const message = unwrapEnvelope(original);
      const { json, value } = readJsonPayload(message.data);
      const key = template.key({
        publishTime: message.publishTime,
        attributes: message.attributes,
        enrichment: message.enrichment,
        payload: value,
      });
      return emit({ message, json, key });
    },
    key: (item) => item.payload.key,
    processor: async (items, _signal, context) => {
      const records = items.map((item) => item.payload);
      const result = await uploader.upload(context.key ?? '', records);
      if (result.created) counts.objectsWritten++;
      else counts.objectsAlreadyWritten++;
      counts.recordsWritten += result.records;
      counts.bytesUncompressed += result.rawBytes;
      counts.bytesCompressed += result.compressedBytes;
      return [];
    },
  });
  return {
    start: async () => {
      if (options.checkBucket ?? true) await uploader.checkBucket();
      await service.start();
    },
    stop: (stopOptions) => service.stop(stopOptions),
    get done() {
      return service.done;
    },
    health: () => service.health(),
    stats: () => ({ ...service.stats(), ...counts }),
  };
}

/** A record and the key its batch is named by. */
interface KeyedRecord extends ArchiveRecord {
  readonly key: string;
}

function unwrapEnvelope(message: Message): Message {
  try {
    return decodeEnvelope(message);
  } catch {
    return message;
  }
}
