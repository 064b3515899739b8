export { FaultInjector, injectFault, clearFaults, FAULTS_PATH } from './http/faults.js';
export type { Fault, FaultRule } from './http/faults.js';
export { startLocalServer } from './http/local-server.js';
export type { ListenOptions, LocalServer, RequestHandler } from './http/local-server.js';
export { startGcsServer, DEFAULT_GCS_SERVER_OPTIONS } from './gcs/server.js';
export type { GcsServer, GcsServerOptions } from './gcs/server.js';
export type { GcsOperation } from './gcs/routes.js';
export { startBigQueryServer } from './bigquery/server.js';
export type { BigQueryServer, BigQueryServerOptions } from './bigquery/server.js';
export type { RowsWrittenEvent } from './bigquery/context.js';
export type { BigQueryWriteServer, BigQueryWriteServerOptions } from './bigquery/write-api.js';
export { WriteApiFaults } from './bigquery/write-api-faults.js';
export type {
  WriteApiFault,
  WriteApiFaultRule,
  WriteApiMethod,
} from './bigquery/write-api-faults.js';
export type { BigQueryOperation } from './bigquery/routing.js';
export { DEFAULT_INSERT_ALL_LIMITS } from './bigquery/insert-all.js';
export { fetchInsertAllStats, INSERT_ALL_STATS_PATH } from './bigquery/request-log.js';
export type { InsertAllStats } from './bigquery/request-log.js';
export type { InsertAllLimits } from './bigquery/insert-all.js';
export { LauncherError, launcherErrorCodes } from './launchers/errors.js';
export type { LauncherErrorCode } from './launchers/errors.js';
export { findFreePort } from './launchers/free-port.js';
export { findSdkRoot, WELL_KNOWN_SDK_ROOT } from './launchers/gcloud-sdk.js';
export type { SdkOptions } from './launchers/gcloud-sdk.js';
export type { JavaOptions } from './launchers/java.js';
export type { LocalProcess, ProcessLaunchOptions } from './launchers/local-process.js';
export { startPubSubEmulator } from './launchers/pubsub-emulator.js';
export type { PubSubEmulator, PubSubEmulatorOptions } from './launchers/pubsub-emulator.js';
export { startFirestoreEmulator } from './launchers/firestore-emulator.js';
export type {
  FirestoreEmulator,
  FirestoreEmulatorOptions,
} from './launchers/firestore-emulator.js';
export { startRedis, REDIS_STANDARD_PORT } from './launchers/redis.js';
export type { RedisOptions, RedisServer } from './launchers/redis.js';
export { startRedisCluster } from './launchers/redis-cluster.js';
export type { RedisCluster, RedisClusterOptions } from './launchers/redis-cluster.js';
export {
  startMosquitto,
  startPrivateMosquitto,
  MQTT_STANDARD_PORT,
} from './launchers/mosquitto.js';
export type {
  MosquittoBroker,
  MosquittoOptions,
  PrivateMosquittoBroker,
  PrivateMosquittoOptions,
} from './launchers/mosquitto.js';
export { startLocalStack } from './harness/local-stack.js';
export type { LocalStack, LocalStackOptions, StackService } from './harness/local-stack.js';
export { STACK_ENV_NAMES, DEFAULT_TEST_PROJECT_ID } from './harness/stack-env.js';
export type { StackEnv, StackEnvName } from './harness/stack-env.js';
export { testEnv } from './harness/test-env.js';
export { uniqueName } from './harness/unique-name.js';
export { productionClosure } from './harness/production-closure.js';
export type { ProductionClosure } from './harness/production-closure.js';
export { startAppProcess, waitForAppReady } from './harness/app-process.js';
export type { AppProcess, AppProcessOptions } from './harness/app-process.js';
