import { InvalidArgumentError } from '@tributary/messagepipeline';
import { requireInteger, requireNumber } from '@tributary/messagepipeline/kernel';
import { DEFAULT_MAX_PART_LENGTH, safePathPart } from './path-safety.js';

/** `plain`: `2026/12/01/north`; `hive`: `dt=2026-12-01/location=north` (partition pruning). */
export type KeyLayout = 'plain' | 'hive';

/** Options for {@link compileKeyTemplate}. */
export interface KeyTemplateOptions {
  /**
   * Segments separated by `/`, each literal text (`[A-Za-z0-9_.=-]`) and parts: `{yyyy}`, `{MM}`,
   * `{dd}`, `{HH}` (UTC) and `{attributes.NAME}` or `{enrichment.a.b}`, for example
   * `{yyyy}/{MM}/{dd}/{enrichment.device.location}` or
   * `dt={yyyy}-{MM}-{dd}/location={attributes.location}`.
   * @defaultValue `{yyyy}/{MM}/{dd}` (plain) or `dt={yyyy}-{MM}-{dd}` (hive), plus the hour
   * segment (`{HH}` / `hour={HH}`) when `hourly`
   */
  readonly template?: string | undefined;
  /** With `hive`, every segment must read `name=...`. @defaultValue `'plain'` */
  readonly layout?: KeyLayout | undefined;
  /** Adds the hour to the default template. @defaultValue false */
  readonly hourly?: boolean | undefined;
  /**
   * Dot path of a payload field holding the event time (ISO 8601 text, or epoch milliseconds).
   * Used when it lies within `maxClockSkewMs` of the publish time; otherwise the publish time is.
   * @defaultValue undefined (the publish time)
   */
  readonly timestampField?: string | undefined;
  /** @defaultValue 86_400_000 (one day) */
  readonly maxClockSkewMs?: number | undefined;
  /** What a missing part becomes, so data never lands in a parent folder. @defaultValue `_unknown` */
  readonly placeholder?: string | undefined;
  /** Longest part taken from data, after encoding. @defaultValue 128 */
  readonly maxPartLength?: number | undefined;
}

/** The defaults of {@link KeyTemplateOptions}. */
export const DEFAULT_KEY_TEMPLATE_OPTIONS = Object.freeze({
  layout: 'plain',
  maxClockSkewMs: 86_400_000,
  placeholder: '_unknown',
  maxPartLength: DEFAULT_MAX_PART_LENGTH,
});

/** What a key is computed from. */
export interface KeyInput {
  readonly publishTime: Date;
  readonly attributes: Readonly<Record<string, string>>;
  readonly enrichment: Readonly<Record<string, unknown>>;
  /** The parsed JSON payload, or `undefined` when it is not JSON. */
  readonly payload: unknown;
}

/** A compiled key template. */
export interface KeyTemplate {
  /** The batch key (the object-name segments below the prefix), path-safe. */
  key(input: KeyInput): string;
  /** The time the key's date comes from: the bounded payload timestamp, or the publish time. */
  eventTime(input: KeyInput): Date;
}

type Part = (input: KeyInput, time: Date) => string;

const LITERAL = /^[A-Za-z0-9_.=-]*$/;
const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Compiles a key template once, at startup.
 * @throws {@link InvalidArgumentError} naming the option and the problem.
 */
