import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  startLocalServer,
  type ListenOptions,
  type LocalServer,
  type RequestHandler,
} from '../http/local-server.js';
import { sendGoogleError, sendJson } from '../http/respond.js';
import { Catalog } from './catalog.js';
import type { BigQueryContext, RouteResponse, RowsWrittenEvent } from './context.js';
import { BigQueryApiError, isBigQueryApiError } from './errors.js';
import { DEFAULT_INSERT_ALL_LIMITS, writeRows, type InsertAllLimits } from './insert-all.js';
import { DEFAULT_INSERT_ID_WINDOW } from './insert-id-window.js';
import { JobStore } from './jobs.js';
import { matchRoute, type Route } from './routing.js';
import {
  createDataset,
  deleteDataset,
  getDataset,
  listDatasets,
  patchDataset,
} from './routes-datasets.js';
import { handleInsertAll } from './routes-insert-all.js';
import {
  handleGetQueryResults,
  handleJobCancel,
  handleJobGet,
  handleJobInsert,
  handleJobList,
  handleQuery,
} from './routes-jobs.js';
import {
  createTable,
  deleteTable,
  getTable,
  listTableData,
  listTables,
  patchTable,
} from './routes-tables.js';
import { InsertAllLog, INSERT_ALL_STATS_PATH, type InsertAllStats } from './request-log.js';
import { createSqlEngine } from './sql-engine.js';
import {
  startWriteApiServer,
  type BigQueryWriteServer,
  type BigQueryWriteServerOptions,
} from './write-api.js';

/** Options of {@link startBigQueryServer}. */
export interface BigQueryServerOptions extends ListenOptions {
  /**
   * Directory for a persistent DuckDB file (`bigquery.duckdb`): datasets, tables and rows survive
   * a restart. Jobs and the insertId window are kept in memory only.
   * @defaultValue undefined (in memory)
   */
  readonly dataDir?: string | undefined;
  /** How long an accepted insertId de-duplicates later rows, in milliseconds. @defaultValue 600_000 */
  readonly insertIdWindowMs?: number | undefined;
  /** Most insertIds remembered per table. @defaultValue 100_000 */
  readonly maxInsertIdsPerTable?: number | undefined;
  /** Most jobs (with their result rows) kept for jobs.get and getQueryResults. @defaultValue 200 */
  readonly maxJobs?: number | undefined;
  /** Rows per tabledata.list / query results page when the client sets no maxResults. @defaultValue 50_000 */
  readonly defaultPageRows?: number | undefined;
  /** insertAll request limits. @defaultValue {@link DEFAULT_INSERT_ALL_LIMITS} */
  readonly insertAllLimits?: InsertAllLimits | undefined;
  /**
   * Told of the rows of every insertAll once they are written and visible to queries: the moment
   * a row is "in BigQuery", for end-to-end latency. Must not throw.
   */
  readonly onRowsWritten?: ((event: RowsWrittenEvent) => void) | undefined;
  /**
   * Also start the Storage Write API (gRPC `BigQueryWrite`) on its own port, over the same
   * DuckDB catalog: rows appended over gRPC are what REST queries and tabledata.list read.
   * @defaultValue undefined (not started)
   */
  readonly writeApi?: BigQueryWriteServerOptions | undefined;
}

/** A running local BigQuery server. */
export interface BigQueryServer extends LocalServer {
  /** For `new BigQuery({ apiEndpoint })`: requests then go to `/bigquery/v2/projects/…`. */
  readonly apiEndpoint: string;
  /** For `BIGQUERY_EMULATOR_HOST` (used verbatim as the client's base URL). */
  readonly emulatorHost: string;
  /**
   * The Storage Write API server when {@link BigQueryServerOptions.writeApi} was given; its
   * `emulatorHost` is the value for `BIGQUERY_STORAGE_EMULATOR_HOST`.
   */
  readonly writeApi: BigQueryWriteServer | undefined;
  /**
   * Writes rows straight into an existing table, bypassing HTTP and insertId de-duplication
   * (fixtures, benchmarks). Rows are validated like insertAll rows.
   * @returns the number of rows written
   * @throws {@link BigQueryApiError} `notFound` for a missing table, `invalid` for a bad row.
   */
  /**
   * What insertAll requests the server received so far (count, rows, body bytes, the largest);
   * also served at `GET /__tributary/bigquery/insert-all-stats` (`DELETE` resets it).
   */
  insertAllStats(): InsertAllStats;
  /** Resets {@link BigQueryServer.insertAllStats}. */
  resetInsertAllStats(): void;
  loadRows(
    projectId: string,
    datasetId: string,
    tableId: string,
    rows: readonly Record<string, unknown>[],
  ): Promise<number>;
}

const LOAD_CHUNK_ROWS = 50_000;

/**
 * Starts the local BigQuery REST server: datasets, tables, insertAll, tabledata.list and query
 * jobs answered by an embedded DuckDB, at `/bigquery/v2/projects/…` and `/projects/…`.
 */
