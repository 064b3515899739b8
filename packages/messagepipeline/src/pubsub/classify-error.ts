import { TributaryError, isTributaryError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** The gRPC status codes, by name (the numbers are part of the gRPC wire protocol). */
export const grpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the names in {@link grpcStatus}. */
export type GrpcStatusName = keyof typeof grpcStatus;

interface Classification {
  readonly code: ErrorCode;
  readonly retriable: boolean;
}

const byStatus: ReadonlyMap<number, Classification> = new Map<number, Classification>([
  [grpcStatus.CANCELLED, { code: 'UNAVAILABLE', retriable: true }],
  [grpcStatus.UNKNOWN, { code: 'INTERNAL', retriable: true }],
  [grpcStatus.INVALID_ARGUMENT, { code: 'INVALID_ARGUMENT', retriable: false }],
  [grpcStatus.DEADLINE_EXCEEDED, { code: 'TIMEOUT', retriable: true }],
  [grpcStatus.NOT_FOUND, { code: 'NOT_FOUND', retriable: false }],
  [grpcStatus.ALREADY_EXISTS, { code: 'ALREADY_EXISTS', retriable: false }],
  [grpcStatus.PERMISSION_DENIED, { code: 'PERMISSION_DENIED', retriable: false }],
  [grpcStatus.RESOURCE_EXHAUSTED, { code: 'RATE_LIMITED', retriable: true }],
  [grpcStatus.FAILED_PRECONDITION, { code: 'INTERNAL', retriable: false }],
  [grpcStatus.ABORTED, { code: 'UNAVAILABLE', retriable: true }],
  [grpcStatus.OUT_OF_RANGE, { code: 'INVALID_ARGUMENT', retriable: false }],
  [grpcStatus.UNIMPLEMENTED, { code: 'INTERNAL', retriable: false }],
  [grpcStatus.INTERNAL, { code: 'INTERNAL', retriable: true }],
  [grpcStatus.UNAVAILABLE, { code: 'UNAVAILABLE', retriable: true }],
  [grpcStatus.DATA_LOSS, { code: 'INTERNAL', retriable: false }],
  [grpcStatus.UNAUTHENTICATED, { code: 'UNAUTHENTICATED', retriable: false }],
]);

/** Codes that, on a publish, say the destination is missing or refuses us. */
const DESTINATION_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NOT_FOUND',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
]);

const statusNames: ReadonlyMap<number, string> = new Map(
  Object.entries(grpcStatus).map(([name, value]) => [value, name]),
);

/**
 * The numeric gRPC status of an error raised by `@google-cloud/pubsub` / google-gax, or
 * `undefined` when it carries none. Looks at `code` (a `ServiceError`, a gax `GoogleError`, a
 * `StatusError`, a `PublishError`), then at the wrapped `error` of a `PublishError`.
 */
export function grpcStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'number' && statusNames.has(error.code)) {
    return error.code;
  }
  if ('error' in error && error.error !== error) return grpcStatusOf(error.error);
  return undefined;
}

/**
 * Classifies an error from `@google-cloud/pubsub` (or gRPC / google-gax) into a
 * {@link TributaryError}:
 * UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN and CANCELLED
 * are retriable; INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED,
 * ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED and DATA_LOSS are permanent.
 * A Tributary error keeps its own classification; an error without a gRPC status (a network
 * error before any status, a bug) is transient `INTERNAL`, so it is retried and then nacked.
 *
 * With `destination`, the error is about where messages go (a publish): NOT_FOUND,
 * PERMISSION_DENIED and UNAUTHENTICATED become {@link TributaryError.destination} errors, held
 * rather than dead-lettered, since the topic, not the message, is at fault.
 *
 * @param context - prefixed to the message, for example `publish to 'projects/p/topics/t'`
 */
export function classifyPubSubError(
  error: unknown,
  context?: string,
  options: { readonly destination?: boolean } = {},
): TributaryError {
  if (isTributaryError(error)) return error;
  const text = error instanceof Error ? error.message : String(error);
  const message = context === undefined ? text : `${context}: ${text}`;
  const status = grpcStatusOf(error);
  const classification = status === undefined ? undefined : byStatus.get(status);
  if (classification === undefined) return TributaryError.transient('INTERNAL', message, error);
  if (options.destination === true && DESTINATION_CODES.has(classification.code)) {
    return TributaryError.destination(classification.code, message, error);
  }
  return new TributaryError(classification.code, message, {
    retriable: classification.retriable,
    cause: error,
  });
}
