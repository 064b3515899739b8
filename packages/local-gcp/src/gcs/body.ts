import type { IncomingMessage } from 'node:http';
import { readBody } from '../http/respond.js';
import { badRequest, GcsError } from './errors.js';

/** Reads a request body, answering 413 (as GCS does) when it is over `limitBytes`. */
export async function readLimitedBody(
  request: IncomingMessage,
  limitBytes: number,
): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw tooLarge(limitBytes);
  try {
    return await readBody(request, limitBytes);
  } catch (error) {
    if (error instanceof RangeError) throw tooLarge(limitBytes);
    throw error;
  }
}

/** Reads a JSON object body; an empty body is `{}`. */
export async function readJsonObject(
  request: IncomingMessage,
  limitBytes = 1 << 20,
): Promise<Record<string, unknown>> {
  return parseJsonObject(await readLimitedBody(request, limitBytes));
}

/** Parses a JSON object; an empty buffer is `{}`. Anything else is a 400 `parseError`. */
export function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  if (bytes.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badRequest('Parse Error', 'parseError');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest('Parse Error: expected a JSON object', 'parseError');
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(limitBytes: number): GcsError {
  return new GcsError(
    413,
    'uploadTooLarge',
    `Request body is over this server's limit of ${limitBytes} bytes.`,
  );
}
