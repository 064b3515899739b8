import type { IncomingMessage } from 'node:http';
import { BigQueryApiError } from './errors.js';

/**
 * Reads a JSON request body of at most `limitBytes`. A larger body is drained (so the answer
 * can still be sent) and refused like BigQuery does: 400 `badRequest` "Request payload size
 * exceeds the limit: N bytes."; a body declared far larger (over 4 times the limit) gets 413
 * without being read. `onSize` hears the body's size (the declared one for a 413) before any
 * refusal.
 */
export async function readJsonBody(
  request: IncomingMessage,
  limitBytes: number,
  onSize?: (bytes: number) => void,
): Promise<{ readonly body: Record<string, unknown>; readonly bytes: number }> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes * 4) {
    onSize?.(declared);
    request.resume();
    throw new BigQueryApiError(413, 'requestTooLarge', 'Request Too Large');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limitBytes) chunks.push(chunk);
  }
  onSize?.(size);
  if (size > limitBytes) {
    throw BigQueryApiError.badRequest(
      `Request payload size exceeds the limit: ${limitBytes} bytes.`,
    );
  }
  if (size === 0) return { body: {}, bytes: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
  } catch {
    throw BigQueryApiError.badRequest('Invalid JSON payload received.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw BigQueryApiError.badRequest('Invalid JSON payload received. Expected an object.');
  }
  return { body: parsed as Record<string, unknown>, bytes: size };
}
