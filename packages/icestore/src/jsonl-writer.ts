import { createGzip } from 'node:zlib';
import type { Message } from '@tributary/messagepipeline';

/** One archived message: the message and its payload as one-line JSON text, if it is JSON. */
export interface ArchiveRecord {
  readonly message: Message;
  /** The payload as JSON text without line breaks, or `undefined` (then it is archived base64). */
  readonly json: string | undefined;
}

/** What {@link writeJsonlGzip} produced. */
export interface EncodedBatch {
  /** The gzip bytes. */
  readonly data: Buffer;
  readonly records: number;
  /** Bytes of JSON Lines before compression. */
  readonly rawBytes: number;
}

/** Default of the gzip level (zlib's default trade-off). */
export const DEFAULT_GZIP_LEVEL = 6;

/** Lines are handed to gzip in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Reads a payload as one-line JSON text: its own text when it parses and has no line break
 * (JSON whitespace outside strings is the only place one can be), re-serialised otherwise;
 * `undefined` when it is not JSON. Also returns the parsed value (for a timestamp field).
 */
export function readJsonPayload(data: Uint8Array): { json: string | undefined; value: unknown } {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { json: undefined, value: undefined };
  }
  const oneLine = text.includes('\n') || text.includes('\r') ? JSON.stringify(value) : text.trim();
  return { json: oneLine, value };
}

/**
 * One JSON line: `id`, `publishTime`, `attributes`, `enrichment`, and `payload` (the JSON value)
 * or `payloadBase64`.
 */
export function jsonLine(record: ArchiveRecord): string {
  const message = record.message;
  const head =
    `{"id":${JSON.stringify(message.id)},"publishTime":"${message.publishTime.toISOString()}",` +
    `"attributes":${JSON.stringify(message.attributes)},` +
    `"enrichment":${JSON.stringify(message.enrichment)},`;
  if (record.json !== undefined) return `${head}"payload":${record.json}}\n`;
  const data = message.data;
  const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return `${head}"payloadBase64":"${base64}"}\n`;
}

/**
 * Streams records through gzip as JSON Lines, in order, at `level` (0-9), in chunks, so no
 * single string of the whole batch is built. The same records always give the same bytes.
 */
export async function writeJsonlGzip(
  records: readonly ArchiveRecord[],
  level = DEFAULT_GZIP_LEVEL,
): Promise<EncodedBatch> {
  const gzip = createGzip({ level });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
  });
  let rawBytes = 0;
  let pending = '';
  for (const record of records) {
    pending += jsonLine(record);
    if (pending.length >= CHUNK_CHARS) {
      const bytes = Buffer.from(pending, 'utf8');
      rawBytes += bytes.byteLength;
      pending = '';
      if (!gzip.write(bytes)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
  }
  const last = Buffer.from(pending, 'utf8');
  rawBytes += last.byteLength;
  gzip.end(last);
  await finished;
  return { data: Buffer.concat(chunks), records: records.length, rawBytes };
}
