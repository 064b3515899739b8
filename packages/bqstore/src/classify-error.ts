import { TributaryError } from '@tributary/messagepipeline';

/** How a failed BigQuery API call is treated. */
export type BigQueryFailure =
  | { readonly kind: 'retriable'; readonly reason: string; readonly message: string }
  | { readonly kind: 'invalid'; readonly reason: string; readonly message: string }
  | { readonly kind: 'destination'; readonly reason: string; readonly error: TributaryError };

const RETRIABLE_REASONS: ReadonlySet<string> = new Set([
  'backendError',
  'rateLimitExceeded',
  'quotaExceeded',
  'internalError',
  'timeout',
  'jobRateLimitExceeded',
]);

/** The HTTP status and first error reason of a client error (`ApiError`), when it has them. */
export function statusAndReason(error: unknown): { status: number | undefined; reason: string } {
  const record = (typeof error === 'object' && error !== null ? error : {}) as Record<
    string,
    unknown
  >;
  const code = record['code'];
  const errors = record['errors'];
  const first = Array.isArray(errors) ? (errors[0] as { reason?: unknown } | undefined) : undefined;
  return {
    status: typeof code === 'number' ? code : undefined,
    reason: typeof first?.reason === 'string' ? first.reason : typeof code === 'string' ? code : '',
  };
}

/** Whether BigQuery refused a request for its size (413, or 400 "Request payload size exceeds…"). */
export function isTooLarge(error: unknown): boolean {
  const { status, reason } = statusAndReason(error);
  if (status === 413 || reason === 'requestTooLarge') return true;
  const message = error instanceof Error ? error.message : '';
  return (
    status === 400 &&
    (message.includes('Request payload size exceeds the limit') ||
      message.includes('too many rows present in the request'))
  );
}

/**
 * Classifies a failed call: a missing table or dataset (404) and refused credentials (401, 403
 * other than rate limits) are destination problems (hold, never dead-letter); 429, 5xx, BigQuery's
 * retriable reasons and network errors are retriable; any other 4xx refuses the rows (`invalid`).
 */
export function classifyBigQueryError(error: unknown): BigQueryFailure {
  const { status, reason } = statusAndReason(error);
  const message = error instanceof Error ? error.message : String(error);
  if (status === 404) {
    return {
      kind: 'destination',
      reason: reason || 'notFound',
      error: TributaryError.destination('NOT_FOUND', message, error),
    };
  }
  if (status === 401) {
    return {
      kind: 'destination',
      reason: reason || 'unauthorized',
      error: TributaryError.destination('UNAUTHENTICATED', message, error),
    };
  }
  if (status === 403 && !RETRIABLE_REASONS.has(reason)) {
    return {
      kind: 'destination',
      reason: reason || 'accessDenied',
      error: TributaryError.destination('PERMISSION_DENIED', message, error),
    };
  }
  if (
    status === undefined ||
    status === 403 ||
    status === 408 ||
    status === 429 ||
    status >= 500 ||
    RETRIABLE_REASONS.has(reason)
  ) {
    return { kind: 'retriable', reason: reason || `http${status ?? ''}` || 'network', message };
  }
  return { kind: 'invalid', reason: reason || `http${status}`, message };
}
