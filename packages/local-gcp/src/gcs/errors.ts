/**
 * An error the GCS server answers with, in Google's JSON error shape. Route code throws it; the
 * server turns it into a response with {@link sendGoogleError}.
 */
export class GcsError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
  }
}

/** 404 for a missing object, worded like GCS. */
export function noSuchObject(bucket: string, name: string): GcsError {
  return new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
}

/** 404 for a missing bucket, worded like GCS. */
export function noSuchBucket(): GcsError {
  return new GcsError(404, 'notFound', 'The specified bucket does not exist.');
}

/** 412 for a failed `if*Match` precondition, worded like GCS. */
export function conditionNotMet(): GcsError {
  return new GcsError(
    412,
    'conditionNotMet',
    'At least one of the pre-conditions you specified did not hold.',
  );
}

/** 400 for a malformed request. */
export function badRequest(message: string, reason = 'invalid'): GcsError {
  return new GcsError(400, reason, message);
}
