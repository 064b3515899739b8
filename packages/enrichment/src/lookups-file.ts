import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TributaryError } from '@tributary/messagepipeline';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { parseJsonPath, type PathStep } from './json-path.js';

/** What happens to a message whose key for a lookup is missing. */
export type MissingKeyPolicy = 'pass' | 'dead-letter';
/** What happens to a message whose key the source does not have. */
export type MissPolicy = 'pass' | 'dead-letter' | 'nack';

/** Where a lookup's key comes from. */
export type KeySource =
  | { readonly kind: 'attribute'; readonly attribute: string }
  | { readonly kind: 'payload'; readonly path: string; readonly steps: readonly PathStep[] }
  | { readonly kind: 'lookup'; readonly lookup: string; readonly field: string };

/** One validated lookup. */
export interface Lookup {
  readonly name: string;
  /** The fetcher (declared under `fetchers`) it reads. */
  readonly fetcher: string;
  readonly key: KeySource;
  /** Fields of the result kept under `enrichment.<name>`; all when undefined. */
  readonly fields: readonly string[] | undefined;
  /** Attributes set from result fields: attribute name to field name. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly onMissingKey: MissingKeyPolicy;
  readonly onMiss: MissPolicy;
}

/** Where a fetcher reads its source of truth. */
export type SourceDefinition =
  | {
      readonly kind: 'firestore';
      readonly collection: string;
      readonly documentId: string | undefined;
      readonly fields: readonly string[] | undefined;
    }
  | { readonly kind: 'file'; readonly file: string; readonly keyField: string | undefined };

/** One validated fetcher: a chain LRU, then Redis (when the app has one), then the source. */
export interface FetcherDefinition {
  readonly name: string;
  readonly source: SourceDefinition;
  readonly lru: {
    readonly maxEntries: number | undefined;
    readonly maxBytes: number | undefined;
    readonly ttlMs: number | undefined;
  };
  /** Redis layer settings; `undefined` leaves Redis out of this chain. */
  readonly redis: { readonly namespace: string; readonly ttlMs: number | undefined } | undefined;
  readonly negativeTtlMs: number | undefined;
  readonly staleIfErrorMs: number | undefined;
}

/** A validated lookups file. */
export interface LookupsConfig {
  readonly fetchers: ReadonlyMap<string, FetcherDefinition>;
  /** In order: a lookup may use the result of an earlier one. */
  readonly lookups: readonly Lookup[];
}

/** One problem of a lookups file. */
export interface LookupsProblem {
  readonly file: string;
  /** `lookup 'device'`, `fetcher 'devices'`, or undefined for the file as a whole. */
  readonly where: string | undefined;
  readonly field: string | undefined;
  readonly problem: string;
}

/** A lookups file is unreadable or invalid; `problems` lists every problem found. */
export class LookupsConfigError extends TributaryError {
  readonly problems: readonly LookupsProblem[];

