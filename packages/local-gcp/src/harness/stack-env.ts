/** The variables a local stack hands to tests and apps, in the order `npm run stack` prints them. */
export const STACK_ENV_NAMES = [
  'PUBSUB_EMULATOR_HOST',
  'FIRESTORE_EMULATOR_HOST',
  'STORAGE_EMULATOR_HOST',
  'BIGQUERY_EMULATOR_HOST',
  'BIGQUERY_STORAGE_EMULATOR_HOST',
  'REDIS_URL',
  'MQTT_URL',
  'GOOGLE_CLOUD_PROJECT',
  'METADATA_SERVER_DETECTION',
] as const;

export type StackEnvName = (typeof STACK_ENV_NAMES)[number];

/**
 * Where each local service is: `PUBSUB_EMULATOR_HOST` and `FIRESTORE_EMULATOR_HOST` are
 * `host:port`; `STORAGE_EMULATOR_HOST` and `BIGQUERY_EMULATOR_HOST` are `http://host:port`;
 * `BIGQUERY_STORAGE_EMULATOR_HOST` is the `host:port` of the local BigQuery server's Storage
 * Write API (our convention: the client reads no emulator variable; empty when an external
 * `BIGQUERY_EMULATOR_HOST` was given without it);
 * `REDIS_URL` is `redis://…`, `MQTT_URL` is `mqtt://…`; `GOOGLE_CLOUD_PROJECT` defaults to
 * `test-proj` and `METADATA_SERVER_DETECTION` to `none` (no probing of the GCE metadata server).
 */
export type StackEnv = { readonly [K in StackEnvName]: string };

/** The project id tests use unless `GOOGLE_CLOUD_PROJECT` says otherwise. */
export const DEFAULT_TEST_PROJECT_ID = 'test-proj';
