import type { Transport } from '@tributary/messagepipeline';
import {
  formatRouteProblem,
  loadRoutesFile,
  mqttConsumerStatsDescription,
  RouteConfigError,
  type Route,
} from '@tributary/mqttconverter';
import {
  ConfigInvalidError,
  createPipelineMetrics,
  type AppContext,
  type ComposedApp,
} from '@tributary/runtime';
import type { IngestionConfig } from './config.js';
import { buildIngestion, type Ingestion } from './pipeline.js';

/** What {@link composeIngestion} needs besides the config. */
export interface IngestionAppDeps extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
}

/** The composed app, with its parts for callers that watch them. */
export interface IngestionApp extends ComposedApp {
  readonly ingestion: Ingestion;
}

/**
 * The ingestion app: routes from `ROUTES_FILE`, the MQTT consumer, one producer per route topic
 * and the dead-letter producer, on `deps.transport`.
 * @throws {@link ConfigInvalidError} naming `ROUTES_FILE` when the routes cannot be used.
 */
export async function composeIngestion(
  config: IngestionConfig,
  deps: IngestionAppDeps,
): Promise<IngestionApp> {
  const { logger, registry, transport } = deps;
  const routes = await loadRoutes(config.ROUTES_FILE);
  const ingestion = buildIngestion(config, {
    routes,
    logger,
    observer: createPipelineMetrics(registry),
    transport,
  });
  const { consumer } = ingestion;
  return {
    ingestion,
    // Started in this order, stopped in reverse: the service stops reading MQTT and settles what
    // is in flight (PUBACKs go out), then the producers flush, then the transport closes.
    services: {
      transport,
      ...Object.fromEntries(
        [...ingestion.producers].map(([topic, producer]) => [`producer:${topic}`, producer]),
      ),
      deadLetterProducer: ingestion.deadLetterProducer,
      ingestion: ingestion.service,
    },
    health: { mqtt: consumer },
    stats: [
      { prefix: 'mqtt', stats: () => consumer.stats(), description: mqttConsumerStatsDescription },
      ...transport.statsSources(),
    ],
  };
}

async function loadRoutes(file: string): Promise<readonly Route[]> {
  try {
    return await loadRoutesFile(file);
  } catch (error) {
    if (!(error instanceof RouteConfigError)) throw error;
    throw new ConfigInvalidError(
      error.problems.map((p) => ({ variable: 'ROUTES_FILE', problem: formatRouteProblem(p) })),
    );
  }
}
