/**
 * An error the BigQuery server answers with a Google-shaped body:
 * `{"error":{"code":…,"message":…,"status":…,"errors":[{"reason":…}]}}`.
 */
export class BigQueryApiError extends Error {
  /** HTTP status, such as 400, 404 or 409. */
  readonly status: number;
  /** BigQuery's `errors[].reason`, such as `notFound`, `duplicate`, `invalid`, `invalidQuery`. */
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
  }

  static notFound(message: string): BigQueryApiError {
    return new BigQueryApiError(404, 'notFound', message);
  }

  static duplicate(message: string): BigQueryApiError {
    return new BigQueryApiError(409, 'duplicate', message);
  }

  static invalid(message: string): BigQueryApiError {
    return new BigQueryApiError(400, 'invalid', message);
  }

  static invalidQuery(message: string): BigQueryApiError {
    return new BigQueryApiError(400, 'invalidQuery', message);
  }

  static badRequest(message: string): BigQueryApiError {
    return new BigQueryApiError(400, 'badRequest', message);
  }
}

export function isBigQueryApiError(value: unknown): value is BigQueryApiError {
  return value instanceof BigQueryApiError;
}
