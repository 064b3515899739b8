import { adapt, managedwriter, protos } from '@google-cloud/bigquery-storage';
import grpc from '@grpc/grpc-js';
import type * as Protobuf from 'protobufjs';
// The same protobufjs instance the client uses; the descriptor extension adds Type.fromDescriptor.
import protobufModule from 'protobufjs';
import 'protobufjs/ext/descriptor/index.js';
import { TributaryError } from '@tributary/messagepipeline';
import {
  backoffDelayMs,
  Deque,
  requireInteger,
  requireNumber,
  resolveBackoff,
  sleep,
  within,
  type BackoffOptions,
} from '@tributary/messagepipeline/kernel';
import {
  OK,
  tableName,
  type RowOutcome,
  type RowToWrite,
  type RowWriter,
  type TableRef,
} from './row-writer.js';
import type { TableField } from './schema.js';
import { compileRowValidator, type RowValidator } from './validate.js';

/** The Storage Write API's own limit on one AppendRows request: 10 MB. */
export const STORAGE_WRITE_LIMITS = Object.freeze({ maxRequestBytes: 10_000_000 });

/** Options for {@link createStorageWriteWriter}. */
export interface StorageWriteWriterOptions {
  /** The project the client bills to; tables name their own project. */
  readonly projectId: string;
  /**
   * `host:port` of a local Storage Write API server, reached in plaintext with no credentials.
   * The client reads no emulator variable: an app passes `BIGQUERY_STORAGE_EMULATOR_HOST` here
   * (libraries never read the environment).
   * @defaultValue undefined (Google's endpoint, application default credentials)
   */
  readonly emulatorHost?: string | undefined;
  /**
   * Which stream rows go to.
   * - `default`: the table's `_default` stream, at-least-once. An append whose answer is lost
   *   (a timeout, a dropped connection) is reported retriable and may already be in the table,
   *   so the retry can write it twice (the in-process insertId window catches the retries it sees).
   * - `committed`: exactly-once appends. Each table gets a COMMITTED stream written at explicit
   *   offsets, one append at a time. When an append's outcome is unknown, the stream is finalized
   *   and its row count says whether the append landed: if it did, its rows are `ok`; if not, they
   *   go again on a new stream. A retried append is never written twice. What it does not give:
   *   a message Pub/Sub redelivers after a crash (the append landed, the ack did not) is a new
   *   append, caught only by a de-duplicating view on the insertId column.
   * @defaultValue 'default'
   */
  readonly stream?: 'default' | 'committed' | undefined;
  /** Passed to the client so it never probes the metadata server for it. @defaultValue 'googleapis.com' */
  readonly universeDomain?: string | undefined;
  /** Most AppendRows requests awaiting their result, over every table. @defaultValue 16 */
  readonly maxOutstandingAppends?: number | undefined;
  /** Most bytes of rows awaiting their result, over every table; at least `maxRequestBytes`. @defaultValue 67_108_864 (64 MiB) */
  readonly maxOutstandingBytes?: number | undefined;
  /**
   * Largest AppendRows request, in bytes of the serialized rows (each row is encoded once, before
   * the split, so the size is exact); a larger write is split. At most 10,000,000. A request the server still
   * refuses as too large is split in halves and sent again.
   * @defaultValue 8_000_000
   */
  readonly maxRequestBytes?: number | undefined;
  /** An append with no result by then counts as failed (`timeout`, retriable). @defaultValue 30_000 */
  readonly appendTimeoutMs?: number | undefined;
  /** Attempts per request when the connection fails (ABORTED, UNAVAILABLE, …), each on a new connection. @defaultValue 4 */
  readonly maxAttempts?: number | undefined;
  /** Delay before each reconnect. @defaultValue 100 ms initial, 5_000 ms at most, doubling */
  readonly reconnectBackoff?: BackoffOptions | undefined;
  /**
   * How long an insertId written by this writer makes a later row with the same id `ok` without
   * sending it again, in milliseconds (best effort, in this process only: the default stream
   * itself de-duplicates nothing). @defaultValue 600_000
   */
  readonly insertIdWindowMs?: number | undefined;
  /**
   * Most insertIds remembered; the oldest writes are forgotten whole, so a single write of more
   * rows than this is not remembered. @defaultValue 100_000
   */
  readonly maxRememberedInsertIds?: number | undefined;
  /** Told about every AppendRows request: rows, bytes, how long it took and how it ended. */
  readonly onAppend?: ((event: AppendEvent) => void) | undefined;
}

/** One AppendRows request, as {@link StorageWriteWriterOptions.onAppend} hears it. */
export interface AppendEvent {
  readonly table: TableRef;
  readonly rows: number;
  /** Bytes of the serialized (protobuf) rows. */
  readonly bytes: number;
  readonly durationMs: number;
  /** Appends awaiting their result when this one was sent, itself included. */
  readonly outstandingAppends: number;
  /** The offset the rows were appended at (committed streams only). */
  readonly offset?: number | undefined;
  /**
   * `ok`; `rowErrors`: some rows refused (the rest are sent again); `failed`: the whole request;
   * `landed`: the answer was lost but the finalized stream holds the rows (committed streams).
   */
  readonly result: 'ok' | 'rowErrors' | 'failed' | 'landed';
  /** The gRPC status name when it failed (`UNAVAILABLE`, `timeout`, …). */
  readonly reason?: string | undefined;
}

