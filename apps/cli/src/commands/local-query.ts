import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { startBigQueryServer, type BigQueryServer } from '@tributary/local-gcp';

/**
 * Opens the local BigQuery data a `tributary start` left in `dataDir` (read through our local
 * server, the way the flow wrote it). Fails with a clear message when there is none.
 */
export async function startLocalQueryServer(dataDir: string): Promise<BigQueryServer> {
  const dir = join(dataDir, 'bigquery');
  try {
    await access(join(dir, 'bigquery.duckdb'));
  } catch {
    throw new Error(
      `no local BigQuery data in ${dir}: run \`npm start\` (or \`tributary start\`) first`,
    );
  }
  return startBigQueryServer({ host: '127.0.0.1', port: 0, dataDir: dir });
}
