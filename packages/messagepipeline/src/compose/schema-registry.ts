import type { DeadLetterSink } from '../dead-letter.js';
import { InvalidArgumentError, TributaryError, toTributaryError } from '../errors.js';
import type { Message } from '../message.js';
import type { Streamable } from './channel.js';
import { requireInteger } from '../kernel/validate.js';

/** One problem a validator found (the Standard Schema issue shape). */
export interface ValidationIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** What a validator returns (the Standard Schema result shape). */
export type ValidationResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly ValidationIssue[] };

/**
 * Any validator implementing the Standard Schema interface (zod 4, valibot, ArkType, ...): the
 * structural subset we use, so the core package depends on no validation library.
 */
export interface StandardValidator<Output = unknown> {
  readonly '~standard': {
    readonly validate: (
      value: unknown,
    ) => ValidationResult<Output> | Promise<ValidationResult<Output>>;
  };
}

/** A message whose payload matched the registered validator of its (schema, version). */
export interface SchemaMatch<S extends string = string, V extends string = string, O = unknown> {
  /** The original message; the consumer of the match settles it. */
  readonly message: Message;
  readonly schema: S;
  readonly version: V;
  /** The validator's output for the message's JSON payload. */
  readonly value: O;
}

/** The outcome of {@link SchemaRegistry.validate}. */
export type SchemaValidation<M> =
  { readonly ok: true; readonly match: M } | { readonly ok: false; readonly error: TributaryError };

/** Options for {@link createSchemaRegistry}. */
export interface SchemaRegistryOptions {
  /** The attribute naming a message's schema. @defaultValue 'schema' */
  readonly schemaAttribute?: string | undefined;
  /** The attribute naming a message's schema version. @defaultValue 'schemaVersion' */
  readonly versionAttribute?: string | undefined;
  /** Issues listed in an `INVALID_PAYLOAD` error message at most. @defaultValue 5 */
  readonly maxIssuesReported?: number | undefined;
}

/**
 * Known (schema, version) pairs and their validators. `M` is the union of {@link SchemaMatch}
 * types registered so far, so a `switch` on `match.schema` / `match.version` narrows `value`.
 */
export interface SchemaRegistry<M extends SchemaMatch = never> {
  /**
   * Registers the validator of one (schema, version) pair and returns the registry with the
   * pair added to its type. Versions are compared as attribute strings.
   * @throws {@link InvalidArgumentError} when the pair is registered already
   */
  register<const S extends string, const V extends string, O>(
    schema: S,
    version: V,
    validator: StandardValidator<O>,
  ): SchemaRegistry<M | SchemaMatch<S, V, O>>;
  /** True when the pair is registered. */
  has(schema: string, version: string): boolean;
  /**
   * Checks a message: its schema attribute, its version attribute, that the data is JSON, and
   * the registered validator. Never throws for a bad message; returns a precise error instead:
   * `SCHEMA_MISMATCH` for a missing attribute or an unknown pair, `INVALID_PAYLOAD` for data that
   * is not JSON or that the validator rejects (both permanent).
   */
  validate(message: Message): Promise<SchemaValidation<M>>;
}

/** Creates an empty {@link SchemaRegistry}; chain `register` calls to fill it. */
export function createSchemaRegistry(options: SchemaRegistryOptions = {}): SchemaRegistry {
  return new Registry(options);
}

class Registry<M extends SchemaMatch = never> implements SchemaRegistry<M> {
  readonly #schemaAttribute: string;
  readonly #versionAttribute: string;
  readonly #maxIssues: number;
  readonly #validators = new Map<string, Map<string, StandardValidator>>();

