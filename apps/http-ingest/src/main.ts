import { isTributaryError } from '@tributary/messagepipeline';
import {
  ConfigInvalidError,
  createLogger,
  createMetricsRegistry,
  exitWithConfigProblems,
  exposeStats,
  loadConfigOrExit,
  redactConfig,
  runService,
} from '@tributary/runtime';
import { HttpIngestEnv } from './config.js';
import { httpIngestStatsDescription } from './ingest.js';
import { buildHttpIngest } from './pipeline.js';

const config = loadConfigOrExit(HttpIngestEnv);
const logger = createLogger({
  service: 'http-ingest',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(HttpIngestEnv, config) }, 'configuration');
if (config.AUTH_DISABLED)
  logger.warn({}, 'AUTH_DISABLED: every request is accepted unauthenticated');

const registry = createMetricsRegistry({ defaultLabels: { service: 'http-ingest' } });
let app;
try {
  app = buildHttpIngest(config, { logger, registry });
} catch (error) {
  if (error instanceof ConfigInvalidError) exitWithConfigProblems(error.problems);
  // The schema checks what the clients refuse; should a value still slip through, it is a
  // configuration mistake all the same: exit 78 with the reason, not a stack trace.
  if (!isTributaryError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
  exitWithConfigProblems([{ variable: '(environment)', problem: error.message }]);
}
const { ingest, producer } = app;

exposeStats(registry, {
  prefix: 'http_ingest',
  stats: () => ingest.stats(),
  description: httpIngestStatsDescription,
});

runService({
  name: 'http-ingest',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  routes: ingest.routes,
  // Started in this order, stopped in reverse: the API stops taking requests (503) and answers
  // those in flight once their publishes are confirmed; then the producer flushes.
  services: { producer, ingest },
});
