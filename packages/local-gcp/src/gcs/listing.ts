import { badRequest } from './errors.js';
import { compileGlob } from './glob.js';

/** The list parameters GCS accepts for `objects.list`. */
export interface ListQuery {
  readonly prefix: string;
  readonly delimiter: string | undefined;
  readonly maxResults: number;
  readonly pageToken: string | undefined;
  readonly startOffset: string | undefined;
  readonly endOffset: string | undefined;
  readonly includeTrailingDelimiter: boolean;
  readonly matchGlob: string | undefined;
}

/** One page of names: object names to return as items, and `prefixes[]`. */
export interface ListPage {
  readonly names: string[];
  readonly prefixes: string[];
  readonly nextPageToken: string | undefined;
}

/** Largest page GCS returns. */
export const MAX_PAGE_SIZE = 1000;

/** Reads `objects.list` (or `buckets.list`) parameters from a query string. */
export function readListQuery(query: URLSearchParams): ListQuery {
  const max = query.get('maxResults');
  const maxResults = max === null ? MAX_PAGE_SIZE : Number(max);
  if (!Number.isInteger(maxResults) || maxResults < 0) {
    throw badRequest(`Invalid value for maxResults: ${String(max)}`);
  }
  const delimiter = query.get('delimiter');
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: delimiter === null || delimiter === '' ? undefined : delimiter,
    maxResults: Math.min(maxResults === 0 ? MAX_PAGE_SIZE : maxResults, MAX_PAGE_SIZE),
    pageToken: query.get('pageToken') ?? undefined,
    startOffset: query.get('startOffset') ?? undefined,
    endOffset: query.get('endOffset') ?? undefined,
    includeTrailingDelimiter: query.get('includeTrailingDelimiter') === 'true',
    matchGlob: query.get('matchGlob') ?? undefined,
  };
}

interface PageToken {
  /** Resume with the first name greater than this. */
  readonly a: string;
  /** ...that does not start with this prefix (the last entry was a `prefixes[]` entry). */
  readonly p?: string | undefined;
}

/**
 * Pages through `sorted` (names in code-unit order) as GCS does: items and prefixes both count
 * toward `maxResults`; the token is opaque (base64url JSON).
 */
export function listNames(sorted: readonly string[], query: ListQuery): ListPage {
  const token = decodeToken(query.pageToken);
  const glob = query.matchGlob === undefined ? undefined : compileGlob(query.matchGlob);
  let from = query.prefix;
  if (query.startOffset !== undefined && query.startOffset > from) from = query.startOffset;
  let index = lowerBound(sorted, from);
  if (token !== undefined) index = Math.max(index, upperBound(sorted, token.a));
  const skipPrefix = token?.p;

  const names: string[] = [];
  const prefixes: string[] = [];
  let count = 0;
  let last: PageToken | undefined;
  for (; index < sorted.length; index++) {
    const name = sorted[index] as string;
    if (!name.startsWith(query.prefix)) break;
    if (query.endOffset !== undefined && name >= query.endOffset) break;
    if (skipPrefix !== undefined && name.startsWith(skipPrefix)) continue;
    if (glob !== undefined && !glob.test(name)) continue;
    const cut =
      query.delimiter === undefined ? -1 : name.indexOf(query.delimiter, query.prefix.length);
    if (cut >= 0 && query.delimiter !== undefined) {
      const prefix = name.slice(0, cut + query.delimiter.length);
      if (count >= query.maxResults) break;
      prefixes.push(prefix);
      count++;
      // Names under this prefix sort together; an object named exactly like it comes first.
      if (query.includeTrailingDelimiter && name === prefix) names.push(name);
      while (index + 1 < sorted.length && (sorted[index + 1] as string).startsWith(prefix)) {
        index++;
      }
      last = { a: sorted[index] as string, p: prefix };
      continue;
    }
    if (count >= query.maxResults) break;
    names.push(name);
    count++;
    last = { a: name };
  }
  const more = index < sorted.length && hasMore(sorted, index, query);
  return {
    names,
    prefixes,
    nextPageToken: more && last !== undefined ? encodeToken(last) : undefined,
  };
}

function hasMore(sorted: readonly string[], index: number, query: ListQuery): boolean {
  const name = sorted[index] as string;
  return name.startsWith(query.prefix) && (query.endOffset === undefined || name < query.endOffset);
}

function encodeToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(token: string | undefined): PageToken | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'a' in parsed) {
      const { a, p } = parsed as { a: unknown; p?: unknown };
      if (typeof a === 'string' && (p === undefined || typeof p === 'string')) return { a, p };
    }
  } catch {
    // fall through
  }
  throw badRequest(`Invalid pageToken: ${token}`);
}

/** First index whose name is `>= key`. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose name is `> key`. */
function upperBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
