import type { BigQuery, Dataset } from '@google-cloud/bigquery';
import {
  startBigQueryServer,
  testEnv,
  uniqueName,
  type BigQueryServer,
} from '@tributary/local-gcp';
import { createBigQueryClient } from '../client.js';
import type { TableRef } from '../row-writer.js';
import type { TableSchema } from '../schema.js';

/** The project of the shared local stack. */
export const PROJECT = testEnv().GOOGLE_CLOUD_PROJECT;

/** A client on the shared local BigQuery server (BIGQUERY_EMULATOR_HOST), retries off. */
export function sharedClient(): BigQuery {
  return createBigQueryClient({ projectId: PROJECT, requestTimeoutMs: 10_000 });
}

/**
 * A private local BigQuery server (for fault injection and request counting that no other test
 * may disturb) and a client on it. The client prefers BIGQUERY_EMULATOR_HOST, so it is hidden
 * while the client is built.
 */
export async function privateServer(
  options: Parameters<typeof startBigQueryServer>[0] = {},
): Promise<{ server: BigQueryServer; bq: BigQuery }> {
  const server = await startBigQueryServer(options);
  const shared = process.env['BIGQUERY_EMULATOR_HOST'];
  delete process.env['BIGQUERY_EMULATOR_HOST'];
  try {
    const bq = createBigQueryClient({
      projectId: PROJECT,
      apiEndpoint: server.apiEndpoint,
      requestTimeoutMs: 10_000,
    });
    return { server, bq };
  } finally {
    if (shared !== undefined) process.env['BIGQUERY_EMULATOR_HOST'] = shared;
  }
}

/** A BigQuery dataset name no other test uses. */
export function datasetName(prefix: string): string {
  return uniqueName(prefix, '_');
}

/** Creates a dataset with one table; returns the table's reference. */
export async function createTable(
  bq: BigQuery,
  schema: TableSchema,
  prefix = 'bq',
): Promise<{ dataset: Dataset; table: TableRef }> {
  const [dataset] = await bq.createDataset(datasetName(prefix));
  await dataset.createTable('rows', { schema: { fields: schema.fields as never } });
  return { dataset, table: { projectId: PROJECT, datasetId: dataset.id ?? '', tableId: 'rows' } };
}

/** Every row of a table, through a query. */
export async function readRows(bq: BigQuery, table: TableRef): Promise<Record<string, unknown>[]> {
  const [rows] = await bq.query({
    query: `SELECT * FROM \`${table.projectId}.${table.datasetId}.${table.tableId}\``,
  });
  return rows as Record<string, unknown>[];
}