export async function startBigQueryServer(
  options: BigQueryServerOptions = {},
): Promise<BigQueryServer> {
  let path: string | undefined;
  if (options.dataDir !== undefined) {
    await mkdir(options.dataDir, { recursive: true });
    path = join(options.dataDir, 'bigquery.duckdb');
  }
  const engine = await createSqlEngine(path);
  try {
    const catalog = await Catalog.open(engine, {
      windowMs: options.insertIdWindowMs ?? DEFAULT_INSERT_ID_WINDOW.windowMs,
      maxIds: options.maxInsertIdsPerTable ?? DEFAULT_INSERT_ID_WINDOW.maxIds,
    });
    const limits = options.insertAllLimits ?? {};
    const insertAllLog = new InsertAllLog();
    const ctx: BigQueryContext = {
      insertAllLog,
      engine,
      catalog,
      jobs: new JobStore(engine, catalog, options.maxJobs ?? 200),
      limits: {
        maxRequestBytes: limits.maxRequestBytes ?? DEFAULT_INSERT_ALL_LIMITS.maxRequestBytes,
        maxRows: limits.maxRows ?? DEFAULT_INSERT_ALL_LIMITS.maxRows,
        maxRowBytes: limits.maxRowBytes ?? DEFAULT_INSERT_ALL_LIMITS.maxRowBytes,
      },
      defaultPageRows: options.defaultPageRows ?? 50_000,
      onRowsWritten: options.onRowsWritten,
    };
    const server = await startLocalServer(createHandler(ctx), options);
    let writeApi: BigQueryWriteServer | undefined;
    try {
      writeApi =
        options.writeApi === undefined
          ? undefined
          : await startWriteApiServer(
              { engine, catalog, onRowsWritten: options.onRowsWritten },
              options.writeApi,
            );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return {
      ...server,
      url: server.url,
      host: server.host,
      port: server.port,
      faults: server.faults,
      apiEndpoint: server.url,
      emulatorHost: server.url,
      writeApi,
      insertAllStats: () => insertAllLog.snapshot(),
      resetInsertAllStats: () => {
        insertAllLog.reset();
      },
      stop: async () => {
        await writeApi?.stop();
        await server.stop();
        await engine.close();
      },
      loadRows: async (projectId, datasetId, tableId, rows) => {
        const table = catalog.getTable(projectId, datasetId, tableId);
        for (let start = 0; start < rows.length; start += LOAD_CHUNK_ROWS) {
          const chunk = rows.slice(start, start + LOAD_CHUNK_ROWS).map((row, offset) => {
            const check = table.validator(row, false);
            if (!check.ok) {
              throw BigQueryApiError.invalid(`row ${start + offset}: ${check.problem.message}`);
            }
            return check.row;
          });
          await writeRows(engine, table, chunk);
        }
        return rows.length;
      },
    };
  } catch (error) {
    await engine.close();
    throw error;
  }
}

function createHandler(ctx: BigQueryContext): RequestHandler {
  return {
    classify: (request, url) =>
      url.pathname === INSERT_ALL_STATS_PATH
        ? 'control'
        : matchRoute(request.method ?? 'GET', url.pathname).op,
    handle: async (request, response, url) => {
      if (url.pathname === INSERT_ALL_STATS_PATH) {
        request.resume();
        if (request.method === 'DELETE') ctx.insertAllLog.reset();
        sendJson(response, 200, ctx.insertAllLog.snapshot());
        return;
      }
      const route = matchRoute(request.method ?? 'GET', url.pathname);
      try {
        send(response, await dispatch(ctx, route, request, url));
      } catch (error) {
        if (!isBigQueryApiError(error)) throw error;
        request.resume();
        sendGoogleError(response, error.status, error.reason, error.message);
      }
    },
  };
}

function send(response: ServerResponse, answer: RouteResponse): void {
  if (answer.body === undefined) {
    response.writeHead(answer.status, { 'content-length': 0 });
    response.end();
    return;
  }
  sendJson(response, answer.status, answer.body);
}

async function dispatch(
  ctx: BigQueryContext,
  route: Route,
  request: IncomingMessage,
  url: URL,
): Promise<RouteResponse> {
  switch (route.op) {
    case 'dataset.list':
      return listDatasets(ctx, route.projectId, url);
    case 'dataset.create':
      return createDataset(ctx, route.projectId, request);
    case 'dataset.get':
      return getDataset(ctx, route.projectId, route.datasetId);
    case 'dataset.patch':
      return patchDataset(ctx, route.projectId, route.datasetId, request);
    case 'dataset.delete':
      return deleteDataset(ctx, route.projectId, route.datasetId, url);
    case 'table.list':
      return listTables(ctx, route.projectId, route.datasetId, url);
    case 'table.create':
      return createTable(ctx, route.projectId, route.datasetId, request);
    case 'table.get':
      return getTable(ctx, route.projectId, route.datasetId, route.tableId);
    case 'table.patch':
      return patchTable(ctx, route.projectId, route.datasetId, route.tableId, request);
    case 'table.delete':
      return deleteTable(ctx, route.projectId, route.datasetId, route.tableId);
    case 'insertAll':
      return handleInsertAll(ctx, route.projectId, route.datasetId, route.tableId, request);
    case 'tabledata.list':
      return listTableData(ctx, route.projectId, route.datasetId, route.tableId, url);
    case 'query':
      return handleQuery(ctx, route.projectId, request);
    case 'job.insert':
      return handleJobInsert(ctx, route.projectId, request);
    case 'job.getQueryResults':
      return handleGetQueryResults(ctx, route.projectId, route.jobId, url);
    case 'job.get':
      return handleJobGet(ctx, route.projectId, route.jobId, url);
    case 'job.list':
      return handleJobList(ctx, route.projectId, url);
    case 'job.cancel':
      return handleJobCancel(ctx, route.projectId, route.jobId, request, url);
    case 'unknown':
      // A method the REST API has but this server does not serve (see the README's matrix).
      throw new BigQueryApiError(
        501,
        'notImplemented',
        `${request.method ?? 'GET'} ${url.pathname} is not implemented by the local BigQuery server`,
      );
  }
}