/** A {@link RowWriter} on the Storage Write API; `close` ends its connections. */
export interface StorageWriteWriter extends RowWriter {
  /** Closes every connection. The writer must not be used afterwards. */
  close(): void;
}

/** The defaults of {@link StorageWriteWriterOptions}. */
export const DEFAULT_STORAGE_WRITE_WRITER_OPTIONS = Object.freeze({
  stream: 'default',
  universeDomain: 'googleapis.com',
  maxOutstandingAppends: 16,
  maxOutstandingBytes: 64 * 1024 * 1024,
  maxRequestBytes: 8_000_000,
  appendTimeoutMs: 30_000,
  maxAttempts: 4,
  insertIdWindowMs: 600_000,
  maxRememberedInsertIds: 100_000,
});

const ROW_OVERHEAD_BYTES = 16;
const { status } = grpc;
/** Plain numbers for the gRPC codes compared below (the client's results carry plain numbers). */
const INVALID_ARGUMENT: number = status.INVALID_ARGUMENT;
const FAILED_PRECONDITION: number = status.FAILED_PRECONDITION;
const ALREADY_EXISTS: number = status.ALREADY_EXISTS;
const OUT_OF_RANGE: number = status.OUT_OF_RANGE;
/** Codes on which a new connection may succeed. */
const RECONNECT_CODES: ReadonlySet<number> = new Set([
  status.ABORTED,
  status.UNAVAILABLE,
  status.CANCELLED,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.RESOURCE_EXHAUSTED,
]);
const DESTINATION_CODES: ReadonlyMap<
  number,
  'NOT_FOUND' | 'PERMISSION_DENIED' | 'UNAUTHENTICATED'
> = new Map([
  [status.NOT_FOUND, 'NOT_FOUND'],
  [status.PERMISSION_DENIED, 'PERMISSION_DENIED'],
  [status.UNAUTHENTICATED, 'UNAUTHENTICATED'],
]);

/** A row as the managed writer's types want it (validated rows are JSON-shaped). */
const typeStatics = (protobufModule as unknown as typeof Protobuf).Type as unknown as {
  fromDescriptor(descriptor: unknown): Protobuf.Type;
};
type Connection = Awaited<ReturnType<managedwriter.WriterClient['createStreamConnection']>>;
type StorageSchema = protos.google.cloud.bigquery.storage.v1.ITableSchema;
type StorageField = protos.google.cloud.bigquery.storage.v1.ITableFieldSchema;

interface TableStream {
  /** The stream's full name (`…/streams/_default` on the default stream). */
  readonly name: string;
  readonly connection: Connection;
  readonly writer: managedwriter.Writer;
  /** The message type rows are encoded with, from the same descriptor the writer sends. */
  type: Protobuf.Type;
  validator: RowValidator;
  fields: readonly TableField[];
  /** The next offset to append at (committed streams). */
  nextOffset: number;
}

/** One AppendRows request's result: written, refused (nothing written), or unknown. */
type AppendResult =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'failed';
      readonly code: number;
      readonly message: string;
      readonly cause: unknown;
      readonly rowErrors: readonly protos.google.cloud.bigquery.storage.v1.IRowError[];
    }
  | { readonly kind: 'timeout' };

/** An append on a committed stream whose outcome is not known yet. */
interface Uncertain {
  readonly streamName: string;
  readonly offset: number;
  readonly insertIds: readonly string[];
}

interface Entry {
  readonly index: number;
  readonly row: RowToWrite;
  /** The row as a serialized protobuf message. */
  readonly encoded: Uint8Array;
  readonly bytes: number;
}

