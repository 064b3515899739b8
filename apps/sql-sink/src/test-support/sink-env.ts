import { testEnv } from '@tributary/local-gcp';

/** The MariaDB the tests use (`.ci/run` starts it): root without a password, database `test`. */
export const MYSQL_URL = process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';

/** The environment for a sql-sink run against the harness's services. */
export function sqlSinkEnvironment(
  overrides: Readonly<Record<string, string>>,
): Record<string, string> {
  const stack = testEnv();
  return {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    MYSQL_URL,
    PORT: '0',
    LOG_LEVEL: 'warn',
    BATCH_MAX_WAIT_MS: '200',
    RETRY_INITIAL_BACKOFF_MS: '50',
    ...overrides,
  };
}
