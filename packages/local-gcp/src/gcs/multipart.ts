import { badRequest } from './errors.js';

/** One part of a `multipart/related` body. */
export interface Part {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The boundary of a `multipart/*` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\//i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Splits a `multipart/related` body (RFC 2046) into parts. Part headers are lower-cased. Bytes
 * between the delimiters are kept exactly, so binary payloads survive.
 */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw badRequest('Malformed multipart body: no boundary');
  for (;;) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing "--boundary--"
    // Skip transport padding and the CRLF after the delimiter.
    while (body[start] === 0x20 || body[start] === 0x09) start++;
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    else if (body[start] === 0x0a) start += 1;
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw badRequest('Malformed multipart body: no closing boundary');
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    else if (body[end - 1] === 0x0a) end -= 1;
    parts.push(parsePart(body.subarray(start, end)));
    at = next;
  }
  return parts;
}

function parsePart(raw: Buffer): Part {
  // A part without headers starts with the blank line.
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headers: {}, body: raw.subarray(2) };
  if (raw[0] === 0x0a) return { headers: {}, body: raw.subarray(1) };
  let split = raw.indexOf('\r\n\r\n');
  let skip = 4;
  if (split < 0) {
    split = raw.indexOf('\n\n');
    skip = 2;
  }
  if (split < 0) throw badRequest('Malformed multipart body: part without a blank line');
  const headers: Record<string, string> = {};
  for (const line of raw.subarray(0, split).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.subarray(split + skip) };
}
