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
}

/** A JSON answer; `body` undefined means 204 No Content. */
export interface RouteResponse {
  readonly status: number;
  readonly body?: unknown;
}