/**
 * A {@link RowWriter} on the BigQuery Storage Write API, its `_default` stream (at-least-once) or
 * committed streams (exactly-once appends, {@link StorageWriteWriterOptions.stream}), through the
 * official managed writer (`WriterClient` + `Writer`, pinned: it is marked experimental). One
 * connection per table, reused across writes and rebuilt with backoff when the server ends it
 * (ABORTED after about 10 idle minutes, UNAVAILABLE under load). What the client leaves to us,
 * done here: rows are validated against the table schema before encoding (the client's JSON
 * encoder would turn bad values into zeros); each row is encoded once, straight to protobuf with
 * the message type the client's own encoder builds (no JSONWriter deep copy per row); requests
 * stay under 10 MB (a larger write is split);
 * outstanding appends are bounded by count and bytes; `error` and `row_errors` are checked on
 * every result (rows with errors are `invalid`, with the field in `location`; the rest of their
 * request is sent again); a connection-error listener is always attached.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createStorageWriteWriter(options: StorageWriteWriterOptions): StorageWriteWriter {
  const defaults = DEFAULT_STORAGE_WRITE_WRITER_OPTIONS;
  const maxRequestBytes = requireInteger(
    'maxRequestBytes',
    options.maxRequestBytes ?? defaults.maxRequestBytes,
    1024,
    STORAGE_WRITE_LIMITS.maxRequestBytes,
  );
  const maxAppends = requireInteger(
    'maxOutstandingAppends',
    options.maxOutstandingAppends ?? defaults.maxOutstandingAppends,
    1,
  );
  const maxBytes = requireInteger(
    'maxOutstandingBytes',
    options.maxOutstandingBytes ?? defaults.maxOutstandingBytes,
    maxRequestBytes,
  );
  const timeoutMs = requireNumber(
    'appendTimeoutMs',
    options.appendTimeoutMs ?? defaults.appendTimeoutMs,
    1,
  );
  const maxAttempts = requireInteger('maxAttempts', options.maxAttempts ?? defaults.maxAttempts, 1);
  const windowMs = requireNumber(
    'insertIdWindowMs',
    options.insertIdWindowMs ?? defaults.insertIdWindowMs,
    0,
  );
  const maxIds = requireInteger(
    'maxRememberedInsertIds',
    options.maxRememberedInsertIds ?? defaults.maxRememberedInsertIds,
    0,
  );
  const backoff = resolveBackoff(
    options.reconnectBackoff,
    { initialDelayMs: 100, maxDelayMs: 5_000, jitter: 'equal' },
    'reconnectBackoff',
  );
  const client = new managedwriter.WriterClient(clientOptions(options));
  const outstanding = new Outstanding(maxAppends, maxBytes);
  const written = new InsertIdWindow(windowMs, maxIds);
  const streams = new Map<string, Promise<TableStream>>();
  const uncertain = new Map<string, Uncertain>();
  const turns = new Map<string, Promise<void>>();
  const streamMode: unknown = options.stream ?? defaults.stream;
  if (streamMode !== 'default' && streamMode !== 'committed') invalidStream(streamMode);
  const committed = streamMode === 'committed';
  const { onAppend } = options;

  function streamFor(table: TableRef): Promise<TableStream> {
    const key = tableName(table);
    let stream = streams.get(key);
    if (stream === undefined) {
      stream = openStream(table);
      streams.set(key, stream);
      stream.catch(() => {
        if (streams.get(key) === stream) streams.delete(key);
      });
    }
    return stream;
  }

  /** Forgets a table's connection (closing it); the next append opens a new one. */
  function dropStream(table: TableRef, stream: TableStream): void {
    const key = tableName(table);
    void streams.get(key)?.then((current) => {
      if (current === stream) streams.delete(key);
    });
    stream.writer.close();
  }

  async function openStream(table: TableRef): Promise<TableStream> {
    const parent = `projects/${table.projectId}/datasets/${table.datasetId}/tables/${table.tableId}`;
    let name = `${parent}/streams/_default`;
    let schema: StorageSchema | null | undefined;
    try {
      if (committed) {
        const created = await client.createWriteStreamFullResponse({
          streamType: managedwriter.CommittedStream,
          destinationTable: parent,
        });
        name = created.name ?? '';
        schema = created.tableSchema;
      }
      schema ??= (
        await client.getWriteStream({
          streamId: name,
          view: protos.google.cloud.bigquery.storage.v1.WriteStreamView.FULL,
        })
      ).tableSchema;
      if (schema === null || schema === undefined) {
        throw new Error(`the Write API returned no schema for ${tableName(table)}`);
      }
    } catch (error) {
      throw asDestinationError(error, table) ?? error;
    }
    const connection = await client.createStreamConnection({ streamId: name });
    // Always attached: without a listener a non-retryable stream error is thrown by the emitter.
    // Failures reach us through each append's result, so the listener only has to exist.
    connection.onConnectionError(() => undefined);
    const protoDescriptor = adapt.convertStorageSchemaToProto2Descriptor(schema, 'root');
    const stream: TableStream = {
      name,
      connection,
      writer: new managedwriter.Writer({ connection, protoDescriptor }),
      type: messageType(protoDescriptor),
      validator: compileRowValidator(fieldsOf(schema)),
      fields: fieldsOf(schema),
      nextOffset: 0,
    };
    // After a table patch: the descriptor, the message type and the validator follow.
    connection.onSchemaUpdated((updated) => {
      const descriptor = adapt.convertStorageSchemaToProto2Descriptor(updated, 'root');
      stream.writer.setProtoDescriptor(descriptor);
      stream.type = messageType(descriptor);
      stream.fields = fieldsOf(updated);
      stream.validator = compileRowValidator(stream.fields);
    });
    return stream;
  }

  /** One AppendRows request, bounded by the outstanding limits and the append timeout. */
  async function append(
    table: TableRef,
    stream: TableStream,
    chunk: readonly Entry[],
    offset: number | undefined,
  ): Promise<AppendResult> {
    const bytes = chunk.reduce((sum, e) => sum + e.bytes, 0);
    await outstanding.acquire(bytes);
    const inFlight = outstanding.count;
    const started = performance.now();
    let settled: Awaited<ReturnType<typeof within>>;
    let response: protos.google.cloud.bigquery.storage.v1.IAppendRowsResponse | undefined;
    try {
      const result = stream.writer
        .appendRows({ serializedRows: chunk.map((e) => e.encoded) }, offset)
        .getResult();
      result.then(
        (value) => {
          response = value;
        },
        () => undefined,
      );
      settled = await within(result, timeoutMs);
    } finally {
      outstanding.release(bytes);
    }
    const outcome: AppendResult =
      settled.kind === 'timeout'
        ? { kind: 'timeout' }
        : settled.kind === 'error'
          ? {
              kind: 'failed',
              code: codeOf(settled.error),
              message: messageOf(settled.error),
              cause: settled.error,
              rowErrors: [],
            }
          : response?.error !== null && response?.error !== undefined
            ? {
                kind: 'failed',
                code: response.error.code ?? status.UNKNOWN,
                message: response.error.message ?? '',
                cause: response.error,
                rowErrors: response.rowErrors ?? [],
              }
            : { kind: 'ok' };
    onAppend?.({
      table,
      rows: chunk.length,
      bytes,
      durationMs: performance.now() - started,
      outstandingAppends: inFlight,
      offset,
      result:
        outcome.kind === 'ok'
          ? 'ok'
          : outcome.kind === 'failed' && outcome.rowErrors.length > 0
            ? 'rowErrors'
            : 'failed',
      reason:
        outcome.kind === 'ok'
          ? undefined
          : outcome.kind === 'timeout'
            ? 'timeout'
            : codeName(outcome.code),
    });
    return outcome;
  }

  function markWritten(table: TableRef, chunk: readonly Entry[], out: RowOutcome[]): void {
    for (const e of chunk) out[e.index] = OK;
    written.add(
      tableName(table),
      chunk.map((e) => e.row.insertId),
    );
  }

  function markAll(chunk: readonly Entry[], out: RowOutcome[], outcome: RowOutcome): void {
    for (const e of chunk) out[e.index] = outcome;
  }

  /** Rows the server refused (it wrote none of the request); returns the rest, to send again. */
  function refuseRows(
    chunk: readonly Entry[],
    rowErrors: readonly protos.google.cloud.bigquery.storage.v1.IRowError[],
    out: RowOutcome[],
  ): Entry[] {
    const refused = new Set<number>();
    for (const rowError of rowErrors) {
      const entry = chunk[Number(rowError.index ?? -1)];
      if (entry === undefined) continue;
      refused.add(entry.index);
      const message = rowError.message ?? 'the row violates the table schema';
      out[entry.index] = {
        kind: 'invalid',
        reason: 'invalid',
        location: /^([A-Za-z_][\w.[\]]*): /.exec(message)?.[1] ?? '',
        message,
      };
    }
    return chunk.filter((e) => !refused.has(e.index));
  }

  /** The outcome of a request the server refused as a whole and that no retry would fix. */
  function refusedOutcome(code: number, message: string): RowOutcome {
    return code === INVALID_ARGUMENT || code === FAILED_PRECONDITION
      ? { kind: 'invalid', reason: codeName(code), location: '', message }
      : { kind: 'retriable', reason: codeName(code), message };
  }

  function tooLarge(result: AppendResult, chunk: readonly Entry[]): boolean {
    return (
      result.kind === 'failed' &&
      result.code === INVALID_ARGUMENT &&
      /too large/i.test(result.message) &&
      chunk.length > 1
    );
  }

  /** At-least-once: the `_default` stream; a lost answer is retriable. */
  async function sendDefault(
    table: TableRef,
    chunk: readonly Entry[],
    out: RowOutcome[],
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const stream = await streamFor(table);
    const result = await append(table, stream, chunk, undefined);
    if (result.kind === 'ok') {
      markWritten(table, chunk, out);
      return;
    }
    if (result.kind === 'timeout') {
      dropStream(table, stream);
      markAll(chunk, out, {
        kind: 'retriable',
        reason: 'timeout',
        message: `AppendRows did not answer within ${timeoutMs} ms`,
      });
      return;
    }
    if (result.rowErrors.length > 0) {
      const rest = refuseRows(chunk, result.rowErrors, out);
      if (rest.length > 0) await sendDefault(table, rest, out, attempt, signal);
      return;
    }
    const destination = asDestinationError(result.cause, table);
    if (destination !== undefined) {
      dropStream(table, stream);
      throw destination;
    }
    if (RECONNECT_CODES.has(result.code)) {
      if (attempt >= maxAttempts || signal?.aborted === true) {
        markAll(chunk, out, {
          kind: 'retriable',
          reason: codeName(result.code),
          message: result.message,
        });
        return;
      }
      dropStream(table, stream);
      await sleep(backoffDelayMs(backoff, attempt), signal);
      await sendDefault(table, chunk, out, attempt + 1, signal);
      return;
    }
    if (tooLarge(result, chunk)) {
      dropStream(table, stream);
      const half = Math.ceil(chunk.length / 2);
      await sendDefault(table, chunk.slice(0, half), out, attempt, signal);
      await sendDefault(table, chunk.slice(half), out, attempt, signal);
      return;
    }
    markAll(chunk, out, refusedOutcome(result.code, result.message));
  }

  /**
   * Finalizes the stream of a table's unknown append, if there is one, and learns from its row
   * count whether the append landed (its insertIds then count as written). `unknown` while the
   * finalize itself fails: the table takes no new appends until it is known.
   */
  async function settleUncertain(
    table: TableRef,
  ): Promise<
    | { readonly kind: 'none' | 'lost' | 'unknown' }
    | { readonly kind: 'landed'; readonly insertIds: ReadonlySet<string> }
  > {
    const key = tableName(table);
    const pending = uncertain.get(key);
    if (pending === undefined) return { kind: 'none' };
    let finalized: protos.google.cloud.bigquery.storage.v1.IFinalizeWriteStreamResponse | undefined;
    const finalize = client.finalizeWriteStream({ name: pending.streamName }).then((value) => {
      finalized = value;
    });
    if ((await within(finalize, timeoutMs)).kind !== 'ok' || finalized === undefined) {
      return { kind: 'unknown' };
    }
    const rowCount = Number(finalized.rowCount ?? 0);
    uncertain.delete(key);
    if (rowCount < pending.offset + pending.insertIds.length) return { kind: 'lost' };
    written.add(key, pending.insertIds);
    return { kind: 'landed', insertIds: new Set(pending.insertIds) };
  }

  /** Exactly-once: explicit offsets on a COMMITTED stream; the caller holds the table's turn. */
  async function sendCommitted(
    table: TableRef,
    given: readonly Entry[],
    out: RowOutcome[],
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let chunk = given;
    const earlier = await settleUncertain(table);
    if (earlier.kind === 'landed') {
      // Rows of the earlier append that come again (redelivered) are in the table already.
      for (const e of given) if (earlier.insertIds.has(e.row.insertId)) out[e.index] = OK;
      chunk = given.filter((e) => out[e.index] === undefined);
      if (chunk.length === 0) return;
    }
    if (earlier.kind === 'unknown') {
      markAll(chunk, out, {
        kind: 'retriable',
        reason: 'unknownOutcome',
        message: `an earlier append to ${tableName(table)} has an unknown outcome and its stream cannot be finalized yet`,
      });
      return;
    }
    const stream = await streamFor(table);
    const offset = stream.nextOffset;
    const result = await append(table, stream, chunk, offset);
    if (result.kind === 'ok') {
      stream.nextOffset += chunk.length;
      markWritten(table, chunk, out);
      return;
    }
    if (result.kind === 'failed') {
      if (result.rowErrors.length > 0) {
        const rest = refuseRows(chunk, result.rowErrors, out);
        if (rest.length > 0) await sendCommitted(table, rest, out, attempt, signal);
        return;
      }
      const destination = asDestinationError(result.cause, table);
      if (destination !== undefined) {
        dropStream(table, stream);
        throw destination;
      }
      if (tooLarge(result, chunk)) {
        const half = Math.ceil(chunk.length / 2);
        await sendCommitted(table, chunk.slice(0, half), out, attempt, signal);
        await sendCommitted(table, chunk.slice(half), out, attempt, signal);
        return;
      }
      const unknown =
        RECONNECT_CODES.has(result.code) ||
        result.code === ALREADY_EXISTS ||
        result.code === OUT_OF_RANGE;
      if (!unknown) {
        markAll(chunk, out, refusedOutcome(result.code, result.message));
        return;
      }
    }
    // The answer is lost or the offsets disagree: the stream alone knows. Finalize it and ask.
    dropStream(table, stream);
    uncertain.set(tableName(table), {
      streamName: stream.name,
      offset,
      insertIds: chunk.map((e) => e.row.insertId),
    });
    const known = (await settleUncertain(table)).kind;
    if (known === 'landed') {
      onAppend?.({
        table,
        rows: chunk.length,
        bytes: chunk.reduce((sum, e) => sum + e.bytes, 0),
        durationMs: 0,
        outstandingAppends: outstanding.count,
        offset,
        result: 'landed',
      });
      markWritten(table, chunk, out);
      return;
    }
    const reason = result.kind === 'timeout' ? 'timeout' : codeName(result.code);
    if (known === 'lost' && attempt < maxAttempts && signal?.aborted !== true) {
      await sleep(backoffDelayMs(backoff, attempt), signal);
      await sendCommitted(table, chunk, out, attempt + 1, signal);
      return;
    }
    markAll(chunk, out, {
      kind: 'retriable',
      reason,
      message:
        known === 'lost'
          ? `AppendRows failed ${maxAttempts} times (${reason}); nothing of it was written`
          : `AppendRows to ${tableName(table)} failed (${reason}) and whether it landed is not known yet`,
    });
  }

  /** Runs `task` after every earlier task of the table (committed streams take one append at a time). */
  function inTurn(table: TableRef, task: () => Promise<void>): Promise<void> {
    const key = tableName(table);
    const run = (turns.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    turns.set(key, tail);
    void tail.then(() => {
      if (turns.get(key) === tail) turns.delete(key);
    });
    return run;
  }

  return {
    name: 'storageWrite',
    async write(table, rows, signal) {
      if (rows.length === 0) return [];
      const out: RowOutcome[] = new Array<RowOutcome>(rows.length);
      let stream: TableStream;
      try {
        stream = await streamFor(table);
      } catch (error) {
        if (error instanceof TributaryError && error.destination) throw error;
        const outcome: RowOutcome = {
          kind: 'retriable',
          reason: codeName(codeOf(error)),
          message: `cannot open a write stream to ${tableName(table)}: ${messageOf(error)}`,
        };
        return rows.map(() => outcome);
      }
      const chunks: Entry[][] = [];
      let current: Entry[] = [];
      let currentBytes = 0;
      const seen = new Set<string>();
      const name = tableName(table);
      const wasWritten = written.writtenIn(name, performance.now());
      rows.forEach((row, index) => {
        if (wasWritten(row.insertId) || seen.has(row.insertId)) {
          out[index] = OK;
          return;
        }
        const check = stream.validator.check(row.row);
        const problem = !check.ok
          ? check.violation
          : check.unknown[0] !== undefined
            ? {
                path: check.unknown[0].path,
                message: `${check.unknown[0].path}: no such field in ${name}`,
              }
            : undefined;
        if (problem !== undefined) {
          out[index] = {
            kind: 'invalid',
            reason: 'invalid',
            location: problem.path,
            message: problem.message,
          };
          return;
        }
        seen.add(row.insertId);
        let encoded: Uint8Array;
        try {
          encoded = stream.type.encode(toProtoJson(row.row, stream.fields)).finish();
        } catch (error) {
          // A validated row that does not encode is a bug here; dead-lettered, never retried.
          out[index] = {
            kind: 'invalid',
            reason: 'encodeFailed',
            location: '',
            message: `cannot encode the row for the Storage Write API: ${messageOf(error)}`,
          };
          return;
        }
        const bytes = encoded.byteLength + ROW_OVERHEAD_BYTES;
        if (bytes > maxRequestBytes) {
          out[index] = {
            kind: 'invalid',
            reason: 'rowTooLarge',
            location: '',
            message: `the row is ${bytes} bytes; an AppendRows request may have at most ${maxRequestBytes}`,
          };
          return;
        }
        if (currentBytes + bytes > maxRequestBytes) {
          chunks.push(current);
          current = [];
          currentBytes = 0;
        }
        current.push({ index, row, encoded, bytes });
        currentBytes += bytes;
      });
      if (current.length > 0) chunks.push(current);
      const sent = await Promise.allSettled(
        committed
          ? [
              inTurn(table, async () => {
                for (const chunk of chunks) await sendCommitted(table, chunk, out, 1, signal);
              }),
            ]
          : chunks.map((chunk) => sendDefault(table, chunk, out, 1, signal)),
      );
      const rejected = sent.find((s) => s.status === 'rejected');
      if (rejected !== undefined) throw rejected.reason;
      // A row given twice in one call shares the outcome of its first copy.
      rows.forEach((row, index) => {
        if (out[index] === undefined) {
          const first = rows.findIndex((r) => r.insertId === row.insertId);
          out[index] = out[first] ?? OK;
        }
      });
      return out;
    },
    close() {
      client.close();
      streams.clear();
    },
  };
}

