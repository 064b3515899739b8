import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';

/** Options for {@link createBigQueryClient}. */
export interface BigQueryClientOptions {
  /** The project requests are billed to. */
  readonly projectId: string;
  /** Per-request timeout of the HTTP layer, in ms. @defaultValue 30_000 */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Where requests go instead of Google (a local server). The client also honours
   * `BIGQUERY_EMULATOR_HOST` from the environment, which wins.
   */
  readonly apiEndpoint?: string | undefined;
}

/**
 * The official BigQuery client as the sink needs it: its own retries off (the sink retries with
 * backoff inside its budget, so retries and their metrics are ours) and a request timeout.
 */
export function createBigQueryClient(options: BigQueryClientOptions): BigQuery {
  // `timeout` is read by the client's service layer (@google-cloud/common) but not typed.
  const clientOptions: BigQueryOptions & { timeout: number } = {
    projectId: options.projectId,
    retryOptions: { autoRetry: false, maxRetries: 0 },
    timeout: options.requestTimeoutMs ?? 30_000,
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
  };
  return new BigQuery(clientOptions);
}
