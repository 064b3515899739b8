/**
 * Maps a request to the operation it asks for. The route's `kind` is also the name fault rules
 * match on (`object.upload`, `object.download`, ...).
 */
export type Route =
  | { readonly kind: 'bucket.list' | 'bucket.create' }
  | {
      readonly kind: 'bucket.get' | 'bucket.patch' | 'bucket.update' | 'bucket.delete';
      readonly bucket: string;
    }
  | { readonly kind: 'object.list' | 'object.upload'; readonly bucket: string }
  | {
      readonly kind: 'object.upload.chunk' | 'object.upload.cancel';
      readonly bucket: string;
      readonly uploadId: string;
    }
  | {
      readonly kind:
        | 'object.get'
        | 'object.download'
        | 'object.patch'
        | 'object.update'
        | 'object.delete'
        | 'object.compose';
      readonly bucket: string;
      readonly object: string;
    }
  | {
      readonly kind: 'object.rewrite' | 'object.copy';
      readonly bucket: string;
      readonly object: string;
      readonly destinationBucket: string;
      readonly destinationObject: string;
    }
  | {
      readonly kind: 'object.move';
      readonly bucket: string;
      readonly object: string;
      readonly destinationObject: string;
    }
  | { readonly kind: 'unknown' };

/** Every operation name a fault rule's `kind` can name. */
export type GcsOperation = Route['kind'];

const unknown: Route = { kind: 'unknown' };

/**
 * Routes both JSON-API path forms (`/storage/v1/b/...` with `apiEndpoint`, `/b/...` with
 * `STORAGE_EMULATOR_HOST`), plus `/upload/storage/v1/...` and `/download/storage/v1/...`.
 */
export function route(method: string, url: URL): Route {
  let path = url.pathname;
  let area: 'json' | 'upload' | 'download' = 'json';
  if (path.startsWith('/upload/storage/v1/')) {
    area = 'upload';
    path = path.slice('/upload/storage/v1'.length);
  } else if (path.startsWith('/download/storage/v1/')) {
    area = 'download';
    path = path.slice('/download/storage/v1'.length);
  } else if (path === '/storage/v1/b' || path.startsWith('/storage/v1/b/')) {
    path = path.slice('/storage/v1'.length);
  }
  let segments: string[];
  try {
    segments = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return unknown;
  }
  if (segments[0] !== 'b') return unknown;
  const bucket = segments[1];
  if (bucket === undefined || bucket === '') {
    if (area !== 'json' || segments.length !== 1) return unknown;
    if (method === 'GET') return { kind: 'bucket.list' };
    if (method === 'POST') return { kind: 'bucket.create' };
    return unknown;
  }
  if (segments.length === 2) {
    if (area !== 'json') return unknown;
    switch (method) {
      case 'GET':
        return { kind: 'bucket.get', bucket };
      case 'PATCH':
        return { kind: 'bucket.patch', bucket };
      case 'PUT':
        return { kind: 'bucket.update', bucket };
      case 'DELETE':
        return { kind: 'bucket.delete', bucket };
      default:
        return unknown;
    }
  }
  if (segments[2] !== 'o') return unknown;
  if (segments.length === 3 || (segments.length === 4 && segments[3] === '')) {
    if (area === 'upload') {
      const uploadId = url.searchParams.get('upload_id');
      if (method === 'POST') return { kind: 'object.upload', bucket };
      if (uploadId !== null && method === 'PUT') {
        return { kind: 'object.upload.chunk', bucket, uploadId };
      }
      if (uploadId !== null && method === 'DELETE') {
        return { kind: 'object.upload.cancel', bucket, uploadId };
      }
      return unknown;
    }
    if (area === 'json' && method === 'GET') return { kind: 'object.list', bucket };
    return unknown;
  }
  if (area === 'upload') return unknown;
  const rest = segments.slice(3);
  const action = rest[1];
  if (
    area === 'json' &&
    method === 'POST' &&
    (action === 'rewriteTo' || action === 'copyTo') &&
    rest[2] === 'b' &&
    rest[4] === 'o' &&
    rest.length >= 6
  ) {
    return {
      kind: action === 'rewriteTo' ? 'object.rewrite' : 'object.copy',
      bucket,
      object: rest[0] as string,
      destinationBucket: rest[3] as string,
      destinationObject: rest.slice(5).join('/'),
    };
  }
  if (
    area === 'json' &&
    method === 'POST' &&
    action === 'moveTo' &&
    rest[2] === 'o' &&
    rest.length >= 4
  ) {
    return {
      kind: 'object.move',
      bucket,
      object: rest[0] as string,
      destinationObject: rest.slice(3).join('/'),
    };
  }
  if (area === 'json' && method === 'POST' && action === 'compose' && rest.length === 2) {
    return { kind: 'object.compose', bucket, object: rest[0] as string };
  }
  const object = rest.join('/');
  if (area === 'download') {
    return method === 'GET' || method === 'HEAD'
      ? { kind: 'object.download', bucket, object }
      : unknown;
  }
  switch (method) {
    case 'GET':
    case 'HEAD':
      return url.searchParams.get('alt') === 'media'
        ? { kind: 'object.download', bucket, object }
        : { kind: 'object.get', bucket, object };
    case 'PATCH':
      return { kind: 'object.patch', bucket, object };
    case 'PUT':
      return { kind: 'object.update', bucket, object };
    case 'DELETE':
      return { kind: 'object.delete', bucket, object };
    default:
      return unknown;
  }
}
