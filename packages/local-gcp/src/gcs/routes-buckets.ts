import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonObject } from './body.js';
import { refuseEncryptionFields } from './refusals.js';
import type { GcsContext } from './context.js';
import { badRequest } from './errors.js';
import { readStringMap } from './fields.js';
import { listNames, readListQuery } from './listing.js';
import { bucketResource } from './resources.js';
import { sendResource } from './partial-response.js';

/** `POST /b?project=P` with `{name, location?, storageClass?, labels?}`. */
export async function createBucket(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const json = await readJsonObject(request);
  refuseEncryptionFields(json);
  const { name, location, storageClass } = json;
  if (typeof name !== 'string') throw badRequest('Required: bucket name.', 'required');
  const labels = readStringMap(json['labels'], 'labels');
  const bucket = await ctx.store.createBucket({
    name,
    location: typeof location === 'string' ? location : undefined,
    storageClass: typeof storageClass === 'string' ? storageClass : undefined,
    labels: labels === null || labels === undefined ? undefined : withoutNulls(labels),
  });
  sendResource(response, 200, bucketResource(bucket, ctx.baseUrl(request)));
}

/** `GET /b?project=P[&prefix][&maxResults][&pageToken]`: every bucket, whatever the project. */
export function listBuckets(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): void {
  const query = readListQuery(url.searchParams);
  const buckets = ctx.store.listBuckets();
  const page = listNames(
    buckets.map((bucket) => bucket.name),
    { ...query, delimiter: undefined, matchGlob: undefined },
  );
  const baseUrl = ctx.baseUrl(request);
  const items = page.names.map((name) => bucketResource(ctx.store.bucket(name), baseUrl));
  sendResource(response, 200, {
    kind: 'storage#buckets',
    items: items.length === 0 ? undefined : items,
    nextPageToken: page.nextPageToken,
  });
}

/** `GET /b/{bucket}`. */
export function getBucket(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  bucket: string,
): void {
  sendResource(response, 200, bucketResource(ctx.store.bucket(bucket), ctx.baseUrl(request)));
}

/** `PATCH`/`PUT /b/{bucket}`: only `labels` are kept; other fields are accepted and ignored. */
export async function patchBucket(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  bucket: string,
  replace: boolean,
): Promise<void> {
  ctx.store.bucket(bucket);
  const json = await readJsonObject(request);
  refuseEncryptionFields(json);
  const labels = readStringMap(json['labels'], 'labels');
  const updated = await ctx.store.patchBucket(bucket, labels, replace);
  sendResource(response, 200, bucketResource(updated, ctx.baseUrl(request)));
}

/** `DELETE /b/{bucket}`: 204, or 409 when objects remain. */
export async function deleteBucket(
  ctx: GcsContext,
  response: ServerResponse,
  bucket: string,
): Promise<void> {
  await ctx.store.deleteBucket(bucket);
  response.writeHead(204);
  response.end();
}

function withoutNulls(map: Readonly<Record<string, string | null>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) if (value !== null) result[key] = value;
  return result;
}
