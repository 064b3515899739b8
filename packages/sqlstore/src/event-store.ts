import {
  silentLogger,
  type BatchProcessor,
  type ComponentHealth,
  type HealthReporter,
  type ItemFailure,
  type Logger,
  type ProcessableItem,
  type Service,
  type StatsDescription,
  type StopOptions,
  type TributaryError,
} from '@tributary/messagepipeline';
import { Lifecycle, requireInteger } from '@tributary/messagepipeline/kernel';
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { classifyMysqlError } from './classify-error.js';
import type { EventRow } from './event-row.js';
import { eventTableMigrations, runMigrations, type MigrationResult } from './migrations.js';
import { quoteTableName } from './table-name.js';

/** Options for {@link createEventStore}. */
export interface EventStoreOptions {
  /** The pool to write through (see `createMysqlPool`); the caller ends it after `stop()`. */
  readonly pool: Pool;
  /** The event table; its schema versions live in `<table>_schema_version`. */
  readonly table: string;
  /** Apply the migrations on `start()`. @defaultValue true */
  readonly migrate?: boolean | undefined;
  /** Longest wait for another instance's migration, in seconds. @defaultValue 60 */
  readonly migrationLockTimeoutSeconds?: number | undefined;
  /** A statement running longer fails (transient: retried) and its connection is closed. @defaultValue 30_000 */
  readonly statementTimeoutMs?: number | undefined;
  /** Called after every INSERT statement, for a latency histogram. */
  readonly onStatement?: ((rows: number, durationMs: number, ok: boolean) => void) | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Counters of an {@link EventStore}. */
export interface EventStoreStats {
  /** Rows inserted (new ids). */
  readonly rowsWritten: number;
  /** Rows whose id was already in the table (redeliveries), left as they were. */
  readonly duplicateRows: number;
  /** Rows refused by the database for their content (dead-lettered by the service). */
  readonly rowsRejected: number;
  /** INSERT statements sent. */
  readonly statements: number;
  /** Statements that failed. */
  readonly failedStatements: number;
  /** Times a failed batch was split in two to find its bad rows. */
  readonly bisections: number;
  /** Statements running now: connections of the pool in use. */
  readonly statementsInFlight: number;
  /** The pool's connection limit. */
  readonly connectionLimit: number;
  /** Connections the pool opened so far (a growing count means connections are being lost). */
  readonly connectionsOpened: number;
}

/** The Prometheus description of {@link EventStoreStats}. */
export const eventStoreStatsDescription: StatsDescription<EventStoreStats> = {
  rowsWritten: { kind: 'counter', help: 'Rows inserted' },
  duplicateRows: {
    kind: 'counter',
    help: 'Rows already present (redelivered events), left as they were',
  },
  rowsRejected: { kind: 'counter', help: 'Rows the database refused for their content' },
  statements: { kind: 'counter', help: 'INSERT statements sent' },
  failedStatements: { kind: 'counter', help: 'INSERT statements that failed' },
  bisections: { kind: 'counter', help: 'Failed batches split to find their bad rows' },
  statementsInFlight: { kind: 'gauge', help: 'Statements running: pool connections in use' },
  connectionLimit: { kind: 'gauge', help: 'Connection limit of the pool' },
  connectionsOpened: { kind: 'counter', help: 'Connections the pool opened' },
};

/**
 * The event table as a sink: `start()` applies the migrations, `write` is the batch processor
 * for `createBatchingService`. Each batch is one multi-row
 * `INSERT … ON DUPLICATE KEY UPDATE id = id`: a redelivered id changes nothing, every other
 * error still fails the statement. When a statement fails for a row's content, the batch is split
 * in halves until the bad rows stand alone; the rest is written and only those rows fail
 * (permanent: dead-lettered). Transient failures (connection lost, deadlock, timeouts) fail the
 * rows of that statement, which the service retries with backoff.
 */
export interface EventStore extends Service, HealthReporter {
  readonly table: string;
  readonly write: BatchProcessor<EventRow>;
  /** What the migrations did on `start()` (undefined before, or with `migrate: false`). */
  readonly migration: MigrationResult | undefined;
  stats(): EventStoreStats;
}

const COLUMNS = '(id, type, source, user_id, data, created_at, received_at)';

class MysqlEventStore implements EventStore {
  readonly table: string;
  readonly write: BatchProcessor<EventRow>;
  migration: MigrationResult | undefined;
  readonly #pool: Pool;
  readonly #sql: string;
  readonly #timeoutMs: number;
  readonly #options: EventStoreOptions;
  readonly #logger: Logger;
  readonly #lifecycle: Lifecycle;
  #destinationFailure: TributaryError | undefined;
  #rowsWritten = 0;
  #duplicateRows = 0;
  #rowsRejected = 0;
  #statements = 0;
  #failedStatements = 0;
  #bisections = 0;
  #inFlight = 0;
  #connectionsOpened = 0;

