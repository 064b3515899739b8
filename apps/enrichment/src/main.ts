import {
  enricherStatsDescription,
  formatLookupsProblem,
  loadLookupsFile,
  lookupStatsDescription,
  LookupsConfigError,
  type BuiltFetcher,
} from '@tributary/enrichment';
import { isTributaryError } from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import {
  createDurationHistogram,
  createLogger,
  createMetricsRegistry,
  createPipelineMetrics,
  exitWithConfigProblems,
  exposeStats,
  loadConfigOrExit,
  redactConfig,
  runService,
  type Registry,
} from '@tributary/runtime';
import { EnrichmentEnv } from './config.js';
import { buildEnrichment } from './pipeline.js';

const config = loadConfigOrExit(EnrichmentEnv);
const logger = createLogger({
  service: 'enrichment',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(EnrichmentEnv, config) }, 'configuration');

let lookups;
try {
  lookups = await loadLookupsFile(config.LOOKUPS_FILE);
} catch (error) {
  if (!(error instanceof LookupsConfigError)) throw error;
  exitWithConfigProblems(
    error.problems.map((p) => ({ variable: 'LOOKUPS_FILE', problem: formatLookupsProblem(p) })),
  );
}

const registry = createMetricsRegistry({ defaultLabels: { service: 'enrichment' } });
const observer = createPipelineMetrics(registry);
const observeCache = createDurationHistogram(registry, {
  name: 'tributary_cache_operation_duration_ms',
  help: 'Duration of cache layer and source operations (a coalesced batch counts once)',
  labelNames: ['layer', 'operation', 'outcome'],
});

let enrichment;
try {
  enrichment = await buildEnrichment(config, {
    lookups,
    logger,
    observer,
    cacheObserver: (event) => {
      observeCache(
        { layer: event.layer, operation: event.operation, outcome: event.outcome },
        event.durationMs,
      );
    },
  });
} catch (error) {
  // A source file that cannot be loaded, or a value a client refuses: a configuration mistake,
  // exit 78 with the reason, not a stack trace.
  if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
    throw error;
  }
  exitWithConfigProblems([{ variable: 'LOOKUPS_FILE', problem: error.message }]);
}

exposeFetcherStats(registry, enrichment.fetchers);
exposeStats(registry, {
  prefix: 'enrichment',
  stats: () => enrichment.enricher.stats(),
  description: enricherStatsDescription,
});
for (const lookup of lookups.lookups) {
  exposeStats(registry, {
    prefix: 'enrichment_lookup',
    labels: { lookup: lookup.name },
    stats: () => enrichment.enricher.lookupStats(lookup.name),
    description: lookupStatsDescription,
  });
}

// Stopped last: closes the Redis, Firestore and Pub/Sub clients once nothing uses them.
const closing = new Lifecycle('clients', { stop: () => enrichment.close() });
const clients = {
  start: () => closing.start(),
  stop: (options?: { timeoutMs?: number | undefined }) => closing.stop(options),
  done: closing.done,
};

runService({
  name: 'enrichment',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Started in this order, stopped in reverse: the service stops pulling and settles what is in
  // flight, the caches drain their write-backs, the producers flush, then the clients close.
  services: {
    clients,
    producer: enrichment.producer,
    deadLetterProducer: enrichment.deadLetterProducer,
    ...Object.fromEntries(
      [...enrichment.fetchers].map(([name, built]) => [`cache:${name}`, built.chain]),
    ),
    enrichment: enrichment.service,
  },
  health: { subscription: enrichment.consumer },
});

/** Every fetcher's chain, layers and source on /metrics, labelled by fetcher. */
function exposeFetcherStats(metrics: Registry, fetchers: ReadonlyMap<string, BuiltFetcher>): void {
  for (const [fetcher, { statsSources }] of fetchers) {
    for (const source of statsSources) exposeStats(metrics, { ...source, labels: { fetcher } });
  }
}