/**
 * The message type of a writer descriptor, built as the client's own JSON encoder builds it
 * (normalized, then `Type.fromDescriptor`), so rows encode exactly as JSONWriter would encode them.
 */
function messageType(descriptor: protos.google.protobuf.IDescriptorProto): Protobuf.Type {
  return typeStatics.fromDescriptor(
    adapt.normalizeDescriptor(new protos.google.protobuf.DescriptorProto(descriptor)),
  );
}

function invalidStream(value: unknown): never {
  throw TributaryError.permanent(
    'CONFIG_INVALID',
    `stream must be 'default' or 'committed', got ${JSON.stringify(value)}`,
  );
}

function clientOptions(
  options: StorageWriteWriterOptions,
): ConstructorParameters<typeof managedwriter.WriterClient>[0] {
  const universeDomain =
    options.universeDomain ?? DEFAULT_STORAGE_WRITE_WRITER_OPTIONS.universeDomain;
  if (options.emulatorHost === undefined) return { projectId: options.projectId, universeDomain };
  const match = /^(.+):(\d+)$/.exec(options.emulatorHost);
  if (match === null) {
    throw TributaryError.permanent(
      'CONFIG_INVALID',
      `emulatorHost must be host:port, got ${JSON.stringify(options.emulatorHost)}`,
    );
  }
  return {
    projectId: options.projectId,
    servicePath: (match[1] ?? '').replace(/^\[(.*)\]$/, '$1'),
    port: Number(match[2]),
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain,
  };
}