  constructor(problems: readonly LookupsProblem[], cause?: unknown) {
    super(
      'CONFIG_INVALID',
      `invalid lookups (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.map(formatLookupsProblem).join('\n  ')}`,
      { cause },
    );
    this.problems = problems;
  }
}

/** One problem as one line: `file: lookup 'name': field: problem`. */
export function formatLookupsProblem(p: LookupsProblem): string {
  return [p.file, p.where, p.field, p.problem].filter((part) => part !== undefined).join(': ');
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const name = z
  .string({ error: 'required, a string' })
  .regex(NAME, 'must be a letter, then up to 62 letters, digits, "_" or "-"');
const positive = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .positive('must be > 0');
const nonNegative = z.number({ error: 'must be a number' }).min(0, 'must be >= 0');
const fieldList = z
  .array(z.string().min(1, 'must not be empty'), { error: 'must be a list of field names' })
  .min(1, 'must not be empty');

const FetcherSchema = z.strictObject({
  source: z.union(
    [
      z.strictObject({
        firestore: z.strictObject({
          collection: z.string({ error: 'required, a collection path' }).min(1),
          documentId: z.string().includes('{key}', { message: "must contain '{key}'" }).optional(),
          fields: fieldList.optional(),
        }),
      }),
      z.strictObject({
        file: z.string({ error: 'required, a file path' }).min(1),
        keyField: z.string().min(1).optional(),
      }),
    ],
    { error: 'must be { firestore: { collection, ... } } or { file, keyField }' },
  ),
  lru: z
    .strictObject({
      maxEntries: positive.optional(),
      maxBytes: positive.optional(),
      ttlMs: positive.optional(),
    })
    .optional(),
  redis: z
    .strictObject({
      namespace: z
        .string({ error: 'required, a key prefix' })
        .regex(/^\S{1,128}$/, 'must be 1-128 characters without spaces'),
      ttlMs: positive.optional(),
    })
    .optional(),
  negativeTtlMs: nonNegative.optional(),
  staleIfErrorMs: nonNegative.optional(),
});

const KeySchema = z.union(
  [
    z.strictObject({ attribute: z.string().min(1) }),
    z.strictObject({ payload: z.string().min(1) }),
    z.strictObject({ lookup: z.string().min(1), field: z.string().min(1) }),
  ],
  { error: 'must be { attribute }, { payload: <JSON path> } or { lookup, field }' },
);

const LookupSchema = z.strictObject({
  name,
  fetcher: z.string({ error: 'required, the name of a fetcher' }),
  key: KeySchema,
  fields: fieldList.optional(),
  attributes: z
    .record(z.string().min(1), z.string().min(1), {
      error: 'must map attribute names to result fields',
    })
    .optional(),
  onMissingKey: z
    .enum(['pass', 'dead-letter'], { error: "must be 'pass' or 'dead-letter'" })
    .default('pass'),
  onMiss: z
    .enum(['pass', 'dead-letter', 'nack'], { error: "must be 'pass', 'dead-letter' or 'nack'" })
    .default('pass'),
});

const FileSchema = z.strictObject({
  fetchers: z.record(z.string(), z.unknown(), {
    error: 'required, a mapping of fetcher names to fetchers',
  }),
  lookups: z
    .array(z.unknown(), { error: 'required, a list of lookups' })
    .min(1, 'must list at least one lookup'),
});

function issueProblems(
  issues: readonly z.core.$ZodIssue[],
  file: string,
  where: string | undefined,
): LookupsProblem[] {
  return issues.map((issue) => ({
    file,
    where,
    field: issue.path.length === 0 ? undefined : issue.path.map(String).join('.'),
    problem:
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
        : issue.message,
  }));
}

/**
 * Validates the object form of a lookups file: every fetcher, every lookup, key sources (JSON
 * paths, and lookup keys that name an earlier lookup), and fetcher references. Pure.
 * @param file - names the input in error messages (usually the path).
 * @throws {@link LookupsConfigError} listing every problem.
 */
export function validateLookups(input: unknown, file = '<lookups>'): LookupsConfig {
  const parsedFile = FileSchema.safeParse(input);
  if (!parsedFile.success)
    throw new LookupsConfigError(issueProblems(parsedFile.error.issues, file, undefined));
  const problems: LookupsProblem[] = [];
  const fetchers = new Map<string, FetcherDefinition>();
  for (const [fetcherName, raw] of Object.entries(parsedFile.data.fetchers)) {
    const where = `fetcher '${fetcherName}'`;
    if (!NAME.test(fetcherName))
      problems.push({
        file,
        where,
        field: undefined,
        problem: 'the name must be a letter, then letters, digits, "_" or "-"',
      });
    const parsed = FetcherSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...issueProblems(parsed.error.issues, file, where));
      continue;
    }
    const { source, lru, redis } = parsed.data;
    fetchers.set(fetcherName, {
      name: fetcherName,
      source:
        'firestore' in source
          ? {
              kind: 'firestore',
              collection: source.firestore.collection,
              documentId: source.firestore.documentId,
              fields: source.firestore.fields,
            }
          : { kind: 'file', file: source.file, keyField: source.keyField },
      lru: { maxEntries: lru?.maxEntries, maxBytes: lru?.maxBytes, ttlMs: lru?.ttlMs },
      redis: redis === undefined ? undefined : { namespace: redis.namespace, ttlMs: redis.ttlMs },
      negativeTtlMs: parsed.data.negativeTtlMs,
      staleIfErrorMs: parsed.data.staleIfErrorMs,
    });
  }
  const lookups: Lookup[] = [];
  const seen = new Set<string>();
  for (const [index, raw] of parsedFile.data.lookups.entries()) {
    const rawName =
      typeof raw === 'object' && raw !== null
        ? (raw as Record<string, unknown>)['name']
        : undefined;
    const where =
      typeof rawName === 'string' && rawName !== '' ? `lookup '${rawName}'` : `lookups[${index}]`;
    const found: LookupsProblem[] = [];
    const report = (field: string | undefined, problem: string): void => {
      found.push({ file, where, field, problem });
    };
    const parsed = LookupSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...issueProblems(parsed.error.issues, file, where));
      if (typeof rawName === 'string') seen.add(rawName);
      continue;
    }
    const lookup = parsed.data;
    if (seen.has(lookup.name)) report('name', 'duplicate lookup name');
    if (!fetchers.has(lookup.fetcher) && !(lookup.fetcher in parsedFile.data.fetchers)) {
      report('fetcher', `no fetcher '${lookup.fetcher}' under fetchers`);
    }
    let key: KeySource | undefined;
    if ('attribute' in lookup.key) key = { kind: 'attribute', attribute: lookup.key.attribute };
    else if ('payload' in lookup.key) {
      const path = parseJsonPath(lookup.key.payload);
      if (path.ok) key = { kind: 'payload', path: lookup.key.payload, steps: path.steps };
      else report('key.payload', path.problem);
    } else {
      if (!seen.has(lookup.key.lookup))
        report('key.lookup', `'${lookup.key.lookup}' is not an earlier lookup`);
      key = { kind: 'lookup', lookup: lookup.key.lookup, field: lookup.key.field };
    }
    seen.add(lookup.name);
    problems.push(...found);
    if (found.length === 0 && key !== undefined) {
      lookups.push({
        name: lookup.name,
        fetcher: lookup.fetcher,
        key,
        fields: lookup.fields,
        attributes: lookup.attributes ?? {},
        onMissingKey: lookup.onMissingKey,
        onMiss: lookup.onMiss,
      });
    }
  }
  if (problems.length > 0) throw new LookupsConfigError(problems);
  return { fetchers, lookups };
}

