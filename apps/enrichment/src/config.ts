import {
  configField,
  publishBatchingConfigShape,
  secret,
  standardConfigShape,
} from '@tributary/runtime';
import * as z from 'zod';

/** Every variable the enrichment app reads; `README.md` renders it with `configMarkdownTable`. */
export const EnrichmentEnv = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  INPUT_SUBSCRIPTION: configField
    .pubsubSubscription()
    .describe('Pub/Sub subscription of the raw topic'),
  OUTPUT_TOPIC: configField.pubsubTopic().describe('Pub/Sub topic the enriched messages go to'),
  DEAD_LETTER_TOPIC: configField
    .pubsubTopic()
    .describe('Pub/Sub topic for messages a policy dead-letters (with error.* attributes)'),
  LOOKUPS_FILE: configField
    .readableFile()
    .describe('YAML or JSON lookups file (see lookups.example.yaml)'),
  REDIS_URL: secret(
    z
      .string()
      .regex(
        /^rediss?:\/\/[^,\s]+(,rediss?:\/\/[^,\s]+)*$/,
        'expected redis://host:port or rediss://…',
      )
      .optional(),
  ).describe(
    'Redis (or Cluster seed nodes, comma-separated); fetchers with `redis` use it. Unset: LRU only',
  ),
  REDIS_CLUSTER: configField
    .boolean(false)
    .describe('REDIS_URL is a Redis Cluster (Memorystore cluster mode)'),
  REDIS_COMMAND_TIMEOUT_MS: configField
    .durationMs(1_000, { min: 1 })
    .describe('A Redis command unanswered this long fails (the lookup goes on to the source)'),
  INVALIDATION_CHANNEL_PREFIX: z
    .string()
    .min(1)
    .optional()
    .describe('With Redis: invalidations of fetcher <f> are heard on channel <prefix>:<f>'),
  BREAKER_FAILURE_THRESHOLD: configField
    .integer(5, { min: 1 })
    .describe('Consecutive Redis failures that open its circuit (Redis is then bypassed)'),
  BREAKER_COOLDOWN_MS: configField
    .durationMs(5_000, { min: 0 })
    .describe('How long an open circuit bypasses Redis before one probe tries it'),
  CONCURRENCY: configField
    .integer(200, { min: 1 })
    .describe('Messages enriched and published at once'),
  MAX_IN_FLIGHT_MESSAGES: configField
    .integer(1_000, { min: 1 })
    .describe('Messages pulled and not yet settled; at the limit the app stops pulling'),
  MAX_IN_FLIGHT_BYTES: configField
    .bytes(64 * 1024 * 1024, { min: 1 })
    .describe('Bytes of those messages'),
  RETRY_MAX_ATTEMPTS: configField
    .integer(3, { min: 1 })
    .describe('Attempts of a failing lookup or publish before the message is nacked'),
  RETRY_INITIAL_BACKOFF_MS: configField
    .durationMs(100, { min: 0 })
    .describe('Upper bound of the first retry wait (exponential backoff, full jitter)'),
  MAX_DELIVERY_ATTEMPTS: configField
    .integer(0, { min: 0, max: 100 })
    .describe(
      'Past this many deliveries a still-failing message is dead-lettered (0: never; match the subscription)',
    ),
  ...publishBatchingConfigShape(),
  STALL_AFTER_MS: configField
    .durationMs(60_000, { min: 1 })
    .describe('/readyz turns 503 when messages are pending and none settled for this long'),
});

/** The parsed configuration. */
export type EnrichmentConfig = z.infer<typeof EnrichmentEnv>;
