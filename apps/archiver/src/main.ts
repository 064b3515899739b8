import { archiveSinkStatsDescription } from '@tributary/icestore';
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
import { ArchiverEnv } from './config.js';
import { buildArchiver } from './pipeline.js';

const config = loadConfigOrExit(ArchiverEnv);
const logger = createLogger({
  service: 'archiver',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(ArchiverEnv, config) }, 'configuration');

const registry = createMetricsRegistry({ defaultLabels: { service: 'archiver' } });
let app;
try {
  app = buildArchiver(config, { logger, observer: createPipelineMetrics(registry) });
} catch (error) {
  if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
    throw error;
  }
  exitWithConfigProblems([{ variable: 'KEY_TEMPLATE', problem: error.message }]);
}
const { sink } = app;
exposeStats(registry, {
  prefix: 'archiver',
  stats: () => sink.stats(),
  description: archiveSinkStatsDescription,
});

runService({
  name: 'archiver',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // The sink checks the bucket first (a missing bucket or a refusal fails startup), and on
  // SIGTERM stops pulling and flushes every key's open batch.
  services: { sink },
});
