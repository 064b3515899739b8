import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonObject, readLimitedBody } from './body.js';
import type { GcsContext } from './context.js';
import { badRequest, GcsError, MAX_METADATA_PART_BYTES, metadataPartTooLarge } from './errors.js';
import { readObjectFields } from './fields.js';
import { checksums, parseGoogHash } from './hashes.js';
import type { ObjectFields, StoredObject } from './model.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { checkPreconditions, readPreconditions, type Preconditions } from './preconditions.js';
import { objectResource } from './resources.js';
import { sendResource } from './partial-response.js';

/** HTTP status GCS uses for "send the rest of a resumable upload". */
const RESUME_INCOMPLETE = 308;

interface Session {
  readonly bucket: string;
  readonly name: string;
  readonly fields: ObjectFields;
  readonly conditions: Preconditions;
  readonly chunks: Buffer[];
  received: number;
  result: StoredObject | undefined;
}

/**
 * Open resumable upload sessions, by `upload_id`. Sessions live until finalised or cancelled;
 * finalised ones are remembered (the last `keepFinished`) so a repeated final PUT or a status
 * query still answers with the object.
 */
export class UploadSessions {
  readonly #open = new Map<string, Session>();
  readonly #finished = new Map<string, Session>();
  readonly #keepFinished: number;

  constructor(keepFinished = 1024) {
    this.#keepFinished = keepFinished;
  }

  create(session: Session): string {
    const id = randomUUID().replaceAll('-', '');
    this.#open.set(id, session);
    return id;
  }

  get(id: string): Session | undefined {
    return this.#open.get(id) ?? this.#finished.get(id);
  }

  finish(id: string, session: Session): void {
    this.#open.delete(id);
    this.#finished.set(id, session);
    if (this.#finished.size > this.#keepFinished) {
      const oldest = this.#finished.keys().next();
      if (oldest.done !== true) this.#finished.delete(oldest.value);
    }
  }

  cancel(id: string): boolean {
    return this.#open.delete(id);
  }

  /** How many sessions are open (not finalised). */
  get openCount(): number {
    return this.#open.size;
  }
}

/** The JSON body that opens a resumable session; an oversized one is GCS's plain-text 400. */
async function readMetadataBody(request: IncomingMessage): Promise<Buffer> {
  try {
    return await readLimitedBody(request, MAX_METADATA_PART_BYTES);
  } catch (error) {
    if (error instanceof GcsError && error.status === 413) {
      request.resume();
      throw metadataPartTooLarge();
    }
    throw error;
  }
}

/**
 * `POST /upload/storage/v1/b/{bucket}/o`: `uploadType=multipart` (JSON metadata part, then the
 * bytes), `uploadType=media` (bytes only, `name` in the query) or `uploadType=resumable` (opens
 * a session and answers with a `Location` carrying `upload_id`).
 */
