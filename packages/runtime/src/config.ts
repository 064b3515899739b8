import { closeSync, openSync, statSync } from 'node:fs';
import { TributaryError } from '@tributary/messagepipeline';
import {
  projectIdProblem,
  pubsubNameProblem,
  type PubSubCollection,
} from '@tributary/messagepipeline/pubsub-names';
import * as z from 'zod';

/** The environment as the process sees it: names to (possibly unset) string values. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The schema an app describes its environment with: one field per variable. */
export type ConfigSchema = z.ZodObject;

/** One thing wrong with one variable. */
export interface ConfigProblem {
  /** The variable name, or `(environment)` for a check across several variables. */
  readonly variable: string;
  /** What is wrong, without the value (it may be a secret). */
  readonly problem: string;
}

/** Thrown by {@link loadConfig}: code `CONFIG_INVALID`, one `NAME: problem` line per problem. */
export class ConfigInvalidError extends TributaryError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.problem}`);
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super('CONFIG_INVALID', `invalid configuration (${count}):\n${lines.join('\n')}`);
    this.problems = problems;
  }
}

/** What the runtime records about a config field beyond its zod type. */
interface FieldMeta {
  /** Shown in the variables table, for example `duration`. */
  readonly format?: string | undefined;
  /** Redacted by {@link redactConfig} and in the variables table. */
  readonly secret?: boolean | undefined;
}

const fieldMeta = z.registry<FieldMeta>();

function withMeta<T extends z.ZodType>(schema: T, meta: FieldMeta): T {
  const existing = fieldMeta.get(schema);
  if (existing !== undefined) fieldMeta.remove(schema);
  fieldMeta.add(schema, { ...existing, ...meta });
  return schema;
}

/**
 * Parses the environment with the app's schema, once, at startup. Only the schema's variables
 * are read; an empty variable counts as unset (so `FOO=` in a compose file falls back to the
 * default). Throws a {@link ConfigInvalidError} listing every bad variable and why.
 *
 * @param env - the environment; the one place in the runtime where `process.env` is the default.
 */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  env: Environment = process.env,
): z.output<S> {
  const input: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = env[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigInvalidError(
    parsed.error.issues.map((issue) => describeIssue(schema, issue, input)),
  );
}

function describeIssue(
  schema: ConfigSchema,
  issue: z.core.$ZodIssue,
  input: Record<string, string>,
): ConfigProblem {
  const [first, ...rest] = issue.path;
  if (first === undefined) return { variable: '(environment)', problem: issue.message };
  const variable = [first, ...rest].map(String).join('.');
  const unset = rest.length === 0 && typeof first === 'string' && !(first in input);
  if (unset && issue.code === 'invalid_type') return { variable, problem: 'required but not set' };
  // Numeric and name fields quote what they got; a secret's value never reaches the message.
  const value = typeof first === 'string' ? input[first] : undefined;
  const field: z.core.$ZodType | undefined =
    typeof first === 'string'
      ? (schema.shape as Record<string, z.core.$ZodType>)[first]
      : undefined;
  const problem =
    value !== undefined && field !== undefined && describeField(field).secret
      ? issue.message.replaceAll(quoted(value), `'${REDACTED}'`).replaceAll(value, REDACTED)
      : issue.message;
  return { variable, problem };
}

/**
 * Returns the config when the environment is valid; otherwise reports every problem with
 * {@link exitWithConfigProblems} (one ERROR line per problem and a CRITICAL summary on `stderr`,
 * exit {@link CONFIG_EXIT_CODE}). Use it at the top of an app's `main.ts`, before a logger exists.
 */
export function loadConfigOrExit<S extends ConfigSchema>(
  schema: S,
  options: LoadConfigOrExitOptions = {},
): z.output<S> {
  try {
    return loadConfig(schema, options.env ?? process.env);
  } catch (error) {
    if (!(error instanceof ConfigInvalidError)) throw error;
    return exitWithConfigProblems(error.problems, options);
  }
}

/**
 * Reports configuration problems the way Cloud Logging reads them and ends the process: one JSON
 * line per problem on `stderr` (`severity: ERROR`, `variable`, `problem`), then one `CRITICAL`
 * line naming every variable, then exit {@link CONFIG_EXIT_CODE}. For problems an app finds
 * beyond its schema too (a routes file, say). No stack trace: a configuration mistake is not a
 * crash.
 * @throws {@link ConfigInvalidError} only when a test's `exit` returns.
 */
export function exitWithConfigProblems(
  problems: readonly ConfigProblem[],
  options: ConfigExitOptions = {},
): never {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const lines = problems.map((p) =>
    JSON.stringify({
      severity: 'ERROR',
      message: `invalid configuration: ${p.variable}: ${p.problem}`,
      code: 'CONFIG_INVALID',
      variable: p.variable,
      problem: p.problem,
    }),
  );
  const variables = [...new Set(problems.map((p) => p.variable))];
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  lines.push(
    JSON.stringify({
      severity: 'CRITICAL',
      message: `invalid configuration (${count}: ${variables.join(', ')}); exiting with ${CONFIG_EXIT_CODE}`,
      code: 'CONFIG_INVALID',
      variables,
    }),
  );
  write(`${lines.join('\n')}\n`);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  exit(CONFIG_EXIT_CODE);
  throw new ConfigInvalidError(problems);
}

/** Where {@link exitWithConfigProblems} writes and how it exits; the defaults are the real process. */
export interface ConfigExitOptions {
  /** Where the lines go. @defaultValue writes to `process.stderr` */
  readonly write?: ((text: string) => void) | undefined;
  /** @defaultValue `process.exit` */
  readonly exit?: ((code: number) => void) | undefined;
}

/** Options for {@link loadConfigOrExit}; the defaults are the real process. */
export interface LoadConfigOrExitOptions extends ConfigExitOptions {
  /** @defaultValue `process.env` */
  readonly env?: Environment | undefined;
}

/** Exit code for an invalid environment (`EX_CONFIG` from sysexits.h). */
export const CONFIG_EXIT_CODE = 78;

/** pino's levels plus `silent`. */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses `1500`, `1500ms`, `1.5s`, `2m` or `1h` to milliseconds; `undefined` when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (match === null) return undefined;
  const factor = DURATION_UNITS_MS[match[2] ?? 'ms'] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

const BYTES = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|k|m|g)?$/i;
const BYTE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  k: 1_024,
  kib: 1_024,
  m: 1_048_576,
  mib: 1_048_576,
  g: 1_073_741_824,
  gib: 1_073_741_824,
};

/** Parses `1048576`, `512KiB`, `5MiB`, `10MB` (decimal), `1g` (binary) to bytes; `undefined` when malformed. */
export function parseBytes(text: string): number | undefined {
  const match = BYTES.exec(text.trim());
  if (match === null) return undefined;
  const factor = BYTE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

/** Parses a whole number (`42`, `-1`); `undefined` when malformed or beyond a safe integer. */
function parseInteger(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A value as error messages show it: quoted, and cut short when long. */
function quoted(text: string): string {
  return `'${text.length > 40 ? `${text.slice(0, 40)}…` : text}'`;
}

/** A string field checked by a rule that says what is wrong (`undefined` when nothing is). */
function checkedString(expected: string, problemOf: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${expected}: ${problem}` });
  });
}

