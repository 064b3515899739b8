import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { GcsError } from './errors.js';
import type { StoredObject } from './model.js';
import { objectEtag } from './resources.js';

const gunzipAsync = promisify(gunzip);

/**
 * Serves an object's bytes as `alt=media` does. Objects stored with `contentEncoding: gzip` go
 * out as stored with `Content-Encoding: gzip` when the request accepts gzip, and are decompressed
 * here otherwise (GCS "decompressive transcoding"; Range is then ignored, as GCS does). A single
 * `Range: bytes=…` gets a 206 over the stored bytes.
 */
export async function sendObjectMedia(
  request: IncomingMessage,
  response: ServerResponse,
  object: StoredObject,
): Promise<void> {
  const storedEncoding = object.contentEncoding?.trim().toLowerCase();
  const storedGzip = storedEncoding === 'gzip';
  const headers: OutgoingHttpHeaders = {
    'content-type': object.contentType,
    'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
    'x-goog-generation': object.generation,
    'x-goog-metageneration': String(object.metageneration),
    'x-goog-stored-content-encoding': storedEncoding ?? 'identity',
    'x-goog-stored-content-length': String(object.data.length),
    'x-goog-storage-class': 'STANDARD',
    etag: objectEtag(object),
    'last-modified': new Date(object.updated).toUTCString(),
    'cache-control': object.cacheControl ?? 'private, max-age=0',
    'accept-ranges': 'bytes',
  };
  if (object.contentDisposition !== undefined) {
    headers['content-disposition'] = object.contentDisposition;
  }
  if (object.contentLanguage !== undefined) headers['content-language'] = object.contentLanguage;

  let body = object.data;
  let status = 200;
  if (storedGzip && !acceptsGzip(request.headers['accept-encoding'])) {
    try {
      body = await gunzipAsync(object.data);
      headers.warning = '214 UploadServer gunzipped';
    } catch {
      // Not really gzip: serve the stored bytes, like GCS does for mislabelled objects.
      headers['content-encoding'] = 'gzip';
    }
  } else {
    if (storedEncoding !== undefined && storedEncoding !== 'identity') {
      headers['content-encoding'] = object.contentEncoding;
    }
    const range = parseRange(request.headers.range, body.length);
    if (range === 'unsatisfiable') {
      throw new GcsError(
        416,
        'requestedRangeNotSatisfiable',
        'The requested range cannot be satisfied.',
      );
    }
    if (range !== undefined) {
      status = 206;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${body.length}`;
      body = body.subarray(range.start, range.end + 1);
    }
  }
  headers['content-length'] = body.length;
  response.writeHead(status, headers);
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** Whether an `Accept-Encoding` header allows gzip (and does not give it `q=0`). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let wildcard = false;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const refused = q !== undefined && Number(q.slice(2)) === 0;
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return !refused;
    if (coding.trim() === '*') wildcard = !refused;
  }
  return wildcard;
}

/**
 * Parses one `bytes=` range against `size`: undefined (no usable range: absent, several ranges,
 * or another unit) serves everything; `'unsatisfiable'` is a 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return size === 0 ? undefined : 'unsatisfiable';
  return { start, end };
}
