import { isUtf8 } from 'node:buffer';
import type { Message } from '@tributary/messagepipeline';

/** One archived message: the message and its payload as one-line JSON, if it is JSON. */
export interface ArchiveRecord {
  readonly message: Message;
  /**
   * The payload as one line of JSON text in UTF-8 (often a view of the message's own bytes), or
   * `undefined`: then it is archived base64.
   */
  readonly json: Uint8Array | undefined;
}

/**
 * Reads a payload as one line of JSON: its own bytes, trimmed, when it parses, is valid UTF-8
 * and has no line break (JSON whitespace outside strings is the only place one can be);
 * re-serialised otherwise; `undefined` when it is not JSON. Also returns the parsed value (for a
 * timestamp field).
 */
export function readJsonPayload(data: Uint8Array): {
  json: Uint8Array | undefined;
  value: unknown;
} {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { json: undefined, value: undefined };
  }
  if (bytes.includes(0x0a) || bytes.includes(0x0d) || !isUtf8(bytes)) {
    return { json: Buffer.from(JSON.stringify(value), 'utf8'), value };
  }
  let start = 0;
  let end = bytes.byteLength;
  while (isJsonSpace(bytes[start])) start++;
  while (isJsonSpace(bytes[end - 1])) end--;
  return { json: bytes.subarray(start, end), value };
}

function isJsonSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x09;
}

/**
 * Bytes that lines are encoded into: a buffer that grows (copying what it holds) when a line
 * would not fit.
 */
export class LineBuffer {
  bytes: Buffer;
  length = 0;

  constructor(capacityBytes: number) {
    this.bytes = Buffer.allocUnsafeSlow(capacityBytes);
  }

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    if (this.length + bytes <= this.bytes.byteLength) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.byteLength * 2, this.length + bytes));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** The bytes written so far (a view, not a copy). */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const ID = ascii('{"id":');
const PUBLISH_TIME = ascii(',"publishTime":"');
const ATTRIBUTES = ascii('","attributes":{');
const ENRICHMENT = ascii(',"enrichment":');
const PAYLOAD = ascii(',"payload":');
const PAYLOAD_BASE64 = ascii(',"payloadBase64":"');
/** Bytes of a line besides its id, attributes, enrichment and payload, with room to spare. */
const FIXED_BYTES = 128;

/**
 * Appends one JSON line to `out`: `id`, `publishTime`, `attributes`, `enrichment`, and `payload`
 * (the JSON value) or `payloadBase64`. The bytes are exactly those of `JSON.stringify` and
 * `toISOString` (a test holds them to it), written without building a string per line: this is
 * the part of archiving that runs on the main thread.
 */
