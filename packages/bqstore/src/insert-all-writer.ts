import type { BigQuery } from '@google-cloud/bigquery';
import { requireInteger, requireNumber, within } from '@tributary/messagepipeline/kernel';
import { classifyBigQueryError, isTooLarge } from './classify-error.js';
import {
  OK,
  type RowOutcome,
  type RowToWrite,
  type RowWriter,
  type TableRef,
} from './row-writer.js';

/** BigQuery's insertAll limits. */
export const INSERT_ALL_LIMITS = Object.freeze({
  /** Most rows in one request. */
  maxRows: 50_000,
  /** Largest request body: "10 MB". */
  maxRequestBytes: 10_000_000,
});

/** Options for {@link createInsertAllWriter}. */
export interface InsertAllWriterOptions {
  /**
   * The client. Build it with {@link createBigQueryClient} (or with
   * `retryOptions: { autoRetry: false }` yourself): retries are the sink's, with backoff inside its
   * budget, and every retry carries the same insertIds.
   */
  readonly bigquery: BigQuery;
  /** Rows per request; Google recommends 500. At most 50,000. @defaultValue 500 */
  readonly maxRowsPerRequest?: number | undefined;
  /** Largest request body in bytes; at most 10,000,000 (BigQuery's 10 MB). @defaultValue 10_000_000 */
  readonly maxRequestBytes?: number | undefined;
  /** Requests of one `write` in flight at once. @defaultValue 4 */
  readonly maxConcurrentRequests?: number | undefined;
  /** A request that has not answered by then counts as failed (`timeout`, retriable). @defaultValue 30_000 */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Let BigQuery write the valid rows of a request that has invalid ones (`skipInvalidRows`).
   * When false, the valid rows of such a request come back `stopped` (retriable).
   * @defaultValue true
   */
  readonly skipInvalidRows?: boolean | undefined;
  /** Told about every request sent: rows, body bytes, how long it took and how it ended. */
  readonly onRequest?: ((request: InsertRequestEvent) => void) | undefined;
}

/** One insertAll request, as {@link InsertAllWriterOptions.onRequest} hears it. */
export interface InsertRequestEvent {
  readonly table: TableRef;
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** `ok`: every row accepted; `partial`: some rows refused; `failed`: the request failed whole. */
  readonly result: 'ok' | 'partial' | 'failed';
  /** BigQuery's reason when the request failed whole (`rateLimitExceeded`, `timeout`, …). */
  readonly reason?: string | undefined;
}

/** The defaults of {@link InsertAllWriterOptions}. */
export const DEFAULT_INSERT_ALL_WRITER_OPTIONS = Object.freeze({
  maxRowsPerRequest: 500,
  maxRequestBytes: INSERT_ALL_LIMITS.maxRequestBytes,
  maxConcurrentRequests: 4,
  requestTimeoutMs: 30_000,
  skipInvalidRows: true,
});

/** Bytes of the request body around the rows: `{"rows":[` … `],"skipInvalidRows":false,"ignoreUnknownValues":false}`. */
const ENVELOPE_BYTES = 128;

interface Encoded {
  readonly index: number;
  readonly row: RowToWrite;
  readonly bytes: number;
}

/**
 * A {@link RowWriter} on BigQuery's streaming insertAll (`tabledata.insertAll`) through the
 * official client: raw rows with `insertId` (so a redelivered row is stored once), requests
 * split so none exceeds `maxRowsPerRequest` rows or `maxRequestBytes` bytes (a request still
 * refused as too large is split in halves and sent again), and the client's partial-failure
 * retries off. Per-row outcomes: BigQuery's `invalid` rows are `invalid` with its reason,
 * location and message; `stopped` rows and whole-request failures (429, 5xx, `backendError`,
 * `rateLimitExceeded`, timeouts, network errors) are `retriable`. A row larger than a request
 * may be is `invalid` (`rowTooLarge`) and never sent.
 * @throws {@link InvalidArgumentError} naming the first invalid option.
 */