function pubsubNameField(collection: PubSubCollection, kind: string) {
  return withMeta(
    checkedString(`expected a Pub/Sub ${kind} id or full name`, (value) =>
      pubsubNameProblem(value, collection),
    ),
    { format: `Pub/Sub ${kind} id or projects/<project>/${collection}/<id>` },
  );
}

/** What keeps a file from being read: missing, not a regular file, unreadable, or empty. */
function readableFileProblem(path: string): string | undefined {
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) return `'${path}' is a directory, not a file`;
    if (!stats.isFile()) return `'${path}' is not a regular file`;
    closeSync(openSync(path, 'r'));
    if (stats.size === 0) return `'${path}' is empty`;
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `'${path}' does not exist`;
    return `'${path}' cannot be read (${code ?? String(error)})`;
  }
}

/** Bounds for numeric fields. */
export interface RangeOptions {
  /** Inclusive lower bound. @defaultValue 0 */
  readonly min?: number | undefined;
  /** Inclusive upper bound. @defaultValue `Number.MAX_SAFE_INTEGER` */
  readonly max?: number | undefined;
}

function unitField(
  parse: (text: string) => number | undefined,
  expected: string,
  range: RangeOptions,
): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  return z.string().transform((text, ctx) => {
    const value = parse(text);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${quoted(text)}` });
      return z.NEVER;
    }
    if (value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}, got ${value}` });
      return z.NEVER;
    }
    return value;
  });
}

/**
 * Reusable zod fields for the variables most apps share. Each call returns a fresh schema, so an
 * app can chain `.describe()` or `.optional()` without affecting other apps.
 */
