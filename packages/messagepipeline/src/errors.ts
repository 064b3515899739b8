/** Every error code a Tributary component raises. Decisions branch on these, never on message text. */
export const errorCodes = [
  'INVALID_ARGUMENT',
  'CONFIG_INVALID',
  'CLOSED',
  'TIMEOUT',
  'INVALID_PAYLOAD',
  'SCHEMA_MISMATCH',
  'PAYLOAD_TOO_LARGE',
  'INVALID_ATTRIBUTES',
  'UNROUTABLE',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'TRANSFORM_FAILED',
  'SINK_FAILED',
  'ATTEMPTS_EXHAUSTED',
  'INTERNAL',
] as const;

/** One of {@link errorCodes}. */
export type ErrorCode = (typeof errorCodes)[number];

/** Options for {@link TributaryError}. */
export interface TributaryErrorOptions {
  /** True when trying again later may succeed (network, 5xx, 429, timeouts). @defaultValue false */
  readonly retriable?: boolean | undefined;
  /** The error this one wraps. */
  readonly cause?: unknown;
  /**
   * The failure is about where the message goes, not the message: the topic, table or bucket
   * does not exist, or access is denied. Implies `retriable`. @defaultValue false
   */
  readonly destination?: boolean | undefined;
}

/**
 * The one error base class of the project. `retriable` is the failure classification of the
 * contract: permanent errors are dead-lettered, retriable ones are retried and then nacked.
 * `destination` marks a misconfiguration (a missing topic, table or bucket; access denied):
 * such a message is never dead-lettered and never acked; the service holds it and reports
 * not ready until the destination answers.
 */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly destination: boolean;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.destination = options.destination ?? false;
    this.retriable = this.destination || (options.retriable ?? false);
  }

  /** A failure that will fail again the same way: dead-letter it. */
  static permanent(code: ErrorCode, message: string, cause?: unknown): TributaryError {
    return new TributaryError(code, message, { retriable: false, cause });
  }

  /** A failure that may pass later: retry with backoff, then nack. */
  static transient(code: ErrorCode, message: string, cause?: unknown): TributaryError {
    return new TributaryError(code, message, { retriable: true, cause });
  }

  /**
   * The destination is missing or refuses us (`NOT_FOUND` for a topic, table or bucket,
   * `PERMISSION_DENIED`, `UNAUTHENTICATED`): the service is misconfigured, the message is not at
   * fault. Hold it (retry, then nack; never dead-letter, never ack) and report not ready.
   */
  static destination(code: ErrorCode, message: string, cause?: unknown): TributaryError {
    return new TributaryError(code, message, { destination: true, cause });
  }
}

/** An option or argument given to a library is out of range; thrown at construction time. */
export class InvalidArgumentError extends TributaryError {
  /** Builds the error naming the option and what is wrong with it. */
  static for(option: string, problem: string): InvalidArgumentError {
    return new InvalidArgumentError('INVALID_ARGUMENT', `'${option}' ${problem}`);
  }
}

const codes: ReadonlySet<string> = new Set(errorCodes);

/** Structural check that survives duplicated package copies, unlike `instanceof`. */
export function isTributaryError(value: unknown): value is TributaryError {
  return (
    value instanceof Error &&
    'code' in value &&
    typeof value.code === 'string' &&
    codes.has(value.code) &&
    'retriable' in value &&
    typeof value.retriable === 'boolean'
  );
}

/**
 * Classifies any thrown value. Tributary errors keep their own classification; anything else
 * (a raw client error, a bug) is treated as transient, so it is retried and then nacked rather
 * than thrown away: the delivery-attempt limit turns a repeating failure into a dead letter.
 */
export function toTributaryError(value: unknown): TributaryError {
  if (isTributaryError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return TributaryError.transient('INTERNAL', message, value);
}
