import { configField, secret, standardConfigShape } from '@tributary/runtime';
import * as z from 'zod';

const optionalFile = (description: string) =>
  configField.readableFile().optional().describe(description);

const SqlSinkFields = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  SUBSCRIPTION: configField
    .pubsubSubscription()
    .describe('Pub/Sub subscription of the events (the raw topic, as http-ingest publishes them)'),
  DEAD_LETTER_TOPIC: configField
    .pubsubTopic()
    .describe('Pub/Sub topic for events the database refuses (with error.* attributes)'),
  MYSQL_URL: secret(
    z.string().refine((value) => {
      const url = URL.parse(value);
      return url !== null && url.host !== '' && ['mysql:', 'mariadb:'].includes(url.protocol);
    }, 'expected a URL like mysql://user:password@host:3306/database'),
  ).describe('MySQL or MariaDB server, user, password and database'),
  MYSQL_TABLE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,48}$/, 'expected 1 to 49 letters, digits or underscores')
    .default('events')
    .describe('Event table; migrations create it and <table>_schema_version'),
  MYSQL_POOL_SIZE: configField.integer(4, { min: 1, max: 1000 }).describe('Pool connections'),
  MYSQL_CONNECT_TIMEOUT_MS: configField
    .durationMs(10_000, { min: 1 })
    .describe('Longest wait for a new connection'),
  MYSQL_STATEMENT_TIMEOUT_MS: configField
    .durationMs(30_000, { min: 1 })
    .describe('An INSERT running longer fails (transient: retried)'),
  MYSQL_TLS: configField.boolean(false).describe('Connect with TLS'),
  MYSQL_TLS_CA_FILE: optionalFile('PEM file of the CA that signed the server certificate'),
  MYSQL_TLS_CERT_FILE: optionalFile('PEM client certificate (with MYSQL_TLS_KEY_FILE)'),
  MYSQL_TLS_KEY_FILE: optionalFile('PEM private key of MYSQL_TLS_CERT_FILE'),
  MYSQL_TLS_REJECT_UNAUTHORIZED: configField
    .boolean(true)
    .describe('Verify the server certificate'),
  BATCH_MAX_ITEMS: configField.integer(500, { min: 1, max: 10_000 }).describe('Rows per INSERT'),
  BATCH_MAX_BYTES: configField
    .bytes(4 * 1024 * 1024, { min: 1, max: 64 * 1024 * 1024 })
    .describe("Message bytes per INSERT (keep under the server's max_allowed_packet)"),
  BATCH_MAX_WAIT_MS: configField
    .durationMs(1_000, { min: 1 })
    .describe('A batch is written this long after its oldest event arrived'),
  MAX_CONCURRENT_FLUSHES: configField
    .integer(2, { min: 1 })
    .describe('INSERT statements at once (at most MYSQL_POOL_SIZE are useful)'),
  RETRY_MAX_ATTEMPTS: configField
    .integer(4, { min: 1, max: 100 })
    .describe('Attempts per transient failure, the first included (4: three retries), then nack'),
  RETRY_INITIAL_BACKOFF_MS: configField
    .durationMs(200, { min: 0 })
    .describe('Upper bound of the first retry wait (exponential, full jitter)'),
  MAX_IN_FLIGHT_MESSAGES: configField
    .integer(2_000, { min: 1 })
    .describe('Messages pulled and not yet settled'),
  MAX_IN_FLIGHT_BYTES: configField
    .bytes(64 * 1024 * 1024, { min: 1 })
    .describe('Bytes of those messages'),
  MAX_DELIVERY_ATTEMPTS: configField
    .integer(0, { min: 0, max: 100 })
    .describe(
      "Dead-letter a transient failure from this delivery attempt on (match the subscription's policy); 0: never",
    ),
  STALL_AFTER_MS: configField
    .durationMs(60_000, { min: 1 })
    .describe('/readyz turns 503 when messages are pending and none settled for this long'),
});

const always = { when: () => true };

/** Every variable the sql-sink app reads; `README.md` renders it with `configMarkdownTable`. */
export const SqlSinkEnv = SqlSinkFields.refine(
  (c) => (c.MYSQL_TLS_CERT_FILE === undefined) === (c.MYSQL_TLS_KEY_FILE === undefined),
  {
    path: ['MYSQL_TLS_KEY_FILE'],
    message: 'MYSQL_TLS_CERT_FILE and MYSQL_TLS_KEY_FILE go together',
    ...always,
  },
).refine((c) => c.MAX_CONCURRENT_FLUSHES <= c.MYSQL_POOL_SIZE, {
  path: ['MAX_CONCURRENT_FLUSHES'],
  message: 'must not exceed MYSQL_POOL_SIZE',
  ...always,
});

/** The parsed configuration. */
export type SqlSinkConfig = z.infer<typeof SqlSinkEnv>;
