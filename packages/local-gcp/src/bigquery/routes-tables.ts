import type { IncomingMessage } from 'node:http';
import { isView, type TableEntry } from './catalog.js';
import { BigQueryApiError } from './errors.js';
import type { BigQueryContext, RouteResponse } from './context.js';
import { intParam, pageOf, pageStart, encodePageToken } from './paging.js';
import { readJsonBody } from './request-body.js';
import { METADATA_BODY_BYTES } from './routes-datasets.js';
import { quoteIdent } from './schema-mapping.js';
import { compileRowEncoder, timestampFormatOf } from './value-encoding.js';

export function listTables(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  url: URL,
): RouteResponse {
  const tables = ctx.catalog.listTables(projectId, datasetId);
  const page = pageOf(tables, pageStart(url), intParam(url, 'maxResults'));
  return {
    status: 200,
    body: {
      kind: 'bigquery#tableList',
      etag: String(Date.now()),
      ...(page.items.length > 0
        ? {
            tables: page.items.map(({ resource }) => ({
              kind: 'bigquery#table',
              id: resource['id'],
              tableReference: resource['tableReference'],
              type: resource['type'],
              creationTime: resource['creationTime'],
              ...pickDefined(resource, [
                'timePartitioning',
                'clustering',
                'labels',
                'friendlyName',
                'expirationTime',
              ]),
            })),
          }
        : {}),
      totalItems: tables.length,
      ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    },
  };
}

export async function createTable(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, METADATA_BODY_BYTES);
  const table = await ctx.catalog.createTable(projectId, datasetId, body);
  return { status: 200, body: table.resource };
}

export async function getTable(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
): Promise<RouteResponse> {
  const table = ctx.catalog.getTable(projectId, datasetId, tableId);
  return { status: 200, body: await tableResource(ctx, table) };
}

export async function patchTable(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, METADATA_BODY_BYTES);
  const table = await ctx.catalog.patchTable(projectId, datasetId, tableId, body);
  return { status: 200, body: await tableResource(ctx, table) };
}

export async function deleteTable(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
): Promise<RouteResponse> {
  await ctx.catalog.deleteTable(projectId, datasetId, tableId);
  return { status: 204 };
}

/**
 * tabledata.list: rows in insertion order, `startIndex` or `pageToken` to start, `maxResults` per
 * page, `selectedFields` (top-level names) to narrow, cells encoded as BigQuery does.
 */
export async function listTableData(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
  url: URL,
): Promise<RouteResponse> {
  const table = ctx.catalog.getTable(projectId, datasetId, tableId);
  if (isView(table)) throw BigQueryApiError.invalid('Cannot list a table of type VIEW.');
  const start = pageStart(url);
  const maxResults = intParam(url, 'maxResults') ?? ctx.defaultPageRows;
  const selected = (url.searchParams.get('selectedFields') ?? '')
    .split(',')
    .map((name) => name.trim().split('.')[0]?.toLowerCase() ?? '')
    .filter((name) => name !== '');
  const fields =
    selected.length === 0
      ? table.fields
      : table.fields.filter((field) => selected.includes(field.name.toLowerCase()));
  const format = timestampFormatOf(
    url.searchParams.get('formatOptions.useInt64Timestamp'),
    url.searchParams.get('formatOptions.timestampOutputFormat'),
  );
  if (!table.hasStorage || fields.length === 0) {
    return {
      status: 200,
      body: { kind: 'bigquery#tableDataList', etag: String(Date.now()), totalRows: '0' },
    };
  }
  const columns = fields.map((field) => quoteIdent(field.name)).join(', ');
  const { total, rows } = await ctx.engine.exclusive(async (connection) => {
    const count = await connection.runAndReadAll(`SELECT count(*) FROM ${table.qualifiedName}`);
    const page = await connection.runAndReadAll(
      `SELECT ${columns} FROM ${table.qualifiedName} LIMIT ${maxResults} OFFSET ${start}`,
    );
    return { total: Number(count.getRows()[0]?.[0] ?? 0), rows: page.getRows() };
  });
  const encode = compileRowEncoder(fields, format);
  const next = start + rows.length;
  return {
    status: 200,
    body: {
      kind: 'bigquery#tableDataList',
      etag: String(Date.now()),
      totalRows: String(total),
      ...(next < total && rows.length > 0 ? { pageToken: encodePageToken(next) } : {}),
      ...(rows.length > 0 ? { rows: rows.map(encode) } : {}),
    },
  };
}

async function tableResource(
  ctx: BigQueryContext,
  table: TableEntry,
): Promise<Record<string, unknown>> {
  if (isView(table)) return table.resource;
  const numRows = await ctx.catalog.numRows(table);
  return { ...table.resource, numRows: numRows.toString() };
}

function pickDefined(
  source: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
