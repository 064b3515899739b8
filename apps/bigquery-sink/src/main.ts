import {
  bigQuerySinkStatsDescription,
  loadRowMappingFile,
  loadSchemaFile,
} from '@tributary/bqstore';
import type { RowMappingOptions, TableSchema } from '@tributary/bqstore';
import { isTributaryError } from '@tributary/messagepipeline';
import {
  createLogger,
  createMetricsRegistry,
  createPipelineMetrics,
  exitWithConfigProblems,
  exposeStats,
  loadConfigOrExit,
  redactConfig,
  runService,
} from '@tributary/runtime';
import { BigQuerySinkEnv } from './config.js';
import { createSinkMetrics } from './metrics.js';
import { buildBigQuerySink } from './pipeline.js';

const config = loadConfigOrExit(BigQuerySinkEnv);
const logger = createLogger({
  service: 'bigquery-sink',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(BigQuerySinkEnv, config) }, 'configuration');

/** Reads a file the configuration names; a bad one exits 78 naming the variable. */
async function readConfigFile<T>(
  variable: string,
  path: string | undefined,
  read: (path: string) => Promise<T>,
): Promise<T | undefined> {
  if (path === undefined) return undefined;
  try {
    return await read(path);
  } catch (error) {
    if (!isTributaryError(error) || error.code !== 'CONFIG_INVALID') throw error;
    return exitWithConfigProblems([{ variable, problem: error.message }]);
  }
}

const schema: TableSchema | undefined = await readConfigFile(
  'SCHEMA_FILE',
  config.SCHEMA_FILE,
  loadSchemaFile,
);
const mapping: RowMappingOptions | undefined = await readConfigFile(
  'MAPPING_FILE',
  config.MAPPING_FILE,
  loadRowMappingFile,
);

const registry = createMetricsRegistry({ defaultLabels: { service: 'bigquery-sink' } });
const observer = createPipelineMetrics(registry);
const metrics = createSinkMetrics(registry);
let app;
try {
  app = buildBigQuerySink(config, {
    logger,
    schema,
    mapping,
    observer,
    onEvent: metrics.onEvent,
    onRequest: metrics.onRequest,
  });
} catch (error) {
  if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
    throw error;
  }
  exitWithConfigProblems([{ variable: '(environment)', problem: error.message }]);
}
const { sink } = app;
exposeStats(registry, {
  prefix: 'bigquery_sink',
  stats: () => sink.stats(),
  description: bigQuerySinkStatsDescription,
});

runService({
  name: 'bigquery-sink',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Started in this order, stopped in reverse: the sink stops pulling and flushes its open
  // batches (every message acked or nacked), then the dead-letter producer flushes.
  services: { deadLetterProducer: app.deadLetterProducer, sink },
});
