import type { Lookup } from './ports.js';

/** The codec version {@link encodeEntry} writes. */
export const CODEC_VERSION = 1;

/**
 * The versioned JSON of a Redis entry: `{"v":1,"d":<value>}` for a value, `{"v":1,"m":true}`
 * for a remembered miss. Version 1 is the only one read.
 */
export function encodeEntry(lookup: Lookup<unknown>): string {
  return lookup.found
    ? JSON.stringify({ v: CODEC_VERSION, d: lookup.value })
    : `{"v":${CODEC_VERSION},"m":true}`;
}

// What encodeEntry writes before a value (JSON.stringify keeps the insertion order of `v`, `d`).
const VALUE_PREFIX = `{"v":${CODEC_VERSION},"d":`;
const CLOSING_BRACE = 0x7d;

/** What {@link decodeValue} answers for a remembered absence, `{"v":1,"m":true}`. */
export const ABSENT: unique symbol = Symbol('absent');
/** What {@link decodeValue} answers for text that is not a version 1 entry (a counted error). */
export const UNDECODABLE: unique symbol = Symbol('undecodable');

/** The entry of `text`, or `undefined` when it is not a version 1 entry (a counted error). */
export function decodeEntry(text: string): Lookup<unknown> | undefined {
  const decoded = decodeValue(text);
  if (decoded === UNDECODABLE) return undefined;
  return decoded === ABSENT ? { found: false } : { found: true, value: decoded };
}

/**
 * {@link decodeEntry} without the lookup object: the value of `text`, {@link ABSENT} for a
 * remembered absence, or {@link UNDECODABLE}. A value is never `null` or `undefined`.
 */
export function decodeValue(text: string): unknown {
  // Fast path for the shape encodeEntry writes: parse only the value, without building the
  // envelope object. When the inner text is one JSON value, `{"v":1,"d":<it>}` means exactly
  // that value, so the answer is the one of the full parse below; anything else takes that path.
  if (text.startsWith(VALUE_PREFIX) && text.charCodeAt(text.length - 1) === CLOSING_BRACE) {
    try {
      const value: unknown = JSON.parse(text.slice(VALUE_PREFIX.length, -1));
      if (value !== null) return value;
    } catch {
      // Not one value (e.g. more fields follow it): the full parse decides.
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return UNDECODABLE;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return UNDECODABLE;
  const record = parsed as Record<string, unknown>;
  if (record['v'] !== CODEC_VERSION) return UNDECODABLE;
  if (record['m'] === true) return ABSENT;
  const value = record['d'];
  return value === null || value === undefined ? UNDECODABLE : value;
}
