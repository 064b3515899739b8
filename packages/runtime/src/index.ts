export {
  CONFIG_EXIT_CODE,
  ConfigInvalidError,
  REDACTED,
  configField,
  configMarkdownTable,
  describeConfig,
  exitWithConfigProblems,
  loadConfig,
  loadConfigOrExit,
  logLevels,
  parseBytes,
  parseDurationMs,
  publishBatchingConfigShape,
  redactConfig,
  secret,
  standardConfigShape,
} from './config.js';
export type {
  ConfigExitOptions,
  ConfigProblem,
  ConfigSchema,
  ConfigVariable,
  Environment,
  LoadConfigOrExitOptions,
  LogLevel,
  RangeOptions,
} from './config.js';
export { DEFAULT_REDACT_PATHS, createLogger } from './logger.js';
export type { AppLogger, CreateLoggerOptions, LogDestination } from './logger.js';
export {
  DEFAULT_PIPELINE_METRICS_OPTIONS,
  combineObservers,
  createDurationHistogram,
  createMetricsRegistry,
  createPipelineMetrics,
  exposeStats,
  pipelineMetricNames,
} from './metrics.js';
export type {
  DurationHistogramOptions,
  ExposeStatsOptions,
  MetricsRegistryOptions,
  PipelineMetricsOptions,
} from './metrics.js';
export type { Registry } from 'prom-client';
export { createHealthServer, sendJson } from './http-server.js';
export type {
  HealthServer,
  HealthServerOptions,
  ReadinessReport,
  HttpRoute,
  HttpRouteHandler,
  ServerState,
} from './http-server.js';
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  exitCodes,
  nodeProcessHooks,
  runService,
} from './run-service.js';
export type { ProcessHooks, RunServiceOptions, ServiceRun } from './run-service.js';
export { runApp, runComposedApp } from './run-app.js';
export type { AppContext, ComposedApp, RunAppOptions, RunComposedAppOptions } from './run-app.js';
