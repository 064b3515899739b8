import { configField, standardConfigShape } from '@tributary/runtime';
import * as z from 'zod';

/** Every variable the archiver reads; `README.md` renders it with `configMarkdownTable`. */
export const ArchiverEnv = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  SUBSCRIPTION: configField.pubsubSubscription().describe('Pub/Sub subscription to archive'),
  BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'expected a bucket name')
    .describe('Cloud Storage bucket (must exist; checked at startup)'),
  PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*)?$/, 'expected segments of [A-Za-z0-9_.=-]')
    .refine((value) => !value.split('/').some((s) => s === '.' || s === '..'), 'no . or ..')
    .default('archive')
    .describe("Object-name prefix ('' for the bucket root)"),
  KEY_TEMPLATE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Folders below the prefix: {yyyy} {MM} {dd} {HH} {attributes.NAME} {enrichment.a.b} (default: the date)',
    ),
  LAYOUT: z
    .enum(['plain', 'hive'])
    .default('plain')
    .describe('hive: every folder reads name=value (dt=2026-12-01/location=north)'),
  HOURLY: configField.boolean(false).describe('Add the hour to the default key template'),
  TIMESTAMP_FIELD: z
    .string()
    .min(1)
    .optional()
    .describe('Payload field with the event time for the date (default: the publish time)'),
  MAX_CLOCK_SKEW_MS: configField
    .durationMs(86_400_000, { min: 0 })
    .describe('A payload time further than this from the publish time is ignored'),
  MISSING_PART: z
    .string()
    .regex(/^[A-Za-z0-9_.=-]+$/, 'expected [A-Za-z0-9_.=-]')
    .default('_unknown')
    .describe('Folder for a missing key part'),
  BATCH_MAX_ITEMS: configField.integer(10_000, { min: 1 }).describe('Records per object at most'),
  BATCH_MAX_BYTES: configField
    .bytes(16 * 1024 * 1024, { min: 1 })
    .describe('Message bytes per object at most (before compression)'),
  BATCH_MAX_WAIT_MS: configField
    .durationMs(60_000, { min: 1 })
    .describe("An object is written this long after its key's oldest message arrived"),
  BUFFER_BUDGET_BYTES: configField
    .bytes(128 * 1024 * 1024, { min: 1 })
    .describe('Bytes held in all batches at most; past it the largest flush early (pressure)'),
  MAX_OPEN_KEYS: configField.integer(1_000, { min: 1 }).describe('Keys with an open batch at most'),
  MAX_CONCURRENT_FLUSHES: configField.integer(4, { min: 1 }).describe('Uploads at once'),
  GZIP_LEVEL: configField.integer(6, { min: 0, max: 9 }).describe('gzip level, 0-9'),
  UPLOAD_TIMEOUT_MS: configField
    .durationMs(60_000, { min: 1 })
    .describe('An upload without an answer by then is retried'),
  RETRY_MAX_ATTEMPTS: configField
    .integer(5, { min: 1 })
    .describe('Upload attempts per batch before its messages are nacked'),
  RETRY_INITIAL_BACKOFF_MS: configField
    .durationMs(500, { min: 0 })
    .describe('First retry wait bound'),
  RETRY_MAX_BACKOFF_MS: configField.durationMs(30_000, { min: 0 }).describe('Longest retry wait'),
  MAX_IN_FLIGHT_MESSAGES: configField
    .integer(20_000, { min: 1 })
    .describe(
      'Messages leased from Pub/Sub and not yet settled; at the limit the largest batches are written early',
    ),
  MAX_IN_FLIGHT_BYTES: configField
    .bytes(256 * 1024 * 1024, { min: 1 })
    .describe('Bytes of those messages'),
  STALL_AFTER_MS: configField
    .durationMs(300_000, { min: 1 })
    .describe('/readyz turns 503 when the oldest unsettled message is older than this'),
});

/** The parsed configuration. */
export type ArchiverConfig = z.infer<typeof ArchiverEnv>;
