import type { IncomingMessage } from 'node:http';
import type { BigQueryContext, RouteResponse } from './context.js';
import { intParam, pageOf, pageStart } from './paging.js';
import { readJsonBody } from './request-body.js';

export const METADATA_BODY_BYTES = 1024 * 1024;

export function listDatasets(ctx: BigQueryContext, projectId: string, url: URL): RouteResponse {
  const page = pageOf(
    ctx.catalog.listDatasets(projectId),
    pageStart(url),
    intParam(url, 'maxResults'),
  );
  return {
    status: 200,
    body: {
      kind: 'bigquery#datasetList',
      etag: String(Date.now()),
      ...(page.items.length > 0
        ? {
            datasets: page.items.map(({ resource }) => ({
              kind: 'bigquery#dataset',
              id: resource['id'],
              datasetReference: resource['datasetReference'],
              location: resource['location'],
              ...(resource['labels'] === undefined ? {} : { labels: resource['labels'] }),
              ...(resource['friendlyName'] === undefined
                ? {}
                : { friendlyName: resource['friendlyName'] }),
            })),
          }
        : {}),
      ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    },
  };
}

export async function createDataset(
  ctx: BigQueryContext,
  projectId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, METADATA_BODY_BYTES);
  const entry = await ctx.catalog.createDataset(projectId, body);
  return { status: 200, body: entry.resource };
}

export function getDataset(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
): RouteResponse {
  return { status: 200, body: ctx.catalog.getDataset(projectId, datasetId).resource };
}

export async function patchDataset(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  request: IncomingMessage,
): Promise<RouteResponse> {
  const { body } = await readJsonBody(request, METADATA_BODY_BYTES);
  const entry = await ctx.catalog.patchDataset(projectId, datasetId, body);
  return { status: 200, body: entry.resource };
}

export async function deleteDataset(
  ctx: BigQueryContext,
  projectId: string,
  datasetId: string,
  url: URL,
): Promise<RouteResponse> {
  await ctx.catalog.deleteDataset(
    projectId,
    datasetId,
    url.searchParams.get('deleteContents') === 'true',
  );
  return { status: 204 };
}
