import type { IncomingMessage } from 'node:http';
import { isView } from './catalog.js';
import type { BigQueryContext, RouteResponse } from './context.js';
import { BigQueryApiError } from './errors.js';
import { insertAll } from './insert-all.js';
import { readJsonBody } from './request-body.js';

/**
 * POST …/tables/TABLE/insertAll. With `templateSuffix`, rows go to table TABLE + suffix, created
 * with TABLE's schema on first use (BigQuery's template tables). Every request's size is counted
 * in `ctx.insertAllLog`, refused ones included.
 */
export async function handleInsertAll(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  let size = 0;
  let body: Record<string, unknown>;
  let bytes: number;
  try {
    ({ body, bytes } = await readJsonBody(request, ctx.limits.maxRequestBytes, (read) => {
      size = read;
    }));
  } catch (error) {
    // Refused for its size only when it was too large; a body cut short (its client killed
    // mid-upload) or not JSON is a bad request, not a refusal.
    ctx.insertAllLog.record(size, 0, size > ctx.limits.maxRequestBytes);
    throw error;
  }
  const rows = Array.isArray(body['rows']) ? body['rows'].length : 0;
  ctx.insertAllLog.record(bytes, rows, rows > ctx.limits.maxRows);
  let table = ctx.catalog.getTable(projectId, datasetId, tableId);
  if (isView(table)) {
    throw BigQueryApiError.invalid(
      `Table ${projectId}:${datasetId}.${tableId} is a view; rows cannot be streamed into a view.`,
    );
  }
  const suffix = body['templateSuffix'];
  if (typeof suffix === 'string' && suffix !== '') {
    const targetId = `${tableId}${suffix}`;
    table =
      ctx.catalog.findTable(projectId, datasetId, targetId) ??
      (await ctx.catalog.createTable(projectId, datasetId, {
        tableReference: { projectId, datasetId, tableId: targetId },
        schema: table.resource['schema'],
      }));
  }
  const outcome = await insertAll(ctx.engine, table, body, bytes, ctx.limits);
  if (ctx.onRowsWritten !== undefined && outcome.rows.length > 0) {
    ctx.onRowsWritten({ projectId, datasetId, tableId: table.tableId, rows: outcome.rows });
  }
  return { status: 200, body: outcome.response };
}
