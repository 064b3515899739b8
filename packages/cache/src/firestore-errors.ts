import { TributaryError } from '@tributary/messagepipeline';

/** gRPC status codes the Firestore client reports (`error.code`). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** True when the Firestore client reports NOT_FOUND (a miss, not a failure). */
export function isFirestoreNotFound(error: unknown): boolean {
  return grpcCode(error) === GRPC.NOT_FOUND;
}

/**
 * Classifies a Firestore client error: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * ABORTED, INTERNAL, UNKNOWN and CANCELLED are transient; PERMISSION_DENIED and UNAUTHENTICATED
 * are destination problems (the service is misconfigured); INVALID_ARGUMENT and
 * FAILED_PRECONDITION are permanent. Anything else, without a code, is transient.
 */
export function classifyFirestoreError(error: unknown, what: string): TributaryError {
  const code = grpcCode(error) ?? -1;
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  switch (code) {
    case GRPC.PERMISSION_DENIED:
      return TributaryError.destination('PERMISSION_DENIED', message, error);
    case GRPC.UNAUTHENTICATED:
      return TributaryError.destination('UNAUTHENTICATED', message, error);
    case GRPC.INVALID_ARGUMENT:
    case GRPC.FAILED_PRECONDITION:
      return TributaryError.permanent('INVALID_PAYLOAD', message, error);
    case GRPC.RESOURCE_EXHAUSTED:
      return TributaryError.transient('RATE_LIMITED', message, error);
    case GRPC.DEADLINE_EXCEEDED:
      return TributaryError.transient('TIMEOUT', message, error);
    default:
      return TributaryError.transient('UNAVAILABLE', message, error);
  }
}

function grpcCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}
