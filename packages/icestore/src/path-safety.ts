import { createHash } from 'node:crypto';

/** Default of {@link PathPartOptions.maxLength}. */
export const DEFAULT_MAX_PART_LENGTH = 128;

/** Options for {@link safePathPart}. */
export interface PathPartOptions {
  /** Longest part, in characters after encoding. @defaultValue 128 */
  readonly maxLength?: number | undefined;
  /** What an empty value becomes. @defaultValue `_unknown` */
  readonly placeholder?: string | undefined;
}

const SAFE = /^[A-Za-z0-9_.-]$/;
const encoder = new TextEncoder();

/**
 * Makes one object-name segment from a value taken from data: every character outside
 * `[A-Za-z0-9_.-]` (so `/`, `%`, `=`, spaces, control characters, non-ASCII) is percent-encoded
 * as UTF-8; a part made only of dots (`.`, `..`) has its dots encoded; a part longer than
 * `maxLength` is cut and given a short hash of the whole value, so distinct long values stay
 * distinct. The result never contains `/` and is never `.` or `..`.
 */
export function safePathPart(value: string, options: PathPartOptions = {}): string {
  const maxLength = options.maxLength ?? DEFAULT_MAX_PART_LENGTH;
  if (value === '') return options.placeholder ?? '_unknown';
  let out = '';
  for (const char of value) {
    if (SAFE.test(char)) out += char;
    else
      for (const byte of encoder.encode(char))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (/^\.+$/.test(out)) out = out.replaceAll('.', '%2E');
  if (out.length <= maxLength) return out;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  let cut = out.slice(0, Math.max(1, maxLength - 9));
  // Never end inside a %XX escape.
  const escape = cut.lastIndexOf('%');
  if (escape >= 0 && escape > cut.length - 3) cut = cut.slice(0, escape);
  return `${cut}~${hash}`;
}

/**
 * Joins a prefix and segments into an object name, refusing any segment that could leave the
 * prefix (`.`, `..`, empty, or containing `/`).
 * @throws RangeError naming the bad segment (a bug: parts come from {@link safePathPart}).
 */
export function joinObjectName(prefix: string, segments: readonly string[]): string {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('/')) {
      throw new RangeError(`unsafe object name segment '${segment}'`);
    }
  }
  return prefix === '' ? segments.join('/') : `${prefix}/${segments.join('/')}`;
}
