import { TributaryError, silentLogger, type Logger } from '@tributary/messagepipeline';
import { requireInteger } from '@tributary/messagepipeline/kernel';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { classifyMysqlError } from './classify-error.js';
import { quoteTableName } from './table-name.js';

/** One schema step: applied once, in version order, and recorded in the schema-version table. */
export interface Migration {
  /** 1, 2, 3, … without gaps. */
  readonly version: number;
  readonly name: string;
  /**
   * Statements run one after another. MySQL commits DDL implicitly, so a step cannot be rolled
   * back: write each statement so that running it again after a crash is harmless
   * (`CREATE TABLE IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`).
   */
  readonly statements: readonly string[];
}

/**
 * The event table of seed 003, version by version: `id` is the primary key (the idempotency key),
 * `data` is JSON, and `(type, created_at)` and `(user_id, created_at)` are indexed.
 */
export function eventTableMigrations(table: string): readonly Migration[] {
  const name = quoteTableName('table', table);
  return [
    {
      version: 1,
      name: 'create event table',
      statements: [
        `CREATE TABLE IF NOT EXISTS ${name} (
  id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  type VARCHAR(128) NOT NULL,
  source VARCHAR(128) NOT NULL,
  user_id VARCHAR(128) NULL,
  data JSON NOT NULL,
  created_at DATETIME(6) NOT NULL,
  received_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_type_created_at (type, created_at),
  KEY idx_user_id_created_at (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
      ],
    },
  ];
}

/** Options for {@link runMigrations}. */
export interface RunMigrationsOptions {
  /** The table the migrations belong to; versions are kept in `<table>_schema_version`. */
  readonly table: string;
  readonly migrations: readonly Migration[];
  /** Longest wait for another instance's migration to finish, in seconds. @defaultValue 60 */
  readonly lockTimeoutSeconds?: number | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** What {@link runMigrations} did. */
export interface MigrationResult {
  /** Versions applied by this call, in order (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The schema version now. */
  readonly version: number;
}

interface VersionRow extends RowDataPacket {
  version: number | null;
}

interface LockRow extends RowDataPacket {
  locked: number | null;
}

/**
 * Brings the schema to the newest version: under a named lock (`GET_LOCK`), so instances that
 * start together migrate once, it creates `<table>_schema_version` if needed, then applies every
 * migration newer than the recorded version, recording each one as it completes. Running it
 * again applies nothing.
 * @throws `TributaryError` `SCHEMA_MISMATCH` when the database is newer than these migrations or
 * the versions have gaps; `TIMEOUT` when the lock is not had in time; classified MySQL errors
 */
export async function runMigrations(
  pool: Pool,
  options: RunMigrationsOptions,
): Promise<MigrationResult> {
  const versions = quoteTableName('table', `${options.table}_schema_version`);
  const lockTimeoutSeconds = requireInteger(
    'lockTimeoutSeconds',
    options.lockTimeoutSeconds ?? 60,
    0,
  );
  const logger = (options.logger ?? silentLogger).child({ component: 'migrations' });
  const migrations = [...options.migrations].sort((a, b) => a.version - b.version);
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) {
      throw TributaryError.permanent(
        'SCHEMA_MISMATCH',
        `migration versions must be 1, 2, 3, … without gaps; found ${migration.version} at position ${i + 1}`,
      );
    }
  });
  let connection;
  try {
    connection = await pool.getConnection();
  } catch (error) {
    throw classifyMysqlError(error, 'connecting for migrations');
  }
  const lockName = `tributary-migrate:${options.table}`;
  let locked = false;
  try {
    const [lock] = await connection.query<LockRow[]>(
      'SELECT GET_LOCK(CONCAT(DATABASE(), ?), ?) AS locked',
      [`:${lockName}`, lockTimeoutSeconds],
    );
    if (lock[0]?.locked !== 1) {
      throw TributaryError.transient(
        'TIMEOUT',
        `another instance held the migration lock '${lockName}' for more than ${lockTimeoutSeconds} s`,
      );
    }
    locked = true;
    await connection.query(
      `CREATE TABLE IF NOT EXISTS ${versions} (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
    );
    const [rows] = await connection.query<VersionRow[]>(
      `SELECT MAX(version) AS version FROM ${versions}`,
    );
    let current = rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw TributaryError.permanent(
        'SCHEMA_MISMATCH',
        `table '${options.table}' is at schema version ${current}, newer than this code (${migrations.length})`,
      );
    }
    const applied: number[] = [];
    for (const migration of migrations.slice(current)) {
      logger.info(
        { table: options.table, version: migration.version },
        `migrating: ${migration.name}`,
      );
      for (const statement of migration.statements) await connection.query(statement);
      await connection.query(`INSERT INTO ${versions} (version, name) VALUES (?, ?)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
      current = migration.version;
    }
    return { applied, version: current };
  } catch (error) {
    throw classifyMysqlError(error, `migrating '${options.table}'`);
  } finally {
    if (locked)
      await connection
        .query('SELECT RELEASE_LOCK(CONCAT(DATABASE(), ?))', [`:${lockName}`])
        .catch(() => undefined);
    connection.release();
  }
}
