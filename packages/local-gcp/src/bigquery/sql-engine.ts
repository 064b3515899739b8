import {
  DuckDBInstance,
  StatementType,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

/** Rows read from DuckDB, with the column names and types they came with. */
export interface SqlResult {
  readonly names: readonly string[];
  readonly types: readonly DuckDBType[];
  readonly rows: readonly DuckDBValue[][];
  /** Rows changed by a DML statement. */
  readonly rowsChanged: number;
  /** Whether the statement was a query (SELECT or similar) rather than DML. */
  readonly isQuery: boolean;
}

/**
 * The embedded DuckDB database behind the BigQuery server. Every statement goes through one
 * connection, one at a time, so catalog changes, writes and reads never interleave.
 */
export interface SqlEngine {
  /** Runs one statement (`$1`… positional parameters) and reads every row. */
  read(sql: string, values?: readonly DuckDBValue[]): Promise<SqlResult>;
  /** Runs statements that return nothing of interest (DDL, writes). */
  run(sql: string, values?: readonly DuckDBValue[]): Promise<void>;
  /** Runs `work` with the connection to itself (no other statement runs meanwhile). */
  exclusive<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  /** Closes the database (flushing a file-backed one). Idempotent. */
  close(): Promise<void>;
  /** DuckDB's keywords (upper case) and their category (`reserved`, `unreserved`, …). */
  readonly keywords: ReadonlyMap<string, string>;
}

/**
 * GoogleSQL functions DuckDB lacks, as temporary macros (never stored in a persistent file).
 * Each maps to DuckDB's equivalent.
 */
const COMPAT_MACROS: readonly string[] = [
  'logical_and(x) AS bool_and(x)',
  'logical_or(x) AS bool_or(x)',
  'unix_micros(ts) AS epoch_us(ts)',
  'unix_millis(ts) AS epoch_ms(ts)',
  'unix_seconds(ts) AS CAST(epoch(ts) AS BIGINT)',
  'timestamp_micros(x) AS make_timestamptz(x)',
  'timestamp_millis(x) AS make_timestamptz(x * 1000)',
  'timestamp_seconds(x) AS make_timestamptz(x * 1000000)',
  'array_length(x) AS len(x)',
  'safe_divide(x, y) AS CASE WHEN y = 0 THEN NULL ELSE x / y END',
  'ieee_divide(x, y) AS x / y',
  'to_json_string(x) AS CAST(to_json(x) AS VARCHAR)',
  'parse_json(x) AS CAST(x AS JSON)',
  'generate_uuid() AS CAST(uuid() AS VARCHAR)',
  // `TIMESTAMP_SUB(ts, INTERVAL 1 MINUTE)`: DuckDB reads the interval as an expression.
  'timestamp_sub(ts, i) AS ts - i',
  'timestamp_add(ts, i) AS ts + i',
];

export async function createSqlEngine(path: string | undefined): Promise<SqlEngine> {
  const instance = await DuckDBInstance.create(path ?? ':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  for (const macro of COMPAT_MACROS) await connection.run(`CREATE OR REPLACE TEMP MACRO ${macro}`);
  const keywordRows = await connection.runAndReadAll(
    'SELECT upper(keyword_name), keyword_category FROM duckdb_keywords()',
  );
  const keywords = new Map(
    keywordRows.getRows().map(([name, category]) => [String(name), String(category)]),
  );
  let tail: Promise<unknown> = Promise.resolve();
  let closed: Promise<void> | undefined;

  function exclusive<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    if (closed !== undefined) return Promise.reject(new Error('the SQL engine is closed'));
    const result = tail.then(() => work(connection));
    tail = result.catch(() => undefined);
    return result;
  }

  return {
    keywords,
    exclusive,
    read: (sql, values) =>
      exclusive(async (conn) => {
        const reader = await conn.runAndReadAll(
          sql,
          values === undefined ? undefined : [...values],
        );
        return {
          names: reader.columnNames(),
          types: reader.columnTypes(),
          rows: reader.getRows(),
          rowsChanged: reader.rowsChanged,
          isQuery: reader.statementType === StatementType.SELECT,
        };
      }),
    run: (sql, values) =>
      exclusive(async (conn) => {
        await conn.run(sql, values === undefined ? undefined : [...values]);
      }),
    close: () =>
      (closed ??= tail.then(() => {
        connection.closeSync();
        instance.closeSync();
      })),
  };
}
