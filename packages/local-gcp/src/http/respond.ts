import type { IncomingMessage, ServerResponse } from 'node:http';

/** gRPC-style status names Google's JSON APIs put in `error.status`. */
const statusNames: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
};

/** Writes a JSON body with the given status. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * Writes an error in the shape Google's JSON APIs use, which the official clients parse into
 * `ApiError` (`code`, `message`, `errors[].reason`):
 * `{"error":{"code":404,"message":"…","status":"NOT_FOUND","errors":[{"reason":"notFound",…}]}}`.
 */
export function sendGoogleError(
  response: ServerResponse,
  status: number,
  reason: string,
  message: string,
  domain = 'global',
): void {
  sendJson(response, status, {
    error: {
      code: status,
      message,
      status: statusNames[status] ?? 'UNKNOWN',
      errors: [{ message, domain, reason }],
    },
  });
}

/** Reads a whole request body, refusing bodies over `limitBytes`. */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw new RangeError(`request body over ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
