import { createGzip } from 'node:zlib';
import type { Attributes, Message } from '@tributary/messagepipeline';

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

/**
 * Lines are built into strings of about this many characters, each encoded to bytes at once.
 * Under 128 KiB a string and its bytes come from reused memory; at 256 Ki characters each was
 * fresh pages from the system, and building the lines cost 2.7 times as much (measured,
 * `bench/writer.bench.ts`).
 */
const CHUNK_CHARS = 64 * 1024;
/**
 * After the first chunk (handed over as soon as it is built, to start compressing early), gzip
 * gets chunks of at least this many bytes: each write is a round trip to zlib's thread pool,
 * measured at 45-70 µs on its own, and 128 KiB halved their number for about 9 % more speed.
 */
const GZIP_WRITE_BYTES = 128 * 1024;
/**
 * Output chunk of the gzip stream: each one is a round trip to zlib's thread pool. zlib's
 * default (16 KiB) made the stream cost about 1.7 times `gzipSync`; 64 KiB, about 1.3 times.
 */
const GZIP_CHUNK_BYTES = 64 * 1024;

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
  const id = message.id;
  const head =
    `{"id":${jsonString(id)},` +
    `"publishTime":"${isoTime(message.publishTime)}",` +
    `"attributes":${attributesJson(message.attributes)},` +
    `"enrichment":${enrichmentJson(message.enrichment)},`;
  if (record.json !== undefined) return `${head}"payload":${record.json}}\n`;
  const data = message.data;
  const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return `${head}"payloadBase64":"${base64}"}\n`;
}

// The second of the last publish time and its ISO text, reused for the next time in that second:
// a batch's messages mostly share it. Gives exactly the text `toISOString()` would.
let lastSecond = Number.NaN;
let lastSecondIso = '';

/** `JSON.stringify(enrichment)`, without the call for the common empty object. */
function enrichmentJson(enrichment: Readonly<Record<string, unknown>>): string {
  for (const _ in enrichment) return JSON.stringify(enrichment);
  return '{}';
}

/** `date.toISOString()`, reusing the text up to the milliseconds for times in the same second. */
function isoTime(date: Date): string {
  const time = date.getTime();
  // Years 1970 to 9999 only: toISOString's text has this fixed shape there.
  if (!(time >= 0 && time <= 253_402_300_799_999)) return date.toISOString();
  const millis = time % 1000;
  const second = time - millis;
  if (second !== lastSecond) {
    lastSecondIso = new Date(second).toISOString().slice(0, 20); // 2026-12-01T00:00:00.
    lastSecond = second;
  }
  return `${lastSecondIso}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${String(millis)}Z`;
}

/**
 * `JSON.stringify(attributes)`, built by hand: twice as fast for small objects of strings
 * (the JSON of each name is kept, since names repeat).
 */
function attributesJson(attributes: Attributes): string {
  let json = '{';
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value === undefined) continue;
    json += `${json.length === 1 ? '' : ','}${nameJson(name)}:${jsonString(value)}`;
  }
  return `${json}}`;
}

/** JSON of attribute names seen so far, up to a bound (names are few; values are not kept). */
const nameJsons = new Map<string, string>();
const MAX_NAME_JSONS = 1024;

function nameJson(name: string): string {
  let json = nameJsons.get(name);
  if (json === undefined) {
    json = jsonString(name);
    if (nameJsons.size < MAX_NAME_JSONS) nameJsons.set(name, json);
  }
  return json;
}

/** `JSON.stringify(text)`: the text in quotes when nothing in it needs escaping. */
function jsonString(text: string): string {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    // Control characters, '"', '\\' and surrogates (a lone one is escaped) need JSON.stringify.
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) {
      return JSON.stringify(text);
    }
  }
  return `"${text}"`;
}

/**
 * Streams records through gzip as JSON Lines, in order, at `level` (0-9), in chunks, so no
 * single string of the whole batch is built: each chunk is compressed on zlib's thread pool
 * while the next one is built. The same records always give the same bytes.
 */
export async function writeJsonlGzip(
  records: readonly ArchiveRecord[],
  level = DEFAULT_GZIP_LEVEL,
): Promise<EncodedBatch> {
  const gzip = createGzip({ level, chunkSize: GZIP_CHUNK_BYTES });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
  });
  // Awaited at the end; an error before then must not count as an unhandled rejection.
  finished.catch(() => undefined);
  let rawBytes = 0;
  let pending = '';
  let ready: Buffer[] = [];
  let readyBytes = 0;
  let writeBytes = 0; // the first chunk goes as soon as it is built
  let compressing: Promise<unknown> | undefined;
  for (const record of records) {
    pending += jsonLine(record);
    if (pending.length < CHUNK_CHARS) continue;
    const bytes = Buffer.from(pending, 'utf8');
    pending = '';
    ready.push(bytes);
    readyBytes += bytes.byteLength;
    if (readyBytes < writeBytes) continue;
    const chunk = ready.length === 1 ? bytes : Buffer.concat(ready, readyBytes);
    rawBytes += readyBytes;
    ready = [];
    readyBytes = 0;
    writeBytes = GZIP_WRITE_BYTES;
    // The chunk before this one was compressing on zlib's thread pool while this one was
    // built; once it is done, this one goes. Waiting on 'drain' instead kept one side idle.
    if (compressing !== undefined) await compressing;
    compressing = new Promise((resolve) => gzip.write(chunk, resolve));
  }
  ready.push(Buffer.from(pending, 'utf8'));
  const last = Buffer.concat(ready);
  rawBytes += last.byteLength;
  gzip.end(last);
  await finished;
  return { data: Buffer.concat(chunks), records: records.length, rawBytes };
}
