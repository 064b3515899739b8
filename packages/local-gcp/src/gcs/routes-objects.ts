import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonObject } from './body.js';
import type { GcsContext } from './context.js';
import { sendObjectMedia } from './download.js';
import { badRequest, conditionNotMet, noSuchObject } from './errors.js';
import { readObjectFields, readObjectPatch } from './fields.js';
import { listNames, readListQuery } from './listing.js';
import type { ObjectFields, StoredObject } from './model.js';
import { checkPreconditions, readPreconditions } from './preconditions.js';
import { objectResource } from './resources.js';
import { sendResource } from './partial-response.js';

/** The live object, honouring `?generation=` (only the live generation exists here). */
function liveObject(ctx: GcsContext, bucket: string, name: string, url: URL): StoredObject {
  const object = ctx.store.object(bucket, name);
  const generation = url.searchParams.get('generation');
  if (generation !== null && generation !== object.generation) throw noSuchObject(bucket, name);
  return object;
}

/** `GET /b/{b}/o/{o}`: the object resource. */
export function getObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
): void {
  const object = liveObject(ctx, bucket, name, url);
  checkPreconditions(object, readPreconditions(url.searchParams), true);
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/** `GET /b/{b}/o/{o}?alt=media` or `/download/storage/v1/...`: the bytes. */
export async function downloadObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
): Promise<void> {
  const object = liveObject(ctx, bucket, name, url);
  checkPreconditions(object, readPreconditions(url.searchParams), true);
  await sendObjectMedia(request, response, object);
}

/** `GET /b/{b}/o`: prefix, delimiter, paging, offsets, glob. */
export function listObjects(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
): void {
  const page = listNames(ctx.store.sortedNames(bucket), readListQuery(url.searchParams));
  const baseUrl = ctx.baseUrl(request);
  const items = page.names.map((name) => objectResource(ctx.store.object(bucket, name), baseUrl));
  sendResource(response, 200, {
    kind: 'storage#objects',
    nextPageToken: page.nextPageToken,
    prefixes: page.prefixes.length === 0 ? undefined : page.prefixes,
    items: items.length === 0 ? undefined : items,
  });
}

/** `PATCH` (merge) or `PUT` (replace) `/b/{b}/o/{o}`: metadata only; metageneration + 1. */
export async function patchObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
  replace: boolean,
): Promise<void> {
  const patch = readObjectPatch(await readJsonObject(request));
  const object = await ctx.store.patchObject(
    bucket,
    name,
    patch,
    replace,
    readPreconditions(url.searchParams),
  );
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/** `DELETE /b/{b}/o/{o}`: 204. */
export async function deleteObject(
  ctx: GcsContext,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
): Promise<void> {
  liveObject(ctx, bucket, name, url);
  await ctx.store.deleteObject(bucket, name, readPreconditions(url.searchParams));
  response.writeHead(204);
  response.end();
}

/**
 * `POST .../rewriteTo/...` and `.../copyTo/...`: copies in one step. Body fields override the
 * source's metadata; `ifSource*` conditions apply to the source, `if*` to the destination.
 */
export async function copyObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  source: { bucket: string; name: string },
  destination: { bucket: string; name: string },
  rewrite: boolean,
): Promise<void> {
  const json = await readJsonObject(request);
  const from = ctx.store.object(source.bucket, source.name);
  const sourceGeneration = url.searchParams.get('sourceGeneration');
  if (sourceGeneration !== null && sourceGeneration !== from.generation) {
    throw noSuchObject(source.bucket, source.name);
  }
  checkPreconditions(from, readPreconditions(url.searchParams, true));
  ctx.store.bucket(destination.bucket);
  const overrides = readObjectFields(json);
  const fields: ObjectFields = {
    ...copyableFields(from),
    ...overrides,
  };
  const object = await ctx.store.putObject(
    destination.bucket,
    destination.name,
    from.data,
    fields,
    readPreconditions(url.searchParams),
  );
  const resource = objectResource(object, ctx.baseUrl(request));
  if (!rewrite) {
    sendResource(response, 200, resource);
    return;
  }
  sendResource(response, 200, {
    kind: 'storage#rewriteResponse',
    totalBytesRewritten: String(object.data.length),
    objectSize: String(object.data.length),
    done: true,
    resource,
  });
}

/**
 * `POST /b/{b}/o/{o}/moveTo/o/{d}` (objects.move, the client's `moveFileAtomic`): renames an
 * object within its bucket, keeping its bytes and metadata under a new generation.
 * `ifSource*` conditions apply to the source, `if*` to the destination (`ifGenerationMatch=0`:
 * the destination must not exist).
 */
export async function moveObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
  destination: string,
): Promise<void> {
  await readJsonObject(request);
  if (name === destination) {
    throw badRequest('Source and destination object names must be different.');
  }
  const from = ctx.store.object(bucket, name);
  checkPreconditions(from, readPreconditions(url.searchParams, true));
  const object = await ctx.store.putObject(
    bucket,
    destination,
    from.data,
    copyableFields(from),
    readPreconditions(url.searchParams),
  );
  await ctx.store.deleteObject(bucket, name, { ifGenerationMatch: from.generation });
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/** `POST /b/{b}/o/{o}/compose` with `{sourceObjects: [{name, generation?}], destination?}`. */
export async function composeObject(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
  name: string,
): Promise<void> {
  const json = await readJsonObject(request);
  const sources = json['sourceObjects'];
  if (!Array.isArray(sources) || sources.length === 0 || sources.length > 32) {
    throw badRequest('sourceObjects must list 1 to 32 objects.');
  }
  const parts: Buffer[] = [];
  for (const source of sources as unknown[]) {
    const entry = (typeof source === 'object' && source !== null ? source : {}) as Record<
      string,
      unknown
    >;
    if (typeof entry['name'] !== 'string') throw badRequest('sourceObjects[].name is required.');
    const part = ctx.store.object(bucket, entry['name']);
    const generation = decimal(entry['generation']);
    if (generation !== undefined && generation !== part.generation) {
      throw noSuchObject(bucket, entry['name']);
    }
    const conditions = entry['objectPreconditions'] as { ifGenerationMatch?: unknown } | undefined;
    const expected = decimal(conditions?.ifGenerationMatch);
    if (expected !== undefined && expected !== part.generation) throw conditionNotMet();
    parts.push(part.data);
  }
  const destination = json['destination'];
  const fields =
    typeof destination === 'object' && destination !== null && !Array.isArray(destination)
      ? readObjectFields(destination as Record<string, unknown>)
      : {};
  const object = await ctx.store.putObject(
    bucket,
    name,
    Buffer.concat(parts),
    fields,
    readPreconditions(url.searchParams),
  );
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/** A generation sent as a JSON number or string, as a decimal string. */
function decimal(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  return undefined;
}

function copyableFields(object: StoredObject): ObjectFields {
  return {
    contentType: object.contentType,
    contentEncoding: object.contentEncoding,
    contentDisposition: object.contentDisposition,
    contentLanguage: object.contentLanguage,
    cacheControl: object.cacheControl,
    customTime: object.customTime,
    metadata: object.metadata,
  };
}