export async function handleUploadStart(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  bucket: string,
): Promise<void> {
  ctx.store.bucket(bucket);
  const query = url.searchParams;
  const conditions = readPreconditions(query);
  const boundary = multipartBoundary(request.headers['content-type']);
  const uploadType = query.get('uploadType') ?? (boundary === undefined ? 'media' : 'multipart');

  if (uploadType === 'resumable') {
    const json = parseJsonObject(await readMetadataBody(request));
    const fields = withContentType(
      readObjectFields(json),
      header(request, 'x-upload-content-type'),
    );
    const name = objectName(query, json);
    checkPreconditions(ctx.store.findObject(bucket, name), conditions);
    const id = ctx.sessions.create({
      bucket,
      name,
      fields,
      conditions,
      chunks: [],
      received: 0,
      result: undefined,
    });
    const location = new URL(
      `${ctx.baseUrl(request)}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`,
    );
    location.searchParams.set('uploadType', 'resumable');
    location.searchParams.set('name', name);
    location.searchParams.set('upload_id', id);
    response.writeHead(200, {
      location: location.toString(),
      'x-guploader-uploadid': id,
      'content-length': 0,
    });
    response.end();
    return;
  }

  const body = await readLimitedBody(request, ctx.maxObjectBytes + (1 << 20));
  let json: Record<string, unknown> = {};
  let data: Buffer;
  let contentType: string | undefined;
  if (uploadType === 'multipart') {
    if (boundary === undefined)
      throw badRequest('Multipart upload needs a multipart/related body.');
    const [metadataPart, dataPart, ...extra] = parseMultipart(body, boundary);
    if (metadataPart === undefined || dataPart === undefined || extra.length > 0) {
      throw badRequest('Multipart upload needs exactly two parts: metadata and media.');
    }
    if (metadataPart.body.length > MAX_METADATA_PART_BYTES) throw metadataPartTooLarge();
    json = parseJsonObject(metadataPart.body);
    data = dataPart.body;
    contentType = dataPart.headers['content-type'];
  } else if (uploadType === 'media') {
    data = body;
    contentType = header(request, 'content-type');
  } else {
    throw badRequest(`Invalid uploadType: ${uploadType}`);
  }
  if (data.length > ctx.maxObjectBytes) {
    throw new GcsError(413, 'uploadTooLarge', `Object is over ${ctx.maxObjectBytes} bytes.`);
  }
  const fields = withContentType(readObjectFields(json), contentType);
  verifyChecksums(data, {
    ...parseGoogHash(header(request, 'x-goog-hash')),
    ...declaredChecksums(json),
  });
  const object = await ctx.store.putObject(
    bucket,
    objectName(query, json),
    data,
    fields,
    conditions,
  );
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/**
 * `PUT` to a session URI: appends a chunk (`Content-Range: bytes a-b/total` or `a-*\/*`),
 * answers `308` with `Range: bytes=0-n` until the last byte arrives, then stores the object and
 * answers 200 with it. `Content-Range: bytes *\/N` (or `*\/*`) with no body asks for the status.
 */
export async function handleUploadChunk(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  uploadId: string,
): Promise<void> {
  const session = ctx.sessions.get(uploadId);
  if (session === undefined) {
    throw new GcsError(404, 'notFound', `No such upload session: ${uploadId}`);
  }
  const range = parseContentRange(header(request, 'content-range'));
  const chunk = await readLimitedBody(request, ctx.maxObjectBytes - session.received + (1 << 20));
  if (session.result !== undefined) {
    sendResource(response, 200, objectResource(session.result, ctx.baseUrl(request)));
    return;
  }
  let total: number | undefined;
  if (range.kind === 'status') {
    total = range.total;
  } else {
    if (range.start > session.received) {
      throw badRequest(
        `Invalid request. According to the Content-Range header, the upload offset is ${range.start} byte(s), which exceeds already uploaded size of ${session.received} byte(s).`,
      );
    }
    // Bytes we already have (a client resending after a lost response) are dropped.
    const fresh = chunk.subarray(Math.min(chunk.length, session.received - range.start));
    if (range.end !== undefined && range.end - range.start + 1 !== chunk.length) {
      throw badRequest('Content-Range does not match the number of bytes sent.');
    }
    if (session.received + fresh.length > ctx.maxObjectBytes) {
      throw new GcsError(413, 'uploadTooLarge', `Object is over ${ctx.maxObjectBytes} bytes.`);
    }
    if (fresh.length > 0) session.chunks.push(fresh);
    session.received += fresh.length;
    // `bytes a-*/*`: this request carried the rest of the object.
    total = range.total ?? (range.end === undefined ? session.received : undefined);
  }
  if (total === undefined || session.received < total) {
    const headers: Record<string, string | number> = { 'content-length': 0 };
    if (session.received > 0) headers['range'] = `bytes=0-${session.received - 1}`;
    response.writeHead(RESUME_INCOMPLETE, headers);
    response.end();
    return;
  }
  if (session.received > total) {
    throw badRequest(`Upload has ${session.received} bytes, more than the declared ${total}.`);
  }
  const data = Buffer.concat(session.chunks, session.received);
  verifyChecksums(data, parseGoogHash(header(request, 'x-goog-hash')));
  const object = await ctx.store.putObject(
    session.bucket,
    session.name,
    data,
    session.fields,
    session.conditions,
  );
  session.result = object;
  session.chunks.length = 0;
  ctx.sessions.finish(uploadId, session);
  sendResource(response, 200, objectResource(object, ctx.baseUrl(request)));
}

/** `DELETE` on a session URI cancels it; GCS answers 499. */
export function handleUploadCancel(
  ctx: GcsContext,
  request: IncomingMessage,
  response: ServerResponse,
  uploadId: string,
): void {
  request.resume();
  if (!ctx.sessions.cancel(uploadId)) {
    throw new GcsError(404, 'notFound', `No such upload session: ${uploadId}`);
  }
  response.writeHead(499, { 'content-length': 0 });
  response.end();
}

type ContentRange =
  | { readonly kind: 'status'; readonly total: number | undefined }
  | {
      readonly kind: 'bytes';
      readonly start: number;
      readonly end: number | undefined;
      readonly total: number | undefined;
    };

/** Parses `bytes a-b/N`, `bytes a-*\/*`, `bytes *\/N`; no header means one shot from 0. */
export function parseContentRange(value: string | undefined): ContentRange {
  if (value === undefined) return { kind: 'bytes', start: 0, end: undefined, total: undefined };
  const match = /^\s*bytes\s+(?:\*|(\d+)-(\d+|\*))\/(\d+|\*)\s*$/i.exec(value);
  if (match === null) throw badRequest(`Invalid Content-Range: ${value}`);
  const [, start, end, total] = match;
  const totalBytes = total === undefined || total === '*' ? undefined : Number(total);
  if (start === undefined) return { kind: 'status', total: totalBytes };
  return {
    kind: 'bytes',
    start: Number(start),
    end: end === undefined || end === '*' ? undefined : Number(end),
    total: totalBytes,
  };
}

function verifyChecksums(data: Buffer, expected: { md5Hash?: string; crc32c?: string }): void {
  if (expected.md5Hash === undefined && expected.crc32c === undefined) return;
  const actual = checksums(data);
  if (expected.md5Hash !== undefined && expected.md5Hash !== actual.md5Hash) {
    throw badRequest(
      `Provided MD5 hash "${expected.md5Hash}" doesn't match calculated MD5 hash "${actual.md5Hash}".`,
    );
  }
  if (expected.crc32c !== undefined && expected.crc32c !== actual.crc32c) {
    throw badRequest(
      `Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`,
    );
  }
}

function declaredChecksums(json: Record<string, unknown>): { md5Hash?: string; crc32c?: string } {
  const result: { md5Hash?: string; crc32c?: string } = {};
  if (typeof json['md5Hash'] === 'string') result.md5Hash = json['md5Hash'];
  if (typeof json['crc32c'] === 'string') result.crc32c = json['crc32c'];
  return result;
}

function objectName(query: URLSearchParams, json: Record<string, unknown>): string {
  const name = query.get('name') ?? json['name'];
  if (typeof name !== 'string' || name === '')
    throw badRequest('Required: object name.', 'required');
  return name;
}

function withContentType(fields: ObjectFields, fallback: string | undefined): ObjectFields {
  return fields.contentType !== undefined || fallback === undefined
    ? fields
    : { ...fields, contentType: fallback };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
