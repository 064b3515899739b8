import { randomUUID } from 'node:crypto';
import type { DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from './catalog.js';
import { BigQueryApiError, isBigQueryApiError } from './errors.js';
import { bindParameters } from './query-parameters.js';
import { fieldsOfResult, toFieldResources, type Field } from './schema-mapping.js';
import type { SqlEngine } from './sql-engine.js';
import { rewriteSql } from './sql-rewrite.js';

type Json = Record<string, unknown>;

/** The rows of a finished query, kept for getQueryResults paging. */
export interface QueryResult {
  readonly fields: readonly Field[];
  readonly rows: readonly DuckDBValue[][];
  /** Set for DML statements. */
  readonly numDmlAffectedRows?: number | undefined;
}

/** A job: its REST resource and, when it ran, its result or error. */
export interface JobRecord {
  readonly projectId: string;
  readonly jobId: string;
  readonly location: string;
  readonly resource: Json;
  readonly result?: QueryResult | undefined;
  readonly error?: BigQueryApiError | undefined;
}

/** A query request, from jobs.query or a jobs.insert query configuration. */
export interface QueryRequest {
  readonly query: unknown;
  readonly useLegacySql?: unknown;
  readonly parameterMode?: unknown;
  readonly queryParameters?: unknown;
  readonly defaultDataset?: unknown;
  readonly dryRun?: unknown;
}

const ALLOWED_FIRST_KEYWORDS = new Set([
  'SELECT',
  'WITH',
  'FROM',
  'VALUES',
  'INSERT',
  'UPDATE',
  'DELETE',
]);

/**
 * Runs queries on DuckDB and keeps the last `maxJobs` jobs (with their rows) for jobs.get and
 * getQueryResults; older jobs are forgotten (404).
 */
export class JobStore {
  readonly #engine: SqlEngine;
  readonly #catalog: Catalog;
  readonly #maxJobs: number;
  readonly #jobs = new Map<string, JobRecord>();

  constructor(engine: SqlEngine, catalog: Catalog, maxJobs: number) {
    this.#engine = engine;
    this.#catalog = catalog;
    this.#maxJobs = maxJobs;
  }

  get(projectId: string, jobId: string, location?: string): JobRecord {
    const job = this.#jobs.get(`${projectId}\u0000${jobId}`);
    if (job === undefined) {
      throw BigQueryApiError.notFound(`Not found: Job ${projectId}:${location ?? 'US'}.${jobId}`);
    }
    return job;
  }

  has(projectId: string, jobId: string): boolean {
    return this.#jobs.has(`${projectId}\u0000${jobId}`);
  }

  list(projectId: string): JobRecord[] {
    return [...this.#jobs.values()].filter((job) => job.projectId === projectId).reverse();
  }

  /**
   * Runs a query as job `jobId` and records it, failed or not. Dry runs are checked (parsed and
   * bound by DuckDB) but neither run nor recorded.
   */
  async run(
    projectId: string,
    jobId: string,
    location: string,
    request: QueryRequest,
    configuration: Json,
  ): Promise<JobRecord> {
    const started = Date.now();
    let result: QueryResult | undefined;
    let error: BigQueryApiError | undefined;
    const dryRun = request.dryRun === true;
    try {
      result = await this.#execute(projectId, request, dryRun);
    } catch (caught) {
      error = isBigQueryApiError(caught)
        ? caught
        : BigQueryApiError.invalidQuery(errorMessage(caught));
    }
    const ended = Date.now();
    const statistics: Json = {
      creationTime: String(started),
      startTime: String(started),
      endTime: String(ended),
      totalBytesProcessed: '0',
      query: {
        totalBytesProcessed: '0',
        totalBytesBilled: '0',
        cacheHit: false,
        statementType: statementTypeOf(request.query),
        ...(result === undefined ? {} : { schema: { fields: toFieldResources(result.fields) } }),
        ...(result?.numDmlAffectedRows === undefined
          ? {}
          : { numDmlAffectedRows: String(result.numDmlAffectedRows) }),
      },
    };
    const status: Json =
      error === undefined
        ? { state: 'DONE' }
        : {
            state: 'DONE',
            errorResult: { reason: error.reason, location: 'query', message: error.message },
            errors: [{ reason: error.reason, location: 'query', message: error.message }],
          };
    const record: JobRecord = {
      projectId,
      jobId,
      location,
      resource: {
        kind: 'bigquery#job',
        etag: randomUUID(),
        id: `${projectId}:${location}.${jobId}`,
        jobReference: { projectId, jobId, location },
        configuration: { ...configuration, jobType: 'QUERY', ...(dryRun ? { dryRun: true } : {}) },
        status,
        statistics,
        user_email: 'local@tributary.test',
      },
      ...(result === undefined ? {} : { result }),
      ...(error === undefined ? {} : { error }),
    };
    if (!dryRun) this.#remember(record);
    return record;
  }

  /** Marks nothing: every job is already DONE when it is inserted. */
  cancel(projectId: string, jobId: string, location?: string): JobRecord {
    return this.get(projectId, jobId, location);
  }

  #remember(record: JobRecord): void {
    this.#jobs.set(`${record.projectId}\u0000${record.jobId}`, record);
    while (this.#jobs.size > this.#maxJobs) {
      const oldest = this.#jobs.keys().next();
      if (oldest.done === true) break;
      this.#jobs.delete(oldest.value);
    }
  }

  async #execute(projectId: string, request: QueryRequest, dryRun: boolean): Promise<QueryResult> {
    if (typeof request.query !== 'string' || request.query.trim() === '') {
      throw BigQueryApiError.invalid('Required parameter is missing: query');
    }
    if (request.useLegacySql === true) {
      throw BigQueryApiError.invalidQuery(
        'Legacy SQL is not supported by the local BigQuery server; set useLegacySql: false.',
      );
    }
    const parameters = bindParameters(request.parameterMode, request.queryParameters);
    const defaultDataset = parseDefaultDataset(request.defaultDataset, projectId);
    const catalog = this.#catalog;
    const rewritten = rewriteSql(request.query, {
      projectId,
      defaultDataset,
      duckKeywords: this.#engine.keywords,
      resolveTable: (p, d, t) => catalog.sqlName(p, d, t),
      datasetExists: (p, d) => catalog.findDataset(p, d) !== undefined,
      namedParameter: (name) => parameters.named(name),
      positionalParameter: (index) => parameters.positional(index),
    });
    if (
      !ALLOWED_FIRST_KEYWORDS.has(rewritten.firstKeyword) &&
      !rewritten.sql.trimStart().startsWith('(')
    ) {
      throw BigQueryApiError.invalidQuery(
        `Only queries and DML (SELECT, WITH, INSERT, UPDATE, DELETE) are supported by the local BigQuery server, not ${rewritten.firstKeyword || 'this statement'}.`,
      );
    }
    const sql = rewritten.sql.trim().replace(/;\s*$/, '');
    try {
      if (dryRun) {
        const columns = await this.#engine.exclusive(async (connection) => {
          const prepared = await connection.prepare(sql);
          try {
            return Array.from({ length: prepared.columnCount }, (_, index) => ({
              name: prepared.columnName(index),
              type: prepared.columnType(index),
            }));
          } finally {
            prepared.destroySync();
          }
        });
        return {
          fields: fieldsOfResult(
            columns.map((c) => c.name),
            columns.map((c) => c.type),
          ),
          rows: [],
        };
      }
      const read = await this.#engine.read(sql, parameters.values);
      if (!read.isQuery) return { fields: [], rows: [], numDmlAffectedRows: read.rowsChanged };
      return { fields: fieldsOfResult(read.names, read.types), rows: read.rows };
    } catch (caught) {
      throw BigQueryApiError.invalidQuery(errorMessage(caught));
    }
  }
}

function parseDefaultDataset(
  raw: unknown,
  projectId: string,
): { projectId: string; datasetId: string } | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { datasetId, projectId: project } = raw as { datasetId?: unknown; projectId?: unknown };
  if (typeof datasetId !== 'string') return undefined;
  return { projectId: typeof project === 'string' ? project : projectId, datasetId };
}

function statementTypeOf(query: unknown): string {
  const keyword =
    typeof query === 'string' ? /[A-Za-z]+/.exec(query)?.[0]?.toUpperCase() : undefined;
  if (keyword === 'INSERT' || keyword === 'UPDATE' || keyword === 'DELETE') return keyword;
  return 'SELECT';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