const STORAGE_TYPE_NAMES: readonly string[] = [
  'TYPE_UNSPECIFIED',
  'STRING',
  'INT64',
  'FLOAT64', // DOUBLE
  'RECORD', // STRUCT
  'BYTES',
  'BOOL',
  'TIMESTAMP',
  'DATE',
  'TIME',
  'DATETIME',
  'GEOGRAPHY',
  'NUMERIC',
  'BIGNUMERIC',
  'INTERVAL',
  'JSON',
  'RANGE',
];
const MODE_NAMES = ['NULLABLE', 'NULLABLE', 'REQUIRED', 'REPEATED'] as const;

/** A Storage API `TableSchema` (enum names or numbers) as this package's fields. */
function fieldsOf(schema: StorageSchema): TableField[] {
  const convert = (field: StorageField): TableField => {
    const type =
      typeof field.type === 'number'
        ? (STORAGE_TYPE_NAMES[field.type] ?? 'TYPE_UNSPECIFIED')
        : (field.type ?? 'TYPE_UNSPECIFIED');
    const mode = typeof field.mode === 'number' ? MODE_NAMES[field.mode] : field.mode;
    return {
      name: field.name ?? '',
      type: type === 'DOUBLE' ? 'FLOAT64' : type,
      mode: mode === 'REQUIRED' || mode === 'REPEATED' ? mode : 'NULLABLE',
      ...(field.fields === null || field.fields === undefined
        ? {}
        : { fields: field.fields.map(convert) }),
    };
  };
  return (schema.fields ?? []).map(convert);
}

