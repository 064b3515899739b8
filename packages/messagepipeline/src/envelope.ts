import { TributaryError } from './errors.js';
import { deriveMessage, type Attributes, type Message } from './message.js';
import type { OutgoingMessage } from './ports.js';

/** The attribute that marks wrapped data, and its only value so far. */
export const ENVELOPE_ATTRIBUTE = 'tributary-envelope';
/** The envelope version {@link encodeEnvelope} writes and {@link decodeEnvelope} reads. */
export const ENVELOPE_VERSION = 1;

/** What {@link encodeEnvelope} needs of a message; a {@link Message} has all of it. */
export interface EnvelopeSource {
  readonly data: Uint8Array;
  readonly attributes?: Attributes | undefined;
  readonly orderingKey?: string | undefined;
  readonly enrichment?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * The data of a wrapped message (envelope version 1): `payload` when the payload is JSON,
 * `payloadBase64` otherwise.
 */
export type EnvelopeV1 =
  | { readonly v: 1; readonly payload: unknown; readonly enrichment: Record<string, unknown> }
  | { readonly v: 1; readonly payloadBase64: string; readonly enrichment: Record<string, unknown> };

/**
 * Writes a message for the wire (envelope version 1).
 *
 * Without enrichment the message travels as it is: data = the payload bytes, attributes = its
 * attributes. With enrichment, data = `{"v":1,"payload":<payload JSON>,"enrichment":{...}}`
 * and the attribute `tributary-envelope: "1"` is added. The payload is embedded as JSON when
 * re-serialising it reproduces it exactly (up to insignificant whitespace); otherwise (not JSON,
 * not UTF-8, or JSON that would change, such as integers beyond 2^53, `1.0` or duplicate keys)
 * it travels as `"payloadBase64"`, so no payload is ever altered.
 *
 * @throws `TributaryError` `INVALID_PAYLOAD` (permanent) when the enrichment is not serialisable
 */
export function encodeEnvelope(message: EnvelopeSource): OutgoingMessage {
  const attributes = withoutEnvelopeAttribute(message.attributes ?? {});
  const enrichment = message.enrichment ?? {};
  if (Object.keys(enrichment).length === 0) {
    return { data: message.data, attributes, orderingKey: message.orderingKey };
  }
  const payload = embeddableJson(message.data);
  let text: string;
  try {
    text =
      payload === undefined
        ? JSON.stringify({
            v: ENVELOPE_VERSION,
            payloadBase64: Buffer.from(message.data).toString('base64'),
            enrichment,
          })
        : JSON.stringify({ v: ENVELOPE_VERSION, payload: payload.value, enrichment });
  } catch (error) {
    throw TributaryError.permanent(
      'INVALID_PAYLOAD',
      `enrichment is not JSON-serialisable: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  return {
    data: encoder.encode(text),
    attributes: { ...attributes, [ENVELOPE_ATTRIBUTE]: String(ENVELOPE_VERSION) },
    orderingKey: message.orderingKey,
  };
}

/**
 * Reads a message from the wire: the inverse of {@link encodeEnvelope}, and also the JSON
 * envelope the Go go-dataflow producers published.
 *
 * - Attribute `tributary-envelope: "1"`: unwraps it (data = the payload bytes, enrichment = the
 *   envelope's enrichment) and drops the attribute. Any other value of the attribute, or data
 *   that is not a valid version 1 envelope, throws a permanent `INVALID_PAYLOAD` error.
 * - No attribute, and the data is exactly a Go envelope (a JSON object with only the keys `id`
 *   (string), `payload` (standard base64 string, or null), `publishTime` (RFC 3339 string) and
 *   optionally `enrichmentData` (object), the `publishTime` key written plainly, as Go writes it):
 *   unwraps it the same way. Any other JSON, including an object that merely has some of these
 *   keys, is left alone.
 * - Otherwise: returns `message` itself.
 *
 * The unwrapped message is derived from `message` (`deriveMessage`), so acking it acks the
 * original. Its id and publish time remain the transport's; those of a Go envelope are ignored.
 */
export function decodeEnvelope(message: Message): Message {
  const marker = message.attributes[ENVELOPE_ATTRIBUTE];
  if (marker !== undefined) return unwrapV1(message, marker);
  const go = parseGoEnvelope(message.data);
  if (go === undefined) return message;
  return deriveMessage(message, { data: go.data, enrichment: go.enrichment });
}

function unwrapV1(message: Message, marker: string): Message {
  if (marker !== String(ENVELOPE_VERSION)) {
    throw malformed(message, `unsupported envelope version '${marker}'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(message.data));
  } catch (error) {
    throw malformed(message, 'data is not JSON', error);
  }
  if (!isRecord(parsed)) throw malformed(message, 'data is not a JSON object');
  if (parsed['v'] !== ENVELOPE_VERSION) throw malformed(message, `"v" is not ${ENVELOPE_VERSION}`);
  const enrichment = parsed['enrichment'];
  if (!isRecord(enrichment)) throw malformed(message, '"enrichment" is not an object');
  const hasPayload = 'payload' in parsed;
  const base64 = parsed['payloadBase64'];
  let data: Uint8Array;
  if (hasPayload && base64 === undefined) {
    data = encoder.encode(JSON.stringify(parsed['payload']));
  } else if (!hasPayload && typeof base64 === 'string' && isBase64(base64)) {
    data = fromBase64(base64);
  } else {
    throw malformed(message, 'needs exactly one of "payload" and a base64 "payloadBase64"');
  }
  return deriveMessage(message, {
    data,
    enrichment,
    attributes: withoutEnvelopeAttribute(message.attributes),
  });
}

const GO_KEYS: ReadonlySet<string> = new Set(['id', 'payload', 'publishTime', 'enrichmentData']);
const GO_TIME_KEY = Buffer.from('"publishTime"');
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** The unwrapped Go envelope, or `undefined` when `data` is not exactly one. */
function parseGoEnvelope(
  data: Uint8Array,
): { data: Uint8Array; enrichment: Record<string, unknown> } | undefined {
  // Cheap pre-check before parsing: a Go envelope is a JSON object.
  let first = 0;
  while (first < data.length && isJsonWhitespace(data[first] as number)) first += 1;
  if (data[first] !== 0x7b) return undefined;
  // And it has a "publishTime" key, as Go's encoding/json writes it (no escapes in a plain ASCII
  // name). Most payloads are JSON objects without one: they are not parsed twice here.
  if (Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(GO_TIME_KEY) < 0) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  for (const key of Object.keys(parsed)) if (!GO_KEYS.has(key)) return undefined;
  const { id, payload, publishTime, enrichmentData } = parsed;
  if (typeof id !== 'string') return undefined;
  if (typeof publishTime !== 'string' || !RFC3339.test(publishTime)) return undefined;
  // Go encodes a nil []byte as null.
  if (payload !== null && (typeof payload !== 'string' || !isBase64(payload))) return undefined;
  if (enrichmentData !== undefined && !isRecord(enrichmentData)) return undefined;
  return {
    data: payload === null ? new Uint8Array(0) : fromBase64(payload),
    enrichment: enrichmentData ?? {},
  };
}

/** The payload as a JSON value, when re-serialising it reproduces it; `undefined` otherwise. */
function embeddableJson(data: Uint8Array): { value: unknown } | undefined {
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(data);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return JSON.stringify(value) === stripJsonWhitespace(text) ? { value } : undefined;
}

/** Removes the whitespace between JSON tokens (not inside strings). */
function stripJsonWhitespace(text: string): string {
  let out = '';
  let inString = false;
  let escaped = false;
  let from = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (escaped) escaped = false;
      else if (code === 0x5c) escaped = true;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (isJsonWhitespace(code)) {
      out += text.slice(from, index);
      from = index + 1;
    }
  }
  return out + text.slice(from);
}

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isBase64(text: string): boolean {
  return BASE64.test(text);
}

function fromBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutEnvelopeAttribute(attributes: Attributes): Attributes {
  if (!(ENVELOPE_ATTRIBUTE in attributes)) return attributes;
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes))
    if (key !== ENVELOPE_ATTRIBUTE) rest[key] = value;
  return rest;
}

function malformed(message: Message, problem: string, cause?: unknown): TributaryError {
  return TributaryError.permanent(
    'INVALID_PAYLOAD',
    `message ${message.id} has a malformed ${ENVELOPE_ATTRIBUTE} envelope: ${problem}`,
    cause,
  );
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
