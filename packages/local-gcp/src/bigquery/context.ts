import type { Catalog } from './catalog.js';
import type { ResolvedInsertAllLimits } from './insert-all.js';
import type { JobStore } from './jobs.js';
import type { InsertAllLog } from './request-log.js';
import type { SqlEngine } from './sql-engine.js';

/** What every route handler works with. */
export interface BigQueryContext {
  readonly engine: SqlEngine;
  readonly catalog: Catalog;
  readonly jobs: JobStore;
  readonly limits: ResolvedInsertAllLimits;
  /** Sizes of every insertAll request received. */
  readonly insertAllLog: InsertAllLog;
  /** Rows per tabledata.list / getQueryResults page when the client gives no maxResults. */
  readonly defaultPageRows: number;
  /** Told of every insertAll's rows once they are written. */
  readonly onRowsWritten?: ((event: RowsWrittenEvent) => void) | undefined;
}

/** Rows an insertAll request wrote, once they are stored (queries see them). */
export interface RowsWrittenEvent {
  readonly projectId: string;
  readonly datasetId: string;
  readonly tableId: string;
  /** The rows written, after insertId de-duplication, as the request gave them. */
  readonly rows: readonly Record<string, unknown>[];
}

/** A JSON answer; `body` undefined means 204 No Content. */
export interface RouteResponse {
  readonly status: number;
  readonly body?: unknown;
}
