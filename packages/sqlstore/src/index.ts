export { classifyMysqlError, mysqlErrorCode } from './classify-error.js';
export { createMysqlPool, DEFAULT_MYSQL_POOL_OPTIONS, SQL_MODE } from './pool.js';
export type { MysqlPoolOptions, MysqlTlsOptions } from './pool.js';
export { eventTableMigrations, runMigrations } from './migrations.js';
export type { Migration, MigrationResult, RunMigrationsOptions } from './migrations.js';
export { eventAttributes, eventRowTransformer, toEventRow } from './event-row.js';
export type { EventRow } from './event-row.js';
export { createEventStore, eventStoreStatsDescription } from './event-store.js';
export type { EventStore, EventStoreOptions, EventStoreStats } from './event-store.js';