  constructor(options: EventStoreOptions) {
    const quoted = quoteTableName('table', options.table);
    this.table = options.table;
    this.#options = options;
    this.#pool = options.pool;
    this.#timeoutMs = requireInteger('statementTimeoutMs', options.statementTimeoutMs ?? 30_000, 1);
    this.#sql = `INSERT INTO ${quoted} ${COLUMNS} VALUES ? ON DUPLICATE KEY UPDATE id = id`;
    this.#logger = (options.logger ?? silentLogger).child({
      component: 'event-store',
      table: options.table,
    });
    this.#pool.pool.on('connection', () => {
      this.#connectionsOpened += 1;
    });
    this.#lifecycle = new Lifecycle(`event store '${options.table}'`, {
      start: async () => {
        if (options.migrate === false) return;
        this.migration = await runMigrations(this.#pool, {
          table: options.table,
          migrations: eventTableMigrations(options.table),
          lockTimeoutSeconds: options.migrationLockTimeoutSeconds,
          logger: options.logger,
        });
      },
    });
    this.write = (items) => this.#write(items);
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => {
      const failure = this.#destinationFailure;
      if (failure !== undefined) return { ready: false, detail: failure.message };
      return { ready: true, detail: `${this.#inFlight} statements in flight` };
    });
  }

  stats(): EventStoreStats {
    return {
      rowsWritten: this.#rowsWritten,
      duplicateRows: this.#duplicateRows,
      rowsRejected: this.#rowsRejected,
      statements: this.#statements,
      failedStatements: this.#failedStatements,
      bisections: this.#bisections,
      statementsInFlight: this.#inFlight,
      connectionLimit: this.#pool.pool.config.connectionLimit ?? 0,
      connectionsOpened: this.#connectionsOpened,
    };
  }

  async #write(items: readonly ProcessableItem<EventRow>[]): Promise<readonly ItemFailure[]> {
    if (items.length === 0) return [];
    return this.#insert(
      items.map((_, index) => index),
      items,
    );
  }

  /** Inserts the rows at `indices`; on a content error, splits them to isolate the bad rows. */
  async #insert(
    indices: readonly number[],
    items: readonly ProcessableItem<EventRow>[],
  ): Promise<ItemFailure[]> {
    const rows = indices.map((index) => {
      const row = (items[index] as ProcessableItem<EventRow>).payload;
      return [row.id, row.type, row.source, row.userId, row.data, row.createdAt, row.receivedAt];
    });
    const startedAt = performance.now();
    this.#inFlight += 1;
    this.#statements += 1;
    let failure: unknown;
    let written = 0;
    try {
      const [result] = await this.#pool.query<ResultSetHeader>({
        sql: this.#sql,
        values: [rows],
        timeout: this.#timeoutMs,
      });
      written = result.affectedRows;
    } catch (error) {
      failure = error;
    } finally {
      this.#inFlight -= 1;
    }
    this.#options.onStatement?.(rows.length, performance.now() - startedAt, failure === undefined);
    if (failure === undefined) {
      this.#destinationFailure = undefined;
      this.#rowsWritten += written;
      this.#duplicateRows += rows.length - written;
      return [];
    }
    this.#failedStatements += 1;
    const error = classifyMysqlError(failure, `insert into '${this.table}'`);
    if (error.destination) this.#destinationFailure = error;
    if (error.retriable || indices.length === 1) {
      if (!error.retriable) this.#rowsRejected += 1;
      else this.#logger.warn({ err: error, rows: rows.length }, 'insert failed; will retry');
      return indices.map((index) => ({ index, error }));
    }
    this.#bisections += 1;
    const half = Math.ceil(indices.length / 2);
    const left = await this.#insert(indices.slice(0, half), items);
    const right = await this.#insert(indices.slice(half), items);
    return [...left, ...right];
  }
}

/**
 * Creates an {@link EventStore} on `pool`.
 * @throws {@link InvalidArgumentError} for a bad table name or option
 */
export function createEventStore(options: EventStoreOptions): EventStore {
  return new MysqlEventStore(options);
}
