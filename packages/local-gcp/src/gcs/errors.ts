/**
 * An error the GCS server answers with, in Google's JSON error shape. Route code throws it; the
 * server turns it into a response with {@link sendGoogleError}.
 */
export class GcsError extends Error {
  readonly status: number;
  readonly reason: string;
  /** Answer with the message as a `text/plain` body, as GCS does for some upload errors. */
  readonly plainText: boolean;

  constructor(status: number, reason: string, message: string, plainText = false) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
    this.plainText = plainText;
  }
}

/**
 * The largest metadata part (multipart upload) or session body (resumable upload) read. GCS
 * answers a 2.1 MB one with a plain-text 400 "Metadata part is too large." (the client
 * library's system test "should throw original error message on non JSON response on large
 * metadata"); the exact threshold is ours.
 */
export const MAX_METADATA_PART_BYTES = 2 * 1024 * 1024;

/** The plain-text 400 GCS answers for an oversized metadata part. */
export function metadataPartTooLarge(): GcsError {
  return new GcsError(400, 'invalid', 'Metadata part is too large.', true);
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