export function encodeLine(record: ArchiveRecord, out: LineBuffer): void {
  const message = record.message;
  const id = message.id;
  const enrichment = enrichmentJson(message.enrichment);
  const json = record.json;
  const data = message.data;
  const payloadBytes = json === undefined ? Math.ceil(data.byteLength / 3) * 4 : json.byteLength;
  // The most it can take besides attributes: 6 bytes a character where JSON escapes (\u0000).
  out.reserve(FIXED_BYTES + 6 * id.length + 3 * enrichment.length + payloadBytes);
  let bytes = out.bytes;
  let at = putBytes(bytes, out.length, ID);
  at = putString(bytes, at, id);
  at = putBytes(bytes, at, PUBLISH_TIME);
  // toISOString's text, its part up to the milliseconds reused within a second (years 1970 to
  // 9999 only: the text has this fixed shape there).
  const time = message.publishTime.getTime();
  if (time >= 0 && time <= 253_402_300_799_999) {
    const millis = time % 1000;
    const second = time - millis;
    if (second !== lastSecond) {
      lastSecondIso = ascii(new Date(second).toISOString().slice(0, 20)); // 2026-12-01T00:00:00.
      lastSecond = second;
    }
    at = putBytes(bytes, at, lastSecondIso);
    bytes[at] = 0x30 + Math.floor(millis / 100);
    bytes[at + 1] = 0x30 + (Math.floor(millis / 10) % 10);
    bytes[at + 2] = 0x30 + (millis % 10);
    bytes[at + 3] = 0x5a; // Z
    at += 4;
  } else {
    at += bytes.write(message.publishTime.toISOString(), at, 'latin1');
  }
  at = putBytes(bytes, at, ATTRIBUTES);
  const attributes = message.attributes;
  let first = true;
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value === undefined) continue;
    const nameBytes = nameJson(name);
    const most = nameBytes.length + 6 * value.length + 3 + FIXED_BYTES;
    if (at + most > bytes.length) {
      out.length = at;
      out.reserve(most + payloadBytes + 3 * enrichment.length);
      bytes = out.bytes;
    }
    if (!first) bytes[at++] = 0x2c; // ,
    first = false;
    at = putBytes(bytes, at, nameBytes);
    at = putString(bytes, at, value);
  }
  bytes[at++] = 0x7d; // }
  at = putBytes(bytes, at, ENRICHMENT);
  if (enrichment === '{}') {
    bytes[at++] = 0x7b; // {
    bytes[at++] = 0x7d; // } (a call to write costs more than the line's other bytes)
  } else {
    at += bytes.write(enrichment, at, 'utf8');
  }
  if (json !== undefined) {
    at = putBytes(bytes, at, PAYLOAD);
    bytes.set(json, at);
    at += json.byteLength;
  } else {
    at = putBytes(bytes, at, PAYLOAD_BASE64);
    const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    at += bytes.write(base64, at, 'latin1');
    bytes[at++] = 0x22; // "
  }
  bytes[at++] = 0x7d; // }
  bytes[at++] = 0x0a; // \n
  out.length = at;
}

/** One JSON line as text (see {@link encodeLine}). */
export function jsonLine(record: ArchiveRecord): string {
  const out = new LineBuffer(256);
  encodeLine(record, out);
  return out.view().toString('utf8');
}

/** Copies short constant bytes (a loop beats `set` at this size); returns the next position. */
function putBytes(target: Buffer, at: number, bytes: Uint8Array): number {
  for (let index = 0; index < bytes.length; index++) target[at + index] = bytes[index] as number;
  return at + bytes.length;
}

/**
 * Writes `JSON.stringify(text)`: byte by byte while the text is printable ASCII without `"` or
 * `\`, else through `JSON.stringify` (escapes, lone surrogates) and UTF-8.
 */
function putString(target: Buffer, at: number, text: string): number {
  target[at] = 0x22;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x22 || code === 0x5c || code > 0x7e) {
      return at + target.write(JSON.stringify(text), at, 'utf8');
    }
    target[at + 1 + index] = code;
  }
  target[at + 1 + text.length] = 0x22;
  return at + text.length + 2;
}

/** JSON of attribute names seen so far, with the colon, up to a bound (names are few). */
const nameJsons = new Map<string, Buffer>();
const MAX_NAME_JSONS = 1024;

function nameJson(name: string): Buffer {
  let json = nameJsons.get(name);
  if (json === undefined) {
    json = Buffer.from(`${JSON.stringify(name)}:`, 'utf8');
    if (nameJsons.size < MAX_NAME_JSONS) nameJsons.set(name, json);
  }
  return json;
}

/** `JSON.stringify(enrichment)`, without the call for the common empty object. */
function enrichmentJson(enrichment: Readonly<Record<string, unknown>>): string {
  for (const _ in enrichment) return JSON.stringify(enrichment);
  return '{}';
}

// The second of the last publish time and its ISO text up to the milliseconds, reused for the
// next time in that second: a batch's messages mostly share it.
let lastSecond = Number.NaN;
let lastSecondIso: Buffer = Buffer.alloc(20);