export const configField = {
  /** `PORT`: the HTTP port (Cloud Run sets it). 0 picks a free port (tests). Default 8080. */
  port: (defaultPort = 8080) =>
    withMeta(
      unitField(parseInteger, 'an integer port', { min: 0, max: 65535 })
        .default(defaultPort)
        .describe('HTTP port for /healthz, /readyz and /metrics (Cloud Run sets it)'),
      { format: 'integer 0-65535' },
    ),

  /** `LOG_LEVEL`: one of {@link logLevels}. Default `info`. */
  logLevel: (defaultLevel: LogLevel = 'info') =>
    z.enum(logLevels).default(defaultLevel).describe('Minimum log level'),

  /** `LOG_PRETTY`: human-readable logs (needs pino-pretty, a devDependency). Default false. */
  logPretty: () =>
    configField.boolean(false).describe('Human-readable logs instead of JSON (local runs)'),

  /** `SHUTDOWN_TIMEOUT_MS`: drain deadline after SIGTERM. Default 8000 (Cloud Run gives 10 s). */
  shutdownTimeoutMs: (defaultMs = 8_000) =>
    configField
      .durationMs(defaultMs, { min: 0 })
      .describe('Drain deadline after SIGTERM; exit 1 if work is still unsettled then'),

  /** `GOOGLE_CLOUD_PROJECT`: a project id (required unless the app chains `.optional()`). */
  googleCloudProject: () =>
    withMeta(
      checkedString('expected a Google Cloud project id', projectIdProblem).describe(
        'Google Cloud project id',
      ),
      { format: 'project id' },
    ),

  /** A boolean from `true/false`, `1/0`, `yes/no`, `on/off` (zod's `stringbool`). */
  boolean: (defaultValue: boolean) =>
    withMeta(z.stringbool().default(defaultValue), { format: 'boolean' }),

  /** A duration in milliseconds: `1500`, `1500ms`, `1.5s`, `2m`, `1h`. */
  durationMs: (defaultMs: number, range: RangeOptions = {}) =>
    withMeta(
      unitField(parseDurationMs, 'a duration like 500, 500ms, 10s, 5m or 1h', range).default(
        defaultMs,
      ),
      {
        format: 'duration (ms; or 500ms, 10s, 5m, 1h)',
      },
    ),

  /** A byte size: `1048576`, `512KiB`, `5MiB`, `10MB`. */
  bytes: (defaultBytes: number, range: RangeOptions = {}) =>
    withMeta(
      unitField(parseBytes, 'a size like 1048576, 512KiB, 5MiB or 10MB', range).default(
        defaultBytes,
      ),
      {
        format: 'bytes (or 512KiB, 5MiB, 10MB)',
      },
    ),

  /** A whole number in a range; a bad value is reported with what was given. */
  integer: (defaultValue: number, range: RangeOptions = {}) =>
    withMeta(unitField(parseInteger, 'an integer', range).default(defaultValue), {
      format: 'integer',
    }),

  /** A Pub/Sub topic: an id (`raw-events`) or `projects/<project>/topics/<id>`, checked by Google's rules. */
  pubsubTopic: () => pubsubNameField('topics', 'topic'),

  /** A Pub/Sub subscription: an id or `projects/<project>/subscriptions/<id>`, checked by Google's rules. */
  pubsubSubscription: () => pubsubNameField('subscriptions', 'subscription'),

  /**
   * The path of a file the app reads at startup (a TLS certificate, say): checked now, so a
   * missing file, a directory, an unreadable or an empty file fails the config naming the variable.
   */
  readableFile: () =>
    withMeta(checkedString('expected a readable file', readableFileProblem), {
      format: 'path of a readable file',
    }),
} as const;

/**
 * Marks a field as secret: {@link redactConfig} replaces its value and the variables table shows
 * no default. Returns the same schema.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return withMeta(schema, { secret: true });
}

/**
 * The variables every app reads: `PORT`, `LOG_LEVEL`, `LOG_PRETTY`, `SHUTDOWN_TIMEOUT_MS`. Spread
 * it into the app's schema: `z.object({ ...standardConfigShape(), MQTT_URL: z.url() })`.
 */
export function standardConfigShape() {
  return {
    PORT: configField.port(),
    LOG_LEVEL: configField.logLevel(),
    LOG_PRETTY: configField.logPretty(),
    SHUTDOWN_TIMEOUT_MS: configField.shutdownTimeoutMs(),
  };
}

/**
 * The variables of an app that publishes to Pub/Sub, for the client's batching:
 * `PUBSUB_BATCH_MAX_MESSAGES` (default 100, at most 1,000) and `PUBSUB_BATCH_MAX_MS` (default
 * 10). Spread it like {@link standardConfigShape}; they map to the producer's
 * `batching: { maxMessages, maxMilliseconds }`.
 */
