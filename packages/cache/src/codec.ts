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

/** The entry of `text`, or `undefined` when it is not a version 1 entry (a counted error). */
export function decodeEntry(text: string): Lookup<unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  if (record['v'] !== CODEC_VERSION) return undefined;
  if (record['m'] === true) return { found: false };
  if (!('d' in record) || record['d'] === null || record['d'] === undefined) return undefined;
  return { found: true, value: record['d'] };
}