  constructor(options: SchemaRegistryOptions) {
    this.#schemaAttribute = options.schemaAttribute ?? 'schema';
    this.#versionAttribute = options.versionAttribute ?? 'schemaVersion';
    this.#maxIssues = options.maxIssuesReported ?? 5;
    if (this.#schemaAttribute === '') throw InvalidArgumentError.for('schemaAttribute', 'is empty');
    if (this.#versionAttribute === '') {
      throw InvalidArgumentError.for('versionAttribute', 'is empty');
    }
    requireInteger('maxIssuesReported', this.#maxIssues);
  }

  register<const S extends string, const V extends string, O>(
    schema: S,
    version: V,
    validator: StandardValidator<O>,
  ): SchemaRegistry<M | SchemaMatch<S, V, O>> {
    if (schema === '') throw InvalidArgumentError.for('schema', 'is empty');
    if (version === '') throw InvalidArgumentError.for('version', 'is empty');
    let versions = this.#validators.get(schema);
    if (versions === undefined) {
      versions = new Map();
      this.#validators.set(schema, versions);
    }
    if (versions.has(version)) {
      throw InvalidArgumentError.for(
        'version',
        `'${version}' of schema '${schema}' is registered already`,
      );
    }
    versions.set(version, validator);
    // Only the type changes: the registry now also produces matches of this pair.
    return this;
  }

  has(schema: string, version: string): boolean {
    return this.#validators.get(schema)?.has(version) === true;
  }

  async validate(message: Message): Promise<SchemaValidation<M>> {
    const schema = message.attributes[this.#schemaAttribute];
    const version = message.attributes[this.#versionAttribute];
    if (schema === undefined) {
      return mismatch(`message ${message.id} has no '${this.#schemaAttribute}' attribute`);
    }
    if (version === undefined) {
      return mismatch(
        `message ${message.id} (schema '${schema}') has no '${this.#versionAttribute}' attribute`,
      );
    }
    const versions = this.#validators.get(schema);
    if (versions === undefined) {
      return mismatch(
        `message ${message.id} has unknown schema '${schema}' (version '${version}')`,
      );
    }
    const validator = versions.get(version);
    if (validator === undefined) {
      const known = [...versions.keys()].map((v) => `'${v}'`).join(', ');
      return mismatch(
        `message ${message.id} has unknown version '${version}' of schema '${schema}' (known: ${known})`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(message.data));
    } catch (error) {
      return invalid(
        `message ${message.id} (${schema} v${version}) is not JSON: ${describe(error)}`,
        error,
      );
    }
    let result: ValidationResult<unknown>;
    try {
      result = await validator['~standard'].validate(json);
    } catch (error) {
      // A validator that throws is a bug or an outage, not a bad message: keep its classification.
      return { ok: false, error: toTributaryError(error) };
    }
    if (result.issues !== undefined) {
      return invalid(
        `message ${message.id} does not match ${schema} v${version}: ${this.#format(result.issues)}`,
        result.issues,
      );
    }
    // The validator registered for (schema, version) produced `value`: this is one of M.
    const match = { message, schema, version, value: result.value } as SchemaMatch as M;
    return { ok: true, match };
  }

  #format(issues: readonly ValidationIssue[]): string {
    const shown = issues.slice(0, this.#maxIssues).map((issue) => {
      const path = (issue.path ?? [])
        .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
        .join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    });
    const more = issues.length - shown.length;
    return more > 0 ? `${shown.join('; ')}; and ${more} more` : shown.join('; ');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function mismatch(text: string): { ok: false; error: TributaryError } {
  return { ok: false, error: TributaryError.permanent('SCHEMA_MISMATCH', text) };
}

function invalid(text: string, cause: unknown): { ok: false; error: TributaryError } {
  return { ok: false, error: TributaryError.permanent('INVALID_PAYLOAD', text, cause) };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options for {@link validateSchemas}. */
export interface ValidateSchemasOptions {
  /**
   * The error route: receives every message that failed validation, with the error and
   * `stage`. A `DeadLetterSink` (e.g. `createDeadLetterPublisher(producer)`) or any object with
   * the same method, such as one writing a JSONL file.
   */
  readonly errors: DeadLetterSink;
  /** The stage name passed to the error route. @defaultValue 'schema-registry' */
  readonly stage?: string | undefined;
}

/**
 * The schema registry stage (seed 000): checks every message against `registry` and passes the
 * valid ones on as typed {@link SchemaMatch}es, in order; the others go to the error route.
 *
 * Settlement: a valid message is not settled here (its match carries it; the consumer acks or
 * nacks `match.message`). An invalid one is acked once `errors.deadLetter` resolved, i.e. once
 * the error is durable. When the error route rejects, that message is nacked and the stage fails
 * with the route's error (a broken error route must not turn into silent drops). A retriable
 * validation error (a validator that threw) is nacked and not routed, and the stream goes on.
 */
export async function* validateSchemas<M extends SchemaMatch>(
  source: Streamable<Message>,
  registry: SchemaRegistry<M>,
  options: ValidateSchemasOptions,
): AsyncGenerator<M, void, undefined> {
  const stage = options.stage ?? 'schema-registry';
  for await (const message of source) {
    const result = await registry.validate(message);
    if (result.ok) {
      yield result.match;
      continue;
    }
    if (result.error.retriable) {
      message.nack();
      continue;
    }
    try {
      await options.errors.deadLetter(message, result.error, stage);
    } catch (error) {
      message.nack();
      throw error;
    }
    message.ack();
  }
}