export function createInsertAllWriter(options: InsertAllWriterOptions): RowWriter {
  const defaults = DEFAULT_INSERT_ALL_WRITER_OPTIONS;
  const maxRows = requireInteger(
    'maxRowsPerRequest',
    options.maxRowsPerRequest ?? defaults.maxRowsPerRequest,
    1,
    INSERT_ALL_LIMITS.maxRows,
  );
  const maxBytes = requireInteger(
    'maxRequestBytes',
    options.maxRequestBytes ?? defaults.maxRequestBytes,
    ENVELOPE_BYTES * 2,
    INSERT_ALL_LIMITS.maxRequestBytes,
  );
  const concurrency = requireInteger(
    'maxConcurrentRequests',
    options.maxConcurrentRequests ?? defaults.maxConcurrentRequests,
    1,
  );
  const timeoutMs = requireNumber(
    'requestTimeoutMs',
    options.requestTimeoutMs ?? defaults.requestTimeoutMs,
    1,
  );
  const skipInvalidRows = options.skipInvalidRows ?? defaults.skipInvalidRows;
  const { bigquery, onRequest } = options;
  const rowBudget = maxBytes - ENVELOPE_BYTES;

  async function send(
    table: TableRef,
    chunk: readonly Encoded[],
    out: RowOutcome[],
  ): Promise<void> {
    const bytes = ENVELOPE_BYTES + chunk.reduce((sum, e) => sum + e.bytes + 1, 0);
    const started = performance.now();
    const report = (result: InsertRequestEvent['result'], reason?: string): void => {
      onRequest?.({
        table,
        rows: chunk.length,
        bytes,
        durationMs: performance.now() - started,
        result,
        reason,
      });
    };
    const request = bigquery
      .dataset(table.datasetId, { projectId: table.projectId })
      .table(table.tableId)
      .insert(
        chunk.map((e) => ({ insertId: e.row.insertId, json: e.row.row })),
        { raw: true, partialRetries: 0, skipInvalidRows, ignoreUnknownValues: false },
      );
    const settled = await within(request, timeoutMs);
    if (settled.kind === 'ok') {
      report('ok');
      for (const e of chunk) out[e.index] = OK;
      return;
    }
    if (settled.kind === 'timeout') {
      request.catch(() => undefined); // it may still answer; its rows carry their insertIds
      report('failed', 'timeout');
      const outcome: RowOutcome = {
        kind: 'retriable',
        reason: 'timeout',
        message: `insertAll did not answer within ${timeoutMs} ms`,
      };
      for (const e of chunk) out[e.index] = outcome;
      return;
    }
    const error = settled.error as Record<string, unknown>;
    const insertErrors = insertErrorsOf(error);
    if (insertErrors !== undefined) {
      report('partial');
      for (const e of chunk) out[e.index] = OK;
      for (const { index, errors } of insertErrors) {
        const entry = chunk[index];
        if (entry !== undefined) out[entry.index] = rowOutcome(errors);
      }
      return;
    }
    if (isTooLarge(error) && chunk.length > 1) {
      report('failed', 'requestTooLarge');
      const half = Math.ceil(chunk.length / 2);
      await send(table, chunk.slice(0, half), out);
      await send(table, chunk.slice(half), out);
      return;
    }
    const classified = classifyBigQueryError(error);
    report('failed', classified.reason);
    if (classified.kind === 'destination') throw classified.error;
    const outcome: RowOutcome =
      classified.kind === 'invalid'
        ? { kind: 'invalid', reason: classified.reason, location: '', message: classified.message }
        : { kind: 'retriable', reason: classified.reason, message: classified.message };
    for (const e of chunk) out[e.index] = outcome;
  }

  return {
    name: 'insertAll',
    async write(table, rows) {
      const out: RowOutcome[] = new Array<RowOutcome>(rows.length);
      const chunks: Encoded[][] = [];
      let current: Encoded[] = [];
      let currentBytes = 0;
      rows.forEach((row, index) => {
        const bytes = Buffer.byteLength(JSON.stringify({ insertId: row.insertId, json: row.row }));
        if (bytes + 1 > rowBudget) {
          out[index] = {
            kind: 'invalid',
            reason: 'rowTooLarge',
            location: '',
            message: `the row is ${bytes} bytes; an insertAll request may have at most ${maxBytes}`,
          };
          return;
        }
        if (current.length >= maxRows || currentBytes + bytes + 1 > rowBudget) {
          chunks.push(current);
          current = [];
          currentBytes = 0;
        }
        current.push({ index, row, bytes });
        currentBytes += bytes + 1;
      });
      if (current.length > 0) chunks.push(current);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let chunk = chunks[next++]; chunk !== undefined; chunk = chunks[next++]) {
          await send(table, chunk, out);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
      return out;
    },
  };
}

interface InsertError {
  readonly index: number;
  readonly errors: readonly { reason?: string; location?: string; message?: string }[];
}

/** The per-row errors of the client's `PartialFailureError` (with locations, from the response). */
function insertErrorsOf(error: Record<string, unknown>): readonly InsertError[] | undefined {
  if (error['name'] !== 'PartialFailureError') return undefined;
  const response = error['response'] as { insertErrors?: InsertError[] } | undefined;
  return response?.insertErrors;
}

/** A row's outcome from BigQuery's errors for it: `invalid` wins, anything else is retriable. */
function rowOutcome(errors: InsertError['errors']): RowOutcome {
  const invalid = errors.find((e) => e.reason === 'invalid');
  if (invalid !== undefined) {
    return {
      kind: 'invalid',
      reason: 'invalid',
      location: invalid.location ?? '',
      message: invalid.message ?? '',
    };
  }
  const first = errors[0];
  return {
    kind: 'retriable',
    reason: first?.reason ?? 'unknown',
    message: first?.message ?? '',
  };
}