export function publishBatchingConfigShape() {
  return {
    PUBSUB_BATCH_MAX_MESSAGES: configField
      .integer(100, { min: 1, max: 1000 })
      .describe('Pub/Sub client batch size'),
    PUBSUB_BATCH_MAX_MS: configField
      .durationMs(10, { min: 0 })
      .describe('Longest a publish waits for its Pub/Sub batch to fill'),
  };
}

/** The value {@link redactConfig} puts in place of a secret. */
export const REDACTED = '[REDACTED]';

/** A copy of `config` with every field marked {@link secret} replaced by `[REDACTED]`; safe to log. */
export function redactConfig<T extends Record<string, unknown>>(
  schema: ConfigSchema,
  config: T,
): Record<keyof T, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const [name, field] of fieldsOf(schema)) {
    if (describeField(field).secret && copy[name] !== undefined) copy[name] = REDACTED;
  }
  return copy as Record<keyof T, unknown>;
}

/** What the variables table shows about one field. */
export interface ConfigVariable {
  readonly name: string;
  readonly format: string;
  /** The default, or `undefined` when the variable has none. */
  readonly defaultValue: unknown;
  readonly required: boolean;
  readonly secret: boolean;
  readonly description: string | undefined;
}

interface FieldFacts {
  format: string | undefined;
  description: string | undefined;
  secret: boolean;
  hasDefault: boolean;
  defaultValue: unknown;
  optional: boolean;
}

/** Walks the wrappers (default, optional, pipe...) of a field, collecting what they say. */
function describeField(field: z.core.$ZodType): FieldFacts {
  const facts: FieldFacts = {
    format: undefined,
    description: undefined,
    secret: false,
    hasDefault: false,
    defaultValue: undefined,
    optional: false,
  };
  let current: z.core.$ZodType | undefined = field;
  for (let depth = 0; current !== undefined && depth < 16; depth++) {
    const meta = fieldMeta.get(current);
    facts.format ??= meta?.format;
    if (meta?.secret === true) facts.secret = true;
    facts.description ??= z.globalRegistry.get(current)?.description;
    const def = current._zod.def as z.core.$ZodTypeDef & {
      innerType?: z.core.$ZodType;
      in?: z.core.$ZodType;
      defaultValue?: unknown;
    };
    if ((def.type === 'default' || def.type === 'prefault') && !facts.hasDefault) {
      facts.hasDefault = true;
      facts.defaultValue = def.defaultValue;
    }
    if (def.type === 'optional') facts.optional = true;
    current = def.type === 'pipe' ? def.in : def.innerType;
  }
  return facts;
}

function inferFormat(field: z.core.$ZodType): string {
  let schema: Record<string, unknown>;
  try {
    schema = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' });
  } catch {
    return 'string';
  }
  const values = schema['enum'];
  if (Array.isArray(values)) return values.map(String).join(' | ');
  const format = schema['format'];
  if (typeof format === 'string') return format === 'uri' ? 'url' : format;
  const type = schema['type'];
  return typeof type === 'string' ? type : 'string';
}

function fieldsOf(schema: ConfigSchema): [string, z.core.$ZodType][] {
  const shape: Readonly<Record<string, z.core.$ZodType>> = schema.shape;
  return Object.entries(shape);
}

/** The variables of a schema, in declaration order, with formats, defaults and descriptions. */
export function describeConfig(schema: ConfigSchema): readonly ConfigVariable[] {
  return fieldsOf(schema).map(([name, field]) => {
    const facts = describeField(field);
    return {
      name,
      format: facts.format ?? inferFormat(field),
      defaultValue: facts.hasDefault && !facts.secret ? facts.defaultValue : undefined,
      required: !facts.hasDefault && !facts.optional,
      secret: facts.secret,
      description: facts.description,
    };
  });
}

/**
 * Renders a schema's variables as a Markdown table (variable, format, default, description) for
 * an app's README.
 */
export function configMarkdownTable(schema: ConfigSchema): string {
  const escape = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = describeConfig(schema).map((v) => {
    const fallback = v.required ? '**required**' : v.secret ? '(secret)' : '(unset)';
    const shown =
      v.defaultValue === undefined ? fallback : `\`${escape(JSON.stringify(v.defaultValue))}\``;
    const description = `${v.description === undefined ? '' : escape(v.description)}${v.secret ? ' (secret)' : ''}`;
    return `| \`${v.name}\` | ${escape(v.format)} | ${shown} | ${description.trim()} |`;
  });
  return ['| Variable | Format | Default | Description |', '|---|---|---|---|', ...rows].join('\n');
}
