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
import { isTributaryError } from '@tributary/messagepipeline';
import { pubsubProducerStatsDescription } from '@tributary/messagepipeline/pubsub';
import {
  formatRouteProblem,
  loadRoutesFile,
  mqttConsumerStatsDescription,
  RouteConfigError,
} from '@tributary/mqttconverter';
import { IngestionEnv } from './config.js';
import { buildIngestion } from './pipeline.js';

const config = loadConfigOrExit(IngestionEnv);
const logger = createLogger({
  service: 'ingestion',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(IngestionEnv, config) }, 'configuration');

let routes;
try {
  routes = await loadRoutesFile(config.ROUTES_FILE);
} catch (error) {
  if (!(error instanceof RouteConfigError)) throw error;
  exitWithConfigProblems(
    error.problems.map((p) => ({ variable: 'ROUTES_FILE', problem: formatRouteProblem(p) })),
  );
}

const registry = createMetricsRegistry({ defaultLabels: { service: 'ingestion' } });
const observer = createPipelineMetrics(registry);
let ingestion;
try {
  ingestion = buildIngestion(config, { routes, logger, observer });
} catch (error) {
  // The schema checks what the clients refuse; should a value still slip through, it is a
  // configuration mistake all the same: exit 78 with the reason, not a stack trace.
  if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
    throw error;
  }
  exitWithConfigProblems([{ variable: '(environment)', problem: error.message }]);
}
const { consumer } = ingestion;

exposeStats(registry, {
  prefix: 'mqtt',
  stats: () => consumer.stats(),
  description: mqttConsumerStatsDescription,
});
for (const producer of [...ingestion.producers.values(), ingestion.deadLetterProducer]) {
  exposeStats(registry, {
    prefix: 'pubsub_producer',
    stats: () => producer.stats(),
    description: pubsubProducerStatsDescription,
    labels: { topic: producer.name },
  });
}

runService({
  name: 'ingestion',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Started in this order, stopped in reverse: the service stops reading MQTT and settles what
  // is in flight (PUBACKs go out), then the producers flush.
  services: {
    pubsubClient: ingestion.client,
    ...Object.fromEntries(
      [...ingestion.producers].map(([topic, producer]) => [`producer:${topic}`, producer]),
    ),
    deadLetterProducer: ingestion.deadLetterProducer,
    ingestion: ingestion.service,
  },
  health: { mqtt: consumer },
});
