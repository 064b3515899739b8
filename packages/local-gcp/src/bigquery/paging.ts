import { BigQueryApiError } from './errors.js';

/** Page tokens are opaque to clients; ours carry the offset of the next row or item. */
export function encodePageToken(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

/** @throws {@link BigQueryApiError} `invalid` for a token this server did not make. */
export function decodePageToken(token: string): number {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (match === null) throw BigQueryApiError.invalid(`Invalid page token: ${token}`);
  return Number(match[1]);
}

/** Reads a non-negative integer query parameter such as `maxResults` or `startIndex`. */
export function intParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw BigQueryApiError.invalid(`Invalid value for ${name}: ${raw}`);
  }
  return value;
}

/** Where a page starts: the page token if any, else `startIndex`, else 0. */
export function pageStart(url: URL): number {
  const token = url.searchParams.get('pageToken');
  if (token !== null && token !== '') return decodePageToken(token);
  return intParam(url, 'startIndex') ?? 0;
}

/** One page of a list: its items and the token of the next page, if there is one. */
export function pageOf<T>(
  items: readonly T[],
  start: number,
  maxResults: number | undefined,
): { readonly items: readonly T[]; readonly nextPageToken: string | undefined } {
  const end = maxResults === undefined ? items.length : Math.min(items.length, start + maxResults);
  return {
    items: items.slice(start, end),
    nextPageToken: end < items.length ? encodePageToken(end) : undefined,
  };
}
