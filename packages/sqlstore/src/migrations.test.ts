import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventTableMigrations, runMigrations } from './migrations.js';
import { createMysqlPool } from './pool.js';
import { dropTable, MYSQL_URL, uniqueTable } from './test-support/mysql.js';

let pool: Pool;
const tables: string[] = [];

beforeAll(() => {
  pool = createMysqlPool({ url: MYSQL_URL });
});
afterEach(async () => {
  for (const table of tables.splice(0)) await dropTable(pool, table);
});
afterAll(async () => {
  await pool.end();
});

function table(): string {
  const name = uniqueTable('mig');
  tables.push(name);
  return name;
}

describe('runMigrations', () => {
  it('creates the event table with its keys once, and applies nothing the second time', async () => {
    const name = table();
    const first = await runMigrations(pool, {
      table: name,
      migrations: eventTableMigrations(name),
    });
    expect(first).toEqual({ applied: [1], version: 1 });
    const again = await runMigrations(pool, {
      table: name,
      migrations: eventTableMigrations(name),
    });
    expect(again).toEqual({ applied: [], version: 1 });

    const [versions] = await pool.query<RowDataPacket[]>(
      `SELECT version, name FROM \`${name}_schema_version\``,
    );
    expect(versions.map((row) => row['version'] as number)).toEqual([1]);
    const [indexes] = await pool.query<RowDataPacket[]>(`SHOW INDEX FROM \`${name}\``);
    const columns = new Map<string, string[]>();
    for (const row of indexes) {
      const key = row['Key_name'] as string;
      columns.set(key, [...(columns.get(key) ?? []), row['Column_name'] as string]);
    }
    expect(Object.fromEntries(columns)).toEqual({
      PRIMARY: ['id'],
      idx_type_created_at: ['type', 'created_at'],
      idx_user_id_created_at: ['user_id', 'created_at'],
    });
  });

  it('applies once when two instances start together', async () => {
    const name = table();
    const other = createMysqlPool({ url: MYSQL_URL });
    try {
      const results = await Promise.all([
        runMigrations(pool, { table: name, migrations: eventTableMigrations(name) }),
        runMigrations(other, { table: name, migrations: eventTableMigrations(name) }),
      ]);
      expect(results.map((r) => r.applied).sort()).toEqual([[], [1]]);
      expect(results.map((r) => r.version)).toEqual([1, 1]);
    } finally {
      await other.end();
    }
  });

  it('applies only the newer steps of a longer list', async () => {
    const name = table();
    await runMigrations(pool, { table: name, migrations: eventTableMigrations(name) });
    const next = [
      ...eventTableMigrations(name),
      {
        version: 2,
        name: 'add tenant',
        statements: [`ALTER TABLE \`${name}\` ADD COLUMN IF NOT EXISTS tenant VARCHAR(64) NULL`],
      },
    ];
    expect(await runMigrations(pool, { table: name, migrations: next })).toEqual({
      applied: [2],
      version: 2,
    });
    const [columns] = await pool.query<RowDataPacket[]>(
      `SHOW COLUMNS FROM \`${name}\` LIKE 'tenant'`,
    );
    expect(columns).toHaveLength(1);
  });

  it('refuses a database newer than the code', async () => {
    const name = table();
    await runMigrations(pool, {
      table: name,
      migrations: [...eventTableMigrations(name), { version: 2, name: 'later', statements: [] }],
    });
    await expect(
      runMigrations(pool, { table: name, migrations: eventTableMigrations(name) }),
    ).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', retriable: false });
  });

  it('refuses gaps in the versions and bad table names', async () => {
    const name = table();
    await expect(
      runMigrations(pool, { table: name, migrations: [{ version: 2, name: 'x', statements: [] }] }),
    ).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
    expect(() => eventTableMigrations('bad-name')).toThrow(/'table' must be/);
  });

  it('classifies a server it cannot reach as transient', async () => {
    const unreachable = createPool({ host: '127.0.0.1', port: 1, user: 'root' });
    try {
      await expect(
        runMigrations(unreachable, { table: 'x', migrations: eventTableMigrations('x') }),
      ).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
    } finally {
      await unreachable.end();
    }
  });
});
