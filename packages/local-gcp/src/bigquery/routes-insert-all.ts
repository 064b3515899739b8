import type { IncomingMessage } from 'node:http';
import type { BigQueryContext, RouteResponse } from './context.js';
import { insertAll } from './insert-all.js';
import { readJsonBody } from './request-body.js';

/**
 * POST …/tables/TABLE/insertAll. With `templateSuffix`, rows go to table TABLE + suffix, created
 * with TABLE's schema on first use (BigQuery's template tables).
 */
export async function handleInsertAll(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  tableId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body, bytes } = await readJsonBody(request, ctx.limits.maxRequestBytes);
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