const DAY_MS = 86_400_000;

/**
 * A validated row with the values protobufjs encodes for the writer's message type: TIMESTAMP
 * text and epoch seconds become int64 microseconds, DATE text becomes int32 days, JSON values
 * become text and BYTES base64 becomes bytes; the rest is already in protobuf's form.
 */
function toProtoJson(
  row: Readonly<Record<string, unknown>>,
  fields: readonly TableField[],
): Record<string, unknown> {
  const plan = planOf(fields);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(row)) {
    const value = row[key];
    const field = plan.exact.get(key) ?? plan.folded.get(key.toLowerCase());
    if (field === undefined || value === null || value === undefined) {
      out[key] = value;
      continue;
    }
    out[field.name] =
      field.kind === 'other'
        ? value
        : field.repeated && Array.isArray(value)
          ? value.map((item: unknown) => toProtoValue(item, field))
          : toProtoValue(value, field);
  }
  return out;
}

/** A column as the encoder needs it, its type read once per schema rather than per value. */
interface ColumnPlan {
  readonly name: string;
  readonly kind: 'record' | 'timestamp' | 'date' | 'json' | 'bytes' | 'other';
  readonly repeated: boolean;
  readonly fields: readonly TableField[];
}

/** The columns by exact name and by lower-cased name (BigQuery's names are case-insensitive). */
interface SchemaPlan {
  readonly exact: ReadonlyMap<string, ColumnPlan>;
  readonly folded: ReadonlyMap<string, ColumnPlan>;
}

