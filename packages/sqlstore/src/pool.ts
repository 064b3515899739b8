import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@tributary/messagepipeline';
import { requireInteger } from '@tributary/messagepipeline/kernel';
import { createPool, type Pool, type PoolOptions, type SslOptions } from 'mysql2/promise';

/** TLS to the server; without it the connection is plain TCP. */
export interface MysqlTlsOptions {
  /** PEM file of the CA that signed the server certificate. */
  readonly caFile?: string | undefined;
  /** PEM client certificate for mutual TLS (with `keyFile`). */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Verify the server certificate. @defaultValue true */
  readonly rejectUnauthorized?: boolean | undefined;
}

/** Options for {@link createMysqlPool}. */
export interface MysqlPoolOptions {
  /** `mysql://user:password@host:port/database`. */
  readonly url: string;
  /** Connections at most. @defaultValue 4 */
  readonly connectionLimit?: number | undefined;
  /** Longest wait for a new connection, in ms. @defaultValue 10_000 */
  readonly connectTimeoutMs?: number | undefined;
  /** TLS; off when absent. */
  readonly tls?: MysqlTlsOptions | undefined;
}

/** The defaults of {@link MysqlPoolOptions}. */
export const DEFAULT_MYSQL_POOL_OPTIONS = Object.freeze({
  connectionLimit: 4,
  connectTimeoutMs: 10_000,
});

/**
 * The session mode every connection gets: strict, so a value that does not fit fails its
 * statement (and is dead-lettered) instead of being silently truncated or zeroed.
 */
export const SQL_MODE =
  'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

/**
 * Creates a `mysql2` connection pool for the sink: UTC timestamps, strict SQL mode on every
 * connection, optional TLS. The caller owns it and calls `end()` when done.
 * @throws {@link InvalidArgumentError} for a URL that is not `mysql://…` or an out-of-range option
 */
export function createMysqlPool(options: MysqlPoolOptions): Pool {
  const url = URL.parse(options.url);
  if (url === null || (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:')) {
    throw InvalidArgumentError.for('url', 'must be a URL like mysql://user@host:3306/database');
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const config: PoolOptions = {
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    connectionLimit: requireInteger(
      'connectionLimit',
      options.connectionLimit ?? DEFAULT_MYSQL_POOL_OPTIONS.connectionLimit,
      1,
    ),
    connectTimeout: requireInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_MYSQL_POOL_OPTIONS.connectTimeoutMs,
      1,
    ),
    timezone: 'Z',
    supportBigNumbers: true,
    enableKeepAlive: true,
    // affectedRows then counts rows written, not rows matched: a duplicate counts 0.
    flags: ['-FOUND_ROWS'],
  };
  if (database !== '') config.database = database;
  const tls = options.tls;
  if (tls !== undefined) {
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
      throw InvalidArgumentError.for('tls', 'needs both certFile and keyFile, or neither');
    }
    const ssl: SslOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true };
    if (tls.caFile !== undefined) ssl.ca = readFileSync(tls.caFile, 'utf8');
    if (tls.certFile !== undefined) ssl.cert = readFileSync(tls.certFile, 'utf8');
    if (tls.keyFile !== undefined) ssl.key = readFileSync(tls.keyFile, 'utf8');
    config.ssl = ssl;
  }
  const pool = createPool(config);
  // Runs before any other statement on the new connection (the connection queues them).
  pool.pool.on('connection', (connection) => {
    connection.query(`SET SESSION sql_mode = '${SQL_MODE}'`);
  });
  return pool;
}
