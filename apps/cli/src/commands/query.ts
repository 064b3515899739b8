import { BigQuery } from '@google-cloud/bigquery';
import { formatTable } from './table.js';

/** Where `tributary query` sends its SQL. */
export interface QueryOptions {
  readonly sql: string;
  readonly projectId: string;
  /** A local BigQuery's base URL; undefined means Google's, with the usual credentials. */
  readonly endpoint: string | undefined;
  readonly out: NodeJS.WriteStream;
}

/** Runs GoogleSQL and prints the rows as a table. */
export async function runQuery(options: QueryOptions): Promise<void> {
  const bigquery = new BigQuery({
    projectId: options.projectId,
    ...(options.endpoint === undefined ? {} : { apiEndpoint: options.endpoint }),
  });
  const [rows] = await bigquery.query({ query: options.sql });
  options.out.write(
    `${formatTable(rows as Record<string, unknown>[]).join('\n')}\n(${String(rows.length)} rows)\n`,
  );
}
