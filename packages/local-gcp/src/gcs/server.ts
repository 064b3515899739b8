import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  startLocalServer,
  type ListenOptions,
  type LocalServer,
  type RequestHandler,
} from '../http/local-server.js';
import { sendGoogleError } from '../http/respond.js';
import type { GcsContext } from './context.js';
import { GcsError } from './errors.js';
import { selectFields } from './partial-response.js';
import { refuseEncryption } from './refusals.js';
import { createDiskPersistence } from './persistence.js';
import { route, type GcsOperation, type Route } from './routes.js';
import {
  createBucket,
  deleteBucket,
  getBucket,
  listBuckets,
  patchBucket,
} from './routes-buckets.js';
import {
  composeObject,
  copyObject,
  deleteObject,
  downloadObject,
  getObject,
  listObjects,
  moveObject,
  patchObject,
} from './routes-objects.js';
import { GcsStore } from './store.js';
import {
  handleUploadCancel,
  handleUploadChunk,
  handleUploadStart,
  UploadSessions,
} from './uploads.js';

/** Options of {@link startGcsServer}. */
export interface GcsServerOptions extends ListenOptions {
  /**
   * Folder to keep buckets and objects in, as plain files (`<dataDir>/<bucket>/<object name>`,
   * metadata under `<dataDir>/.tributary-gcs/`), reloaded on start. When unset, everything lives
   * in memory and is gone after `stop()`. @defaultValue undefined
   */
  readonly dataDir?: string | undefined;
  /** Largest object accepted, in bytes; larger uploads get 413. @defaultValue 536_870_912 (512 MiB) */
  readonly maxObjectBytes?: number | undefined;
}

/** Defaults of {@link GcsServerOptions}. */
export const DEFAULT_GCS_SERVER_OPTIONS = Object.freeze({
  maxObjectBytes: 512 * 1024 * 1024,
}) satisfies Required<Pick<GcsServerOptions, 'maxObjectBytes'>>;

/** A running local GCS JSON-API server. */
export interface GcsServer extends LocalServer {
  /** The persistence folder, if any. */
  readonly dataDir: string | undefined;
  /**
   * The value for `STORAGE_EMULATOR_HOST` (the client then calls `/b/...`); the same as `url`,
   * which also works as `new Storage({ apiEndpoint })` (the client then calls `/storage/v1/b/...`).
   */
  readonly emulatorHost: string;
  /**
   * How many requests of `kind` arrived (all kinds when omitted), counted before fault rules
   * apply. Lets a test prove, say, that a resumable upload really went in several chunks.
   */
  requestCount(kind?: GcsOperation): number;
}

/**
 * Starts a GCS JSON-API server on loopback that the official `@google-cloud/storage` client can
 * use unchanged: buckets, multipart / media / resumable uploads, downloads with Range and gzip
 * transcoding, listing, metadata patch, copy / rewrite / compose, and generation preconditions.
 * Fault rules match on the operation names of {@link GcsOperation}.
 */
export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsServer> {
  const maxObjectBytes = options.maxObjectBytes ?? DEFAULT_GCS_SERVER_OPTIONS.maxObjectBytes;
  if (!Number.isInteger(maxObjectBytes) || maxObjectBytes < 1) {
    throw new RangeError("'maxObjectBytes' must be an integer >= 1");
  }
  const store = new GcsStore(
    options.dataDir === undefined ? undefined : createDiskPersistence(options.dataDir),
  );
  await store.load();
  let fallbackBase = 'http://127.0.0.1';
  const ctx: GcsContext = {
    store,
    sessions: new UploadSessions(),
    maxObjectBytes,
    baseUrl: (request) =>
      request.headers.host === undefined ? fallbackBase : `http://${request.headers.host}`,
  };
  const routes = new WeakMap<IncomingMessage, Route>();
  const counts = new Map<GcsOperation, number>();
  const routeOf = (request: IncomingMessage, url: URL): Route => {
    let found = routes.get(request);
    if (found === undefined) {
      found = route(request.method ?? 'GET', url);
      routes.set(request, found);
      counts.set(found.kind, (counts.get(found.kind) ?? 0) + 1);
    }
    return found;
  };
  const handler: RequestHandler = {
    classify: (request, url) => routeOf(request, url).kind,
    handle: async (request, response, url) => {
      try {
        refuseEncryption(request, url);
        selectFields(response, url);
        await dispatch(ctx, routeOf(request, url), request, response, url);
      } catch (error) {
        if (!(error instanceof GcsError) || response.headersSent) throw error;
        request.resume();
        if (error.status === 304) {
          response.writeHead(304);
          response.end();
          return;
        }
        if (error.plainText) {
          response.writeHead(error.status, { 'content-type': 'text/plain; charset=utf-8' });
          response.end(error.message);
          return;
        }
        sendGoogleError(response, error.status, error.reason, error.message);
      }
    },
  };
  const server = await startLocalServer(handler, options);
  fallbackBase = server.url;
  return {
    url: server.url,
    host: server.host,
    port: server.port,
    faults: server.faults,
    dataDir: options.dataDir,
    emulatorHost: server.url,
    requestCount: (kind) =>
      kind === undefined
        ? [...counts.values()].reduce((sum, n) => sum + n, 0)
        : (counts.get(kind) ?? 0),
    stop: async () => {
      await server.stop();
      await store.flush();
    },
  };
}

async function dispatch(
  ctx: GcsContext,
  target: Route,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  switch (target.kind) {
    case 'bucket.create':
      return createBucket(ctx, request, response);
    case 'bucket.list':
      listBuckets(ctx, request, response, url);
      return;
    case 'bucket.get':
      getBucket(ctx, request, response, target.bucket);
      return;
    case 'bucket.patch':
    case 'bucket.update':
      return patchBucket(ctx, request, response, target.bucket, target.kind === 'bucket.update');
    case 'bucket.delete':
      return deleteBucket(ctx, response, target.bucket);
    case 'object.list':
      listObjects(ctx, request, response, url, target.bucket);
      return;
    case 'object.upload':
      return handleUploadStart(ctx, request, response, url, target.bucket);
    case 'object.upload.chunk':
      return handleUploadChunk(ctx, request, response, target.uploadId);
    case 'object.upload.cancel':
      handleUploadCancel(ctx, request, response, target.uploadId);
      return;
    case 'object.get':
      getObject(ctx, request, response, url, target.bucket, target.object);
      return;
    case 'object.download':
      return downloadObject(ctx, request, response, url, target.bucket, target.object);
    case 'object.patch':
    case 'object.update':
      return patchObject(
        ctx,
        request,
        response,
        url,
        target.bucket,
        target.object,
        target.kind === 'object.update',
      );
    case 'object.delete':
      return deleteObject(ctx, response, url, target.bucket, target.object);
    case 'object.rewrite':
    case 'object.copy':
      return copyObject(
        ctx,
        request,
        response,
        url,
        { bucket: target.bucket, name: target.object },
        { bucket: target.destinationBucket, name: target.destinationObject },
        target.kind === 'object.rewrite',
      );
    case 'object.move':
      return moveObject(
        ctx,
        request,
        response,
        url,
        target.bucket,
        target.object,
        target.destinationObject,
      );
    case 'object.compose':
      return composeObject(ctx, request, response, url, target.bucket, target.object);
    case 'unknown':
      request.resume();
      // A method the JSON API has but this server does not serve (see the README's matrix).
      sendGoogleError(
        response,
        501,
        'notImplemented',
        `${request.method ?? 'GET'} ${url.pathname} is not implemented by the local GCS server`,
      );
      return;
  }
}
