import { isTributaryError, TributaryError, type ErrorCode } from '@tributary/messagepipeline';

/**
 * Server error codes worth trying again: the connection went away, the server is busy or
 * restarting, a lock could not be had. The statement did not take effect, so it can be repeated.
 */
const TRANSIENT: ReadonlySet<string> = new Set([
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_QUERY_TIMEOUT',
  'ER_STATEMENT_TIMEOUT',
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_OUT_OF_RESOURCES',
  'ER_OUTOFMEMORY',
  'ER_CANT_LOCK',
  'ER_READ_ONLY_MODE',
  'ER_OPTION_PREVENTS_STATEMENT',
]);

/** MariaDB numbers mysql2 names differently or not at all (1927: connection was killed). */
const TRANSIENT_ERRNO: ReadonlySet<number> = new Set([1927, 1969, 3024]);

/** Where the rows go is missing or refuses us: the sink is misconfigured, the rows are fine. */
const DESTINATION: ReadonlySet<string> = new Set([
  'ER_NO_SUCH_TABLE',
  'ER_BAD_DB_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_BAD_FIELD_ERROR',
]);

/** Client-side (network) failures: no server answer at all. */
const NETWORK: ReadonlySet<string> = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The fields of a mysql2 error this module reads. */
interface DriverError {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly sqlMessage?: unknown;
  readonly message?: unknown;
  readonly fatal?: unknown;
}

/** `ER_DATA_TOO_LONG (1406): Data too long for column 'type' at row 1`. */
function describe(error: DriverError): string {
  const code = typeof error.code === 'string' ? error.code : 'UNKNOWN';
  const errno = typeof error.errno === 'number' ? ` (${error.errno})` : '';
  const text =
    typeof error.sqlMessage === 'string'
      ? error.sqlMessage
      : typeof error.message === 'string'
        ? error.message
        : 'no message';
  return `${code}${errno}: ${text}`;
}

/** The driver code (`ER_DATA_TOO_LONG`, `PROTOCOL_CONNECTION_LOST`) of a mysql2 error, if any. */
export function mysqlErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as DriverError).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies a mysql2 error for the pipeline contract; the MySQL code and number lead the message
 * (`ER_DATA_TOO_LONG (1406): …`), so a dead letter's `error.message` names it.
 *
 * - transient (retried, then nacked): lost or refused connections, timeouts, deadlocks, lock wait
 *   timeouts, too many connections, a killed connection or query, a read-only or shutting-down server;
 * - destination (held, not ready): unknown database, table or column, access denied;
 * - permanent (dead-lettered): anything the row itself causes (data too long, invalid JSON, a
 *   value out of range, a violated constraint) and any other server error.
 *
 * Tributary errors pass through unchanged.
 */
export function classifyMysqlError(error: unknown, context = 'mysql'): TributaryError {
  if (isTributaryError(error)) return error;
  if (typeof error !== 'object' || error === null) {
    return TributaryError.transient('INTERNAL', `${context}: ${String(error)}`, error);
  }
  const driver = error as DriverError;
  const code = typeof driver.code === 'string' ? driver.code : '';
  const errno = typeof driver.errno === 'number' ? driver.errno : -1;
  const message = `${context}: ${describe(driver)}`;
  if (NETWORK.has(code) || TRANSIENT.has(code) || TRANSIENT_ERRNO.has(errno)) {
    return TributaryError.transient(
      code.includes('TIMEOUT') ? 'TIMEOUT' : 'UNAVAILABLE',
      message,
      error,
    );
  }
  if (DESTINATION.has(code)) {
    const kind: ErrorCode = code.includes('ACCESS') ? 'PERMISSION_DENIED' : 'NOT_FOUND';
    return TributaryError.destination(kind, message, error);
  }
  if (code.startsWith('ER_') || errno > 0) {
    return TributaryError.permanent('SINK_FAILED', message, error);
  }
  // No server code: a client-side fault (a fatal protocol error, a closed pool). Retry it.
  return TributaryError.transient('UNAVAILABLE', message, error);
}
