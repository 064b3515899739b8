import { uniqueName as harnessUniqueName } from '../../harness/unique-name.js';
export { caught } from '../../harness/test-support/caught.js';
import { BigQuery, type BigQueryOptions } from '@google-cloud/bigquery';
import { afterAll, beforeAll } from 'vitest';
import { startBigQueryServer, type BigQueryServer } from '../server.js';

export const PROJECT = 'test-proj';

// The client otherwise probes the GCE metadata server for credentials.
process.env['METADATA_SERVER_DETECTION'] = 'none';

/**
 * The official client pointed at this file's server (requests go to /bigquery/v2/…). The client
 * prefers BIGQUERY_EMULATOR_HOST (which the monorepo's vitest global setup sets for the shared
 * stack) over apiEndpoint, and reads it only in its constructor, so it is hidden meanwhile.
 */
export function clientFor(server: BigQueryServer, options: BigQueryOptions = {}): BigQuery {
  const shared = process.env['BIGQUERY_EMULATOR_HOST'];
  delete process.env['BIGQUERY_EMULATOR_HOST'];
  try {
    return new BigQuery({ projectId: PROJECT, apiEndpoint: server.apiEndpoint, ...options });
  } finally {
    if (shared !== undefined) process.env['BIGQUERY_EMULATOR_HOST'] = shared;
  }
}

/** A server and a client for one test file. */
export interface FileServer {
  readonly server: BigQueryServer;
  readonly bq: BigQuery;
}

/**
 * Starts a server with a client before this file's tests and stops it after them. Call at the
 * top level of a test file; read `server` and `bq` inside tests.
 */
export function serveThisFile(): FileServer {
  let started: FileServer | undefined;
  beforeAll(async () => {
    const server = await startBigQueryServer();
    started = { server, bq: clientFor(server) };
  });
  afterAll(async () => {
    await started?.server.stop();
  });
  const get = (): FileServer => {
    if (started === undefined) throw new Error('the BigQuery server is not started yet');
    return started;
  };
  return {
    get server() {
      return get().server;
    },
    get bq() {
      return get().bq;
    },
  };
}

/** One row of a client `PartialFailureError`: the row sent and BigQuery's errors for it. */
export interface PartialFailure {
  readonly row: Record<string, unknown>;
  readonly errors: readonly { reason: string; message: string }[];
}

/** The per-row failures of a `PartialFailureError`. */
export function partialFailures(error: Record<string, unknown>): PartialFailure[] {
  return error['errors'] as PartialFailure[];
}

/** A dataset name no other test uses (BigQuery names take `_`, not `-`). */
export function uniqueName(prefix: string): string {
  return harnessUniqueName(prefix, '_');
}

/** The values of one column of decoded rows. */
export function column(rows: readonly unknown[], name: string): unknown[] {
  return rows.map((row) => (row as Record<string, unknown>)[name]);
}

/** A schema with every type and nesting the tests exercise. */
export const READINGS_SCHEMA = {
  fields: [
    { name: 'deviceId', type: 'STRING', mode: 'REQUIRED' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'temp', type: 'FLOAT' },
    { name: 'count', type: 'INTEGER' },
    { name: 'ok', type: 'BOOLEAN' },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    {
      name: 'loc',
      type: 'RECORD',
      fields: [
        { name: 'lat', type: 'FLOAT64' },
        { name: 'lng', type: 'FLOAT64' },
      ],
    },
    {
      name: 'samples',
      type: 'STRUCT',
      mode: 'REPEATED',
      fields: [
        { name: 'at', type: 'TIMESTAMP' },
        { name: 'values', type: 'INT64', mode: 'REPEATED' },
      ],
    },
  ],
};