/**
 * Parses and validates the YAML (or JSON, a subset of YAML) text of a lookups file. Pure.
 * @throws {@link LookupsConfigError} listing every problem (syntax errors with line and column).
 */
export function parseLookups(text: string, file = '<lookups>'): LookupsConfig {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new LookupsConfigError(
      document.errors.map((error) => ({
        file,
        where: undefined,
        field: undefined,
        problem: `YAML: ${error.message.split('\n')[0] ?? error.code}`,
      })),
    );
  }
  return validateLookups(document.toJS(), file);
}

/**
 * Reads and validates a lookups file; source files are resolved relative to it.
 * @throws {@link LookupsConfigError} naming the file when it cannot be read or is invalid.
 */
export async function loadLookupsFile(path: string): Promise<LookupsConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new LookupsConfigError(
      [
        {
          file: path,
          where: undefined,
          field: undefined,
          problem: `cannot read the file (${reason})`,
        },
      ],
      error,
    );
  }
  const config = parseLookups(text, path);
  // A source file is named relative to the lookups file.
  const fetchers = new Map<string, FetcherDefinition>();
  for (const [fetcherName, definition] of config.fetchers) {
    const { source } = definition;
    fetchers.set(
      fetcherName,
      source.kind === 'file'
        ? { ...definition, source: { ...source, file: resolve(dirname(path), source.file) } }
        : definition,
    );
  }
  return { fetchers, lookups: config.lookups };
}
