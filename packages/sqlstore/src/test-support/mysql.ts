import { uniqueName } from '@tributary/local-gcp';
import { createMessage, type Message } from '@tributary/messagepipeline';
import type { Pool } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createMysqlPool } from '../pool.js';

/** The MariaDB every test uses (`.ci/run` starts it): root without a password, database `test`. */
export const MYSQL_URL = process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';

/** A table name no other test uses. */
export function uniqueTable(prefix = 'ev'): string {
  return uniqueName(prefix, '_');
}

/** Drops a table and its schema-version table. */
export async function dropTable(pool: Pool, table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_schema_version\``);
}

/** Counts rows of `table`. */
export async function countRows(pool: Pool, table: string): Promise<number> {
  const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number((rows as { n: number | string }[])[0]?.n ?? -1);
}

/** A message carrying the event http-ingest would publish. */
export function eventMessage(
  id: string,
  overrides: Readonly<Record<string, unknown>> = {},
  attributes: Readonly<Record<string, string>> = {},
): Message {
  const event = { id, type: 'user_action', source: 'web', data: { n: id }, ...overrides };
  return createMessage({
    id: `m-${id}`,
    data: Buffer.from(JSON.stringify(event)),
    attributes: { type: 'user_action', source: 'web', ...attributes },
  });
}

/** A pool for the file's tests and a cleanup list run (newest first) after each test. */
export interface SqlTestContext {
  pool(): Pool;
  /** Runs after the current test. */
  cleanup(step: () => Promise<unknown>): void;
}

/** Registers the vitest hooks that open a pool, run each test's cleanups, and end the pool. */
export function useSqlTestContext(connectionLimit = 2): SqlTestContext {
  let pool: Pool | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(() => {
    pool = createMysqlPool({ url: MYSQL_URL, connectionLimit });
  });
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    await pool?.end();
  });
  return {
    pool() {
      if (pool === undefined) throw new Error('the pool opens in beforeAll');
      return pool;
    },
    cleanup(step) {
      cleanups.push(step);
    },
  };
}
