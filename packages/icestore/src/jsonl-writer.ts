import { constants, crc32, deflateRaw, deflateRawSync, type ZlibOptions } from 'node:zlib';
import { encodeLine, LineBuffer, type ArchiveRecord } from './json-line.js';

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
 * The share of each round's records compressed on zlib's thread pool while the main thread
 * encodes and compresses the rest. Encoding a line costs about a third to a half of compressing
 * it at level 6; at 0.6 the two sides finish about together (measured, `bench/writer.bench.ts`).
 */
const POOL_SHARE = 0.6;
/** Batches estimated under this many bytes are compressed on the main thread only. */
const SMALL_BATCH_BYTES = 64 * 1024;
/**
 * A batch is written in rounds of about this many bytes of lines: a slice for the pool, then
 * one the main thread compresses. Between rounds the event loop runs, so a big batch holds the
 * main thread a few milliseconds at a time, and each batch keeps one slice on the pool at most.
 */
const ROUND_BYTES = 1024 * 1024;
/** deflate's window: a slice is compressed with the bytes before it as its dictionary. */
const WINDOW_BYTES = 32 * 1024;
/**
 * Output chunk of a pool slice's deflate: the compressed slice fits in one, so it comes back in
 * one round trip. Larger chunks measured slower (a fresh buffer of that size each time).
 */
const POOL_CHUNK_BYTES = 64 * 1024;

/**
 * Encodes records as JSON Lines, in order, into one gzip member at `level` (0-9).
 *
 * The lines are cut into slices, each compressed as raw deflate with the 32 KiB before it as
 * its dictionary and ended by a sync flush, so that the slices join into one deflate stream,
 * as pigz joins its blocks (every gzip reader reads it; it compresses as well as one pass). In
 * each round the first 60 % of the records go to zlib's thread pool as soon as they are
 * encoded, and the main thread meanwhile encodes and compresses the rest: one pool round trip
 * per round, where a gzip stream paid one per chunk (each costs tens of microseconds on a
 * virtual machine). A small batch is compressed on the main thread alone, into exactly the bytes
 * of `zlib.gzipSync`. The same records always give the same bytes.
 */
export async function writeJsonlGzip(
  records: readonly ArchiveRecord[],
  level = DEFAULT_GZIP_LEVEL,
): Promise<EncodedBatch> {
  const estimate = estimateBytes(records);
  const rounds =
    estimate < SMALL_BATCH_BYTES ? 0 : Math.min(records.length, Math.ceil(estimate / ROUND_BYTES));
  const roundBytes = Math.min(estimate, ROUND_BYTES);
  const out = new DeflateJoiner(level);
  const mainLines = takeLineBuffer(rounds === 0 ? estimate : roundBytes * (1 - POOL_SHARE));
  // Two pool buffers in turn: the one before may still be compressing while the next fills.
  const poolLines: LineBuffer[] = [];
  while (poolLines.length < Math.min(rounds, 2)) {
    poolLines.push(takeLineBuffer(roundBytes * POOL_SHARE));
  }
  if (rounds === 0) out.onMainThread(encode(records, 0, records.length, mainLines), true);
  let onPool: Promise<unknown> | undefined;
  for (let round = 0, index = 0; round < rounds; round++) {
    const roundEnd = Math.round((records.length * (round + 1)) / rounds);
    const poolEnd = index + Math.ceil((roundEnd - index) * POOL_SHARE);
    const slice = encode(records, index, poolEnd, poolLines[round % 2] as LineBuffer);
    if (onPool !== undefined) await onPool; // one slice of the batch on the pool at a time
    onPool = out.onPool(slice, poolEnd === records.length);
    if (roundEnd > poolEnd) {
      const rest = encode(records, poolEnd, roundEnd, mainLines);
      out.onMainThread(rest, roundEnd === records.length);
    }
    index = roundEnd;
  }
  const data = await out.result();
  // Only now: a failed batch's buffers may still be read by the pool, and are left to the GC.
  for (const lines of [mainLines, ...poolLines]) giveBack(lines);
  return { data, records: records.length, rawBytes: out.rawBytes };
}