const KINDS: Readonly<Record<string, ColumnPlan['kind']>> = {
  RECORD: 'record',
  STRUCT: 'record',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
  JSON: 'json',
  BYTES: 'bytes',
};

const planCache = new WeakMap<readonly TableField[], SchemaPlan>();

/** The plan of a schema, built once per fields array (a schema update brings new arrays). */
function planOf(fields: readonly TableField[]): SchemaPlan {
  let plan = planCache.get(fields);
  if (plan === undefined) {
    const columns = fields.map((field): ColumnPlan => ({
      name: field.name,
      kind: KINDS[field.type.toUpperCase()] ?? 'other',
      repeated: field.mode === 'REPEATED',
      fields: field.fields ?? [],
    }));
    plan = {
      exact: new Map(columns.map((column) => [column.name, column])),
      folded: new Map(columns.map((column) => [column.name.toLowerCase(), column])),
    };
    planCache.set(fields, plan);
  }
  return plan;
}

function toProtoValue(value: unknown, column: ColumnPlan): unknown {
  if (value === null || value === undefined) return value;
  switch (column.kind) {
    case 'record':
      return typeof value === 'object' && !Array.isArray(value)
        ? toProtoJson(value as Record<string, unknown>, column.fields)
        : value;
    case 'timestamp':
      return timestampMicros(value) ?? value;
    case 'date':
      if (typeof value !== 'string') return value;
      {
        const ms = Date.parse(`${value.trim()}T00:00:00Z`);
        return Number.isNaN(ms) ? value : Math.floor(ms / DAY_MS);
      }
    case 'json':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'other':
      return value;
  }
}

/** Canonical UTC text (what `toISOString` writes, up to nanoseconds): parsed without rewriting. */
const CANONICAL_UTC = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/**
 * Microseconds since the epoch of TIMESTAMP text or epoch seconds: a number while it is exact
 * (until the year 2255), decimal text beyond.
 */
