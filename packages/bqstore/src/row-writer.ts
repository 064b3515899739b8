/** A BigQuery table. */
export interface TableRef {
  readonly projectId: string;
  readonly datasetId: string;
  readonly tableId: string;
}

/** One row to write, with the id that de-duplicates its redeliveries. */
export interface RowToWrite {
  /** Stable per message (the message id), so a row sent twice is stored once. */
  readonly insertId: string;
  /** Column values, already validated against the table schema. */
  readonly row: Readonly<Record<string, unknown>>;
}

/**
 * What happened to one row:
 * - `ok`: accepted (durable; the message may be acked);
 * - `invalid`: the destination refused this row itself; sending it again fails again
 *   (dead-letter it). `reason`, `location` (the field path, `''` if none) and `message` are the
 *   destination's;
 * - `retriable`: not written this time (throttled, the backend failed, a timeout, or stopped
 *   because another row of its request was invalid); sending it again may succeed.
 */
export type RowOutcome =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'invalid';
      readonly reason: string;
      readonly location: string;
      readonly message: string;
    }
  | { readonly kind: 'retriable'; readonly reason: string; readonly message: string };

/**
 * The writer port: writes rows to a table and reports one outcome per row, in the order given.
 * Mapping, validation and batching happen before it and do not depend on which writer is used
 * (insertAll, or a Storage Write API writer).
 *
 * `write` rejects only when the failure is about the destination rather than the rows: a
 * `TributaryError.destination` for a missing table or denied access. Every other failure is
 * reported per row.
 */
export interface RowWriter {
  /** The writer's name, in logs and metrics (`insertAll`). */
  readonly name: string;
  write(table: TableRef, rows: readonly RowToWrite[], signal?: AbortSignal): Promise<RowOutcome[]>;
}

/** The `ok` outcome (shared: outcomes are immutable). */
export const OK: RowOutcome = Object.freeze({ kind: 'ok' });

/** `project.dataset.table`, for logs and messages. */
export function tableName(table: TableRef): string {
  return `${table.projectId}.${table.datasetId}.${table.tableId}`;
}
