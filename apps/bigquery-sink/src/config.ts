import { datasetIdProblem, tableTemplateProblem, viewIdTemplateProblem } from '@tributary/bqstore';
import { configField, standardConfigShape } from '@tributary/runtime';
import * as z from 'zod';

/** BigQuery column names: a letter or _, then letters, digits or _, 300 at most. */
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

/** A zod check reporting what bqstore's id rule `problemOf` says is wrong with a value. */
const refuseWith =
  (problemOf: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx): void => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  };

const optionalFile = (description: string) =>
  configField.readableFile().optional().describe(description);

/** Every variable the BigQuery sink reads; `README.md` renders it with `configMarkdownTable`. */
export const BigQuerySinkEnv = z
  .object({
    ...standardConfigShape(),
    GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
    SUBSCRIPTION: configField.pubsubSubscription().describe('Pub/Sub subscription to read'),
    DEAD_LETTER_TOPIC: configField
      .pubsubTopic()
      .describe('Pub/Sub topic for rows that cannot be written (with error.* attributes)'),
    BIGQUERY_PROJECT: configField
      .googleCloudProject()
      .optional()
      .describe('Project of the dataset (default: GOOGLE_CLOUD_PROJECT)'),
    BIGQUERY_DATASET: z
      .string()
      .superRefine(refuseWith(datasetIdProblem))
      .describe('BigQuery dataset (created when missing)'),
    BIGQUERY_TABLE: z
      .string()
      .superRefine(refuseWith(tableTemplateProblem))
      .describe(
        'Table id (Unicode letters, marks, numbers, _, -, spaces), or a template over attributes such as events_{type} (one table each)',
      ),
    BIGQUERY_LOCATION: z
      .string()
      .min(1)
      .optional()
      .describe('Location of a dataset the sink creates (default: US)'),
    SCHEMA_FILE: optionalFile(
      'BigQuery JSON schema of tables the sink creates; without it, tables must exist',
    ),
    MAPPING_FILE: optionalFile(
      'JSON row mapping: metadata columns, attributes, enrichment (see mapping.example.json)',
    ),
    UNKNOWN_FIELDS: z
      .enum(['ignore', 'dead-letter', 'evolve'])
      .default('dead-letter')
      .describe('Fields the table lacks: drop them, dead-letter the row, or add NULLABLE columns'),
    AUTO_CREATE: configField
      .boolean(true)
      .describe('Create the dataset and table when missing (needs SCHEMA_FILE)'),
    PARTITION_TYPE: z
      .enum(['NONE', 'DAY', 'HOUR'])
      .default('DAY')
      .describe('Time partitioning of tables the sink creates'),
    PARTITION_FIELD: z
      .string()
      .regex(COLUMN_NAME, 'expected a column name')
      .optional()
      .describe('TIMESTAMP column to partition by (default: ingestion time)'),
    PARTITION_EXPIRATION_MS: configField
      .durationMs(0, { min: 0 })
      .describe('Delete partitions older than this (0: keep them)'),
    CLUSTERING_FIELDS: z
      .string()
      .regex(
        /^[A-Za-z0-9_]+(,[A-Za-z0-9_]+){0,3}$/,
        'expected up to 4 column names, comma-separated',
      )
      .optional()
      .describe('Clustering columns of tables the sink creates, comma-separated'),
    DEDUP_VIEW: z
      .string()
      .superRefine(refuseWith(viewIdTemplateProblem))
      .optional()
      .describe(
        'Also create a view with one row per message id (needs messageIdColumn in MAPPING_FILE)',
      ),
    WRITER: z
      .enum(['storage-write', 'insertAll'])
      .default('storage-write')
      .describe(
        'Row writer: the Storage Write API (storage-write, Google recommends it), or the legacy insertAll (its insertId de-duplicates retries for about a minute)',
      ),
    STORAGE_WRITE_STREAM: z
      .enum(['default', 'committed'])
      .default('default')
      .describe(
        'With WRITER=storage-write: the _default stream (at-least-once), or committed streams with offsets (a retried append is never written twice)',
      ),
    BIGQUERY_EMULATOR_HOST: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Base URL of a local BigQuery REST server, read by the BigQuery client (with WRITER=storage-write, set BIGQUERY_STORAGE_EMULATOR_HOST too)',
      ),
    BIGQUERY_STORAGE_EMULATOR_HOST: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
      .optional()
      .describe('host:port of a local Storage Write API server (plaintext, no credentials)'),
    BATCH_MAX_ITEMS: configField.integer(500, { min: 1 }).describe('Rows per batch at most'),
    BATCH_MAX_BYTES: configField
      .bytes(5 * 1024 * 1024, { min: 1 })
      .describe('Message bytes per batch at most'),
    BATCH_MAX_WAIT_MS: configField
      .durationMs(5_000, { min: 1 })
      .describe('A batch is written this long after its oldest message arrived'),
    MAX_CONCURRENT_FLUSHES: configField
      .integer(2, { min: 1 })
      .describe('Batches being written at once'),
    INSERT_MAX_ROWS: configField
      .integer(500, { min: 1, max: 50_000 })
      .describe('Rows per insertAll request (Google recommends 500)'),
    INSERT_MAX_BYTES: configField
      .bytes(10_000_000, { min: 1_000, max: 10_000_000 })
      .describe('Bytes per insertAll request'),
    INSERT_CONCURRENCY: configField
      .integer(4, { min: 1 })
      .describe('insertAll requests of one batch in flight at once'),
    INSERT_TIMEOUT_MS: configField
      .durationMs(30_000, { min: 1 })
      .describe('An insertAll request without an answer by then is retried'),
    RETRY_MAX_ATTEMPTS: configField
      .integer(5, { min: 1 })
      .describe('Attempts per row before it is nacked (Pub/Sub redelivers it)'),
    RETRY_INITIAL_BACKOFF_MS: configField
      .durationMs(200, { min: 0 })
      .describe('First retry wait bound (exponential, full jitter)'),
    RETRY_MAX_BACKOFF_MS: configField.durationMs(10_000, { min: 0 }).describe('Longest retry wait'),
    MAX_DELIVERY_ATTEMPTS: configField
      .integer(0, { min: 0 })
      .describe('Dead-letter a row failing transiently from this delivery attempt on (0: never)'),
    MAX_IN_FLIGHT_MESSAGES: configField
      .integer(5_000, { min: 1 })
      .describe('Messages leased from Pub/Sub and not yet settled'),
    MAX_IN_FLIGHT_BYTES: configField
      .bytes(64 * 1024 * 1024, { min: 1 })
      .describe('Bytes of those messages'),
    STALL_AFTER_MS: configField
      .durationMs(60_000, { min: 1 })
      .describe(
        '/readyz turns 503 when the oldest unsettled Pub/Sub message is older than this, or a destination holds messages back',
      ),
  })
  .superRefine((config, ctx) => {
    // A local REST server with Google's Write API would send every row to the real project.
    if (
      config.WRITER === 'storage-write' &&
      config.BIGQUERY_EMULATOR_HOST !== undefined &&
      config.BIGQUERY_STORAGE_EMULATOR_HOST === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['BIGQUERY_STORAGE_EMULATOR_HOST'],
        message:
          'required with BIGQUERY_EMULATOR_HOST and WRITER=storage-write (the local Storage Write API server), or set WRITER=insertAll',
      });
    }
  });

/** The parsed configuration. */
export type BigQuerySinkConfig = z.infer<typeof BigQuerySinkEnv>;