export function compileKeyTemplate(options: KeyTemplateOptions = {}): KeyTemplate {
  const defaults = DEFAULT_KEY_TEMPLATE_OPTIONS;
  const layout: string = options.layout ?? defaults.layout;
  if (layout !== 'plain' && layout !== 'hive') {
    throw InvalidArgumentError.for('layout', "must be 'plain' or 'hive'");
  }
  const hourly = options.hourly ?? false;
  const template =
    options.template ??
    (layout === 'hive'
      ? `dt={yyyy}-{MM}-{dd}${hourly ? '/hour={HH}' : ''}`
      : `{yyyy}/{MM}/{dd}${hourly ? '/{HH}' : ''}`);
  const placeholder = options.placeholder ?? defaults.placeholder;
  if (placeholder === '' || !LITERAL.test(placeholder) || /^\.+$/.test(placeholder)) {
    throw InvalidArgumentError.for('placeholder', 'must be non-empty text of [A-Za-z0-9_.=-]');
  }
  const maxLength = requireInteger(
    'maxPartLength',
    options.maxPartLength ?? defaults.maxPartLength,
    16,
  );
  const skewMs = requireNumber(
    'maxClockSkewMs',
    options.maxClockSkewMs ?? defaults.maxClockSkewMs,
    0,
  );
  const field = options.timestampField?.split('.');
  if (field?.some((name) => name === '') === true) {
    throw InvalidArgumentError.for('timestampField', 'must be a dot path such as ts or meta.time');
  }
  const segments = template.split('/').map((segment) =>
    compileSegment(segment, template, layout, {
      placeholder,
      maxLength,
    }),
  );

  const eventTime = (input: KeyInput): Date => {
    if (field === undefined) return input.publishTime;
    const raw = lookup(input.payload, field);
    const ms =
      typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
    if (!Number.isFinite(ms)) return input.publishTime;
    return Math.abs(ms - input.publishTime.getTime()) <= skewMs ? new Date(ms) : input.publishTime;
  };
  return {
    eventTime,
    key(input) {
      const time = eventTime(input);
      return segments.map((parts) => parts.map((part) => part(input, time)).join('')).join('/');
    },
  };
}

function compileSegment(
  segment: string,
  template: string,
  layout: string,
  safety: { placeholder: string; maxLength: number },
): Part[] {
  const bad = (problem: string): InvalidArgumentError =>
    InvalidArgumentError.for('template', `'${template}': ${problem}`);
  if (segment === '') throw bad('has an empty segment');
  if (layout === 'hive' && !/^[a-z0-9_]+=/.test(segment)) {
    throw bad(`segment '${segment}' is not hive style (name=value)`);
  }
  const parts: Part[] = [];
  let rest = segment;
  while (rest !== '') {
    const open = rest.indexOf('{');
    const literal = open < 0 ? rest : rest.slice(0, open);
    if (literal !== '') {
      if (!LITERAL.test(literal) || /^\.+$/.test(literal)) {
        throw bad(`literal '${literal}' may only use [A-Za-z0-9_.=-] and not be dots only`);
      }
      parts.push(() => literal);
    }
    if (open < 0) break;
    const close = rest.indexOf('}', open);
    if (close < 0) throw bad('has an unclosed {');
    parts.push(compilePart(rest.slice(open + 1, close), bad, safety));
    rest = rest.slice(close + 1);
  }
  return parts;
}

function compilePart(
  name: string,
  bad: (problem: string) => InvalidArgumentError,
  safety: { placeholder: string; maxLength: number },
): Part {
  switch (name) {
    case 'yyyy':
      return (_, time) => pad(time.getUTCFullYear(), 4);
    case 'MM':
      return (_, time) => pad(time.getUTCMonth() + 1);
    case 'dd':
      return (_, time) => pad(time.getUTCDate());
    case 'HH':
      return (_, time) => pad(time.getUTCHours());
  }
  const [source, ...path] = name.split('.');
  if (
    (source !== 'attributes' && source !== 'enrichment') ||
    path.length === 0 ||
    path.includes('')
  ) {
    throw bad(`unknown part {${name}} (use yyyy, MM, dd, HH, attributes.NAME or enrichment.PATH)`);
  }
  const options = { placeholder: safety.placeholder, maxLength: safety.maxLength };
  if (source === 'attributes') {
    const attribute = path.join('.');
    return (input) => safePathPart(input.attributes[attribute] ?? '', options);
  }
  return (input) => {
    const value = lookup(input.enrichment, path);
    const text =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : '';
    return safePathPart(text, options);
  };
}

function lookup(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const name of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, name)) return undefined;
    current = (current as Record<string, unknown>)[name];
  }
  return current;
}
