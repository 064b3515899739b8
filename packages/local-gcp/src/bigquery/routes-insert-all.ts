import type { IncomingMessage } from 'node:http';
import type { BigQueryContext, RouteResponse } from './context.js';
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
    ctx.insertAllLog.record(size, 0, true);
    throw error;
  }
  const rows = Array.isArray(body['rows']) ? body['rows'].length : 0;
  ctx.insertAllLog.record(bytes, rows, rows > ctx.limits.maxRows);
  let table = ctx.catalog.getTable(projectId, datasetId, tableId);
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
  return { status: 200, body: outcome.response };
}
