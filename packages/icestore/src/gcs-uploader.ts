import { createHash } from 'node:crypto';
import { CRC32C, type Bucket } from '@google-cloud/storage';
import { TributaryError } from '@tributary/messagepipeline';
import { requireInteger, within } from '@tributary/messagepipeline/kernel';
import { joinObjectName } from './path-safety.js';
import type { ArchiveRecord } from './json-line.js';
import { DEFAULT_GZIP_LEVEL, writeJsonlGzip } from './jsonl-writer.js';

/** Written into every object's custom metadata (`writerVersion`). */
export const WRITER_VERSION = 'tributary-icestore/1';

/** Options for {@link createGcsUploader}. */
export interface GcsUploaderOptions {
  /** The bucket, from an official `Storage` client (`storage.bucket(name)`). */
  readonly bucket: Bucket;
  /** Object-name prefix, without a trailing slash; `''` for the bucket root. */
  readonly prefix: string;
  /** gzip level 0-9. @defaultValue 6 */
  readonly gzipLevel?: number | undefined;
  /** Deadline of one upload; past it the batch fails transiently. @defaultValue 60_000 */
  readonly uploadTimeoutMs?: number | undefined;
}

/** How one batch was written. */
export interface UploadResult {
  readonly objectName: string;
  /** False when the object already existed (412: a retry of a batch already written). */
  readonly created: boolean;
  readonly records: number;
  readonly rawBytes: number;
  readonly compressedBytes: number;
}

/** Writes batches as objects; see {@link createGcsUploader}. */
export interface GcsUploader {
  /** Writes one batch of one key; rejects with a classified {@link TributaryError}. */
  upload(key: string, records: readonly ArchiveRecord[]): Promise<UploadResult>;
  /**
   * Startup check: the bucket exists and we may read it.
   * @throws {@link TributaryError} `destination` (`NOT_FOUND`, `PERMISSION_DENIED`, ...) naming it.
   */
  checkBucket(): Promise<void>;
}

/**
 * The object name of a batch: `prefix/<key>/<time>-<hash>.jsonl.gz`, where the time is the
 * batch's earliest publish time and the hash is of its sorted message ids. Deterministic for one
 * set of messages whatever their order (a retried upload, or a redelivery of the same messages in
 * another order, gets the same name and so a 412), distinct between batches.
 */
export function objectNameFor(
  prefix: string,
  key: string,
  records: readonly ArchiveRecord[],
): string {
  const { first } = publishTimeRange(records);
  const stamp = (first ?? new Date(0)).toISOString().replace(/[-:.]/g, ''); // 20261201T000000000Z
  const hash = createHash('sha256');
  for (const id of records.map((record) => record.message.id).sort()) hash.update(id).update('\n');
  const file = `${stamp}-${hash.digest('hex').slice(0, 16)}.jsonl.gz`;
  return joinObjectName(prefix, [...key.split('/'), file]);
}

/** The earliest and latest publish time of a batch; both undefined when it is empty. */
function publishTimeRange(records: readonly ArchiveRecord[]): {
  first: Date | undefined;
  last: Date | undefined;
} {
  let first: Date | undefined;
  let last: Date | undefined;
  for (const { message } of records) {
    if (first === undefined || message.publishTime < first) first = message.publishTime;
    if (last === undefined || message.publishTime > last) last = message.publishTime;
  }
  return { first, last };
}

/**
 * Uploads gzip JSON Lines objects create-only (`ifGenerationMatch: 0`) with content type
 * `application/x-ndjson` and content encoding `gzip` (GCS decompressive transcoding works), custom
 * metadata (`records`, `firstPublishTime`, `lastPublishTime`, `writerVersion`) and a CRC32C the
 * server checks. A 412 means this batch was already written: success, never a second copy.
 */
export function createGcsUploader(options: GcsUploaderOptions): GcsUploader {
  const bucket = options.bucket;
  const level = requireInteger('gzipLevel', options.gzipLevel ?? DEFAULT_GZIP_LEVEL, 0);
  if (level > 9) throw TributaryError.permanent('INVALID_ARGUMENT', "'gzipLevel' must be 0-9");
  const timeoutMs = requireInteger('uploadTimeoutMs', options.uploadTimeoutMs ?? 60_000, 1);
  const prefix = options.prefix.replace(/^\/+|\/+$/g, '');

  return {
    async upload(key, records) {
      const objectName = objectNameFor(prefix, key, records);
      const encoded = await writeJsonlGzip(records, level);
      const { first, last } = publishTimeRange(records);
      const crc32c = new CRC32C();
      crc32c.update(encoded.data);
      const save = bucket.file(objectName).save(encoded.data, {
        resumable: false,
        validation: 'crc32c',
        preconditionOpts: { ifGenerationMatch: 0 },
        contentType: 'application/x-ndjson',
        metadata: {
          contentType: 'application/x-ndjson',
          contentEncoding: 'gzip',
          crc32c: crc32c.toString(),
          metadata: {
            records: String(encoded.records),
            firstPublishTime: first?.toISOString() ?? '',
            lastPublishTime: last?.toISOString() ?? '',
            writerVersion: WRITER_VERSION,
          },
        },
      });
      const settled = await within(save, timeoutMs);
      const result = {
        objectName,
        records: encoded.records,
        rawBytes: encoded.rawBytes,
        compressedBytes: encoded.data.byteLength,
      };
      if (settled.kind === 'ok') return { ...result, created: true };
      if (settled.kind === 'timeout') {
        save.catch(() => undefined); // a late result is seen as 412 by the retry
        throw TributaryError.transient(
          'TIMEOUT',
          `upload of ${objectName} took over ${timeoutMs} ms`,
        );
      }
      if (statusOf(settled.error) === 412) return { ...result, created: false };
      throw classifyGcsError(settled.error, `gs://${bucket.name}/${objectName}`);
    },
    async checkBucket() {
      try {
        await bucket.getMetadata();
      } catch (error) {
        throw classifyGcsError(error, `bucket '${bucket.name}'`);
      }
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Classifies a Cloud Storage failure: 404 (no such bucket), 401 and 403 are destination problems
 * (held, never dead-lettered); 429, 408, 5xx and network errors are transient; any other 4xx is
 * permanent.
 */
export function classifyGcsError(error: unknown, what: string): TributaryError {
  if (error instanceof TributaryError) return error;
  const status = statusOf(error);
  const text = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  if (status === 404)
    return TributaryError.destination('NOT_FOUND', `${text} (does the bucket exist?)`, error);
  if (status === 401) return TributaryError.destination('UNAUTHENTICATED', text, error);
  if (status === 403) return TributaryError.destination('PERMISSION_DENIED', text, error);
  if (status === 429) return TributaryError.transient('RATE_LIMITED', text, error);
  if (status === undefined || status === 408 || status >= 500) {
    return TributaryError.transient('UNAVAILABLE', text, error);
  }
  return TributaryError.permanent('SINK_FAILED', text, error);
}