function timestampMicros(value: unknown): number | string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const micros = Math.round(value * 1_000_000);
    return Number.isSafeInteger(micros) ? micros : BigInt(micros).toString();
  }
  if (typeof value !== 'string') return undefined;
  const canonical = CANONICAL_UTC.exec(value);
  if (canonical !== null) {
    const ms = Date.parse(`${canonical[1] ?? ''}Z`);
    if (!Number.isNaN(ms)) {
      const total = ms * 1000 + Number((canonical[2] ?? '').padEnd(6, '0').slice(0, 6));
      if (Number.isSafeInteger(total)) return total;
    }
  }
  let text = value.trim().replace(/ UTC$/i, 'Z').replace(' ', 'T');
  // BigQuery reads a timestamp without a zone as UTC; Date.parse would read it as local time.
  if (!/(?:Z|[+-]\d{2}:?\d{2})$/i.test(text)) text += 'Z';
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const ms = Date.parse(text.replace(/\.\d+/, ''));
  if (Number.isNaN(ms)) return undefined;
  const micros = Number(fraction.padEnd(6, '0').slice(0, 6));
  const total = ms * 1000 + micros;
  return Number.isSafeInteger(total) ? total : (BigInt(ms) * 1000n + BigInt(micros)).toString();
}

function codeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  // The client fails pending writes of a closed connection with plain Errors and no code.
  return typeof code === 'number' ? code : status.UNAVAILABLE;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function codeName(code: number): string {
  return (status as unknown as Record<number, string | undefined>)[code] ?? `grpc${code}`;
}

function asDestinationError(error: unknown, table: TableRef): TributaryError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const kind = typeof code === 'number' ? DESTINATION_CODES.get(code) : undefined;
  return kind === undefined
    ? undefined
    : TributaryError.destination(kind, `${tableName(table)}: ${messageOf(error)}`, error);
}

/** Outstanding appends, bounded by count and bytes; waiters are served first come, first served. */
class Outstanding {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  #count = 0;
  #bytes = 0;
  readonly #waiters = new Deque<{ bytes: number; resolve: () => void }>();

  constructor(maxCount: number, maxBytes: number) {
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
  }

  /** Appends outstanding now. */
  get count(): number {
    return this.#count;
  }

  async acquire(bytes: number): Promise<void> {
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#take(bytes);
      return;
    }
    await new Promise<void>((resolve) => {
      this.#waiters.push({ bytes, resolve });
    });
  }

  release(bytes: number): void {
    this.#count -= 1;
    this.#bytes -= bytes;
    for (let next = this.#waiters.peek(); next !== undefined; next = this.#waiters.peek()) {
      if (!this.#fits(next.bytes)) return;
      this.#waiters.shift();
      this.#take(next.bytes);
      next.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return (
      this.#count === 0 || (this.#count < this.#maxCount && this.#bytes + bytes <= this.#maxBytes)
    );
  }

  #take(bytes: number): void {
    this.#count += 1;
    this.#bytes += bytes;
  }
}

/** insertIds written recently, per table, oldest first; bounded by age and count. */
class InsertIdWindow {
  readonly #windowMs: number;
  readonly #max: number;
  /** Per table, each id's time of writing: one lookup per row, no key string built per row. */
  readonly #byTable = new Map<string, Map<string, number>>();
  /**
   * Writes, oldest first, one entry per write rather than per id. Evicting from a Deque stays
   * O(1): iterating a Map from its start after deletions walks every deleted slot again, which
   * made each add slower as ids expired.
   */
  readonly #order = new Deque<{
    readonly ids: Map<string, number>;
    readonly added: readonly string[];
    readonly at: number;
  }>();
  #size = 0;

  constructor(windowMs: number, max: number) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  /** The ids of `table` written within the window before `now`, as a membership test. */
  writtenIn(table: string, now: number): (insertId: string) => boolean {
    const ids = this.#byTable.get(table);
    if (ids === undefined) return () => false;
    const windowMs = this.#windowMs;
    return (insertId) => {
      const at = ids.get(insertId);
      return at !== undefined && now - at <= windowMs;
    };
  }

  add(table: string, insertIds: readonly string[]): void {
    if (this.#max === 0 || this.#windowMs === 0 || insertIds.length === 0) return;
    let ids = this.#byTable.get(table);
    if (ids === undefined) {
      ids = new Map();
      this.#byTable.set(table, ids);
    }
    const now = performance.now();
    const before = ids.size;
    for (const id of insertIds) ids.set(id, now);
    this.#size += ids.size - before;
    this.#order.push({ ids, added: insertIds, at: now });
    for (let oldest = this.#order.peek(); oldest !== undefined; oldest = this.#order.peek()) {
      if (this.#size <= this.#max && now - oldest.at <= this.#windowMs) break;
      this.#order.shift();
      for (const id of oldest.added) {
        // An id written again since has a newer time; only its latest write removes it.
        if (oldest.ids.get(id) === oldest.at) {
          oldest.ids.delete(id);
          this.#size -= 1;
        }
      }
    }
  }
}