function encode(
  records: readonly ArchiveRecord[],
  from: number,
  to: number,
  lines: LineBuffer,
): Buffer {
  lines.length = 0;
  for (let index = from; index < to; index++) encodeLine(records[index] as ArchiveRecord, lines);
  return lines.view();
}

/**
 * Compresses slices of a stream in order, each with the window before it as its dictionary,
 * and joins them into one gzip member.
 */
class DeflateJoiner {
  private readonly level: number;
  private readonly bodies: Promise<Buffer>[] = [];
  private crc = 0;
  private dictionary: Buffer | undefined;
  /** Bytes of the slices so far. */
  rawBytes = 0;

  constructor(level: number) {
    this.level = level;
  }

  /** Compresses `slice` on zlib's thread pool; settles when it is compressed. */
  onPool(slice: Buffer, last: boolean): Promise<unknown> {
    const body = new Promise<Buffer>((resolve, reject) => {
      deflateRaw(slice, { ...this.options(last), chunkSize: POOL_CHUNK_BYTES }, (error, bytes) => {
        if (error === null) resolve(bytes);
        else reject(error);
      });
    });
    body.catch(() => undefined); // awaited in result(); not unhandled if a later slice throws
    this.bodies.push(body);
    this.account(slice); // after the slice went to the pool: the pool starts on it first
    return body;
  }

  /** Compresses `slice` on this thread. */
  onMainThread(slice: Buffer, last: boolean): void {
    this.bodies.push(Promise.resolve(deflateRawSync(slice, this.options(last))));
    this.account(slice);
  }

  async result(): Promise<Buffer> {
    const bodies = await Promise.all(this.bodies);
    return Buffer.concat([gzipHeader(this.level), ...bodies, gzipTrailer(this.crc, this.rawBytes)]);
  }

  private options(last: boolean): ZlibOptions {
    return {
      level: this.level,
      finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
      ...(this.dictionary === undefined ? {} : { dictionary: this.dictionary }),
    };
  }

  private account(slice: Buffer): void {
    this.crc = crc32(slice, this.crc);
    this.rawBytes += slice.byteLength;
    // Copied: the slice's buffer is filled again before the next slice is compressed.
    this.dictionary = Buffer.from(slice.subarray(Math.max(0, slice.byteLength - WINDOW_BYTES)));
  }
}

/**
 * Line buffers given back after a batch, for the next: fresh ones of a few hundred KiB each
 * cost page faults, and made the writer about 15 % slower (measured).
 */
const spareLineBuffers: LineBuffer[] = [];
const MAX_SPARE_LINE_BUFFERS = 6;
const MAX_SPARE_BYTES = 2 * ROUND_BYTES;

function takeLineBuffer(capacityBytes: number): LineBuffer {
  const spare = spareLineBuffers.pop();
  const capacity = Math.ceil(capacityBytes) + 4096;
  if (spare === undefined) return new LineBuffer(capacity);
  spare.length = 0;
  spare.reserve(capacity);
  return spare;
}

function giveBack(lines: LineBuffer): void {
  if (
    spareLineBuffers.length < MAX_SPARE_LINE_BUFFERS &&
    lines.bytes.byteLength <= MAX_SPARE_BYTES
  ) {
    spareLineBuffers.push(lines);
  }
}

/** Bytes the lines will take, roughly: payloads plus what the rest of a line usually takes. */
function estimateBytes(records: readonly ArchiveRecord[]): number {
  let bytes = 0;
  for (const { message, json } of records) {
    bytes += (json?.byteLength ?? (message.data.byteLength * 4) / 3) + 160;
  }
  return bytes;
}

/** gzip's member header as zlib writes it (no name, time 0, Unix), its XFL for the level. */
function gzipHeader(level: number): Buffer {
  const extraFlags = level === 9 ? 2 : level < 2 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlags, 3]);
}

/** gzip's member trailer: CRC-32 and length (modulo 2^32) of the uncompressed bytes. */
function gzipTrailer(crc: number, rawBytes: number): Buffer {
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(rawBytes % 0x1_0000_0000, 4);
  return trailer;
}
