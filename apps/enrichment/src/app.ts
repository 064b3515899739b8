import {
  enricherStatsDescription,
  formatLookupsProblem,
  loadLookupsFile,
  lookupStatsDescription,
  LookupsConfigError,
  type LookupsConfig,
} from '@tributary/enrichment';
import { isTributaryError, type Service, type Transport } from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import {
  ConfigInvalidError,
  createDurationHistogram,
  createPipelineMetrics,
  type AppContext,
  type ComposedApp,
} from '@tributary/runtime';
import type { EnrichmentConfig } from './config.js';
import { buildEnrichment, type Enrichment } from './pipeline.js';

/** What {@link composeEnrichment} needs besides the config. */
export interface EnrichmentAppDeps extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
}

/** The composed app, with its parts for callers that watch them. */
export interface EnrichmentApp extends ComposedApp {
  readonly enrichment: Enrichment;
}

/**
 * The enrichment app: lookups from `LOOKUPS_FILE`, their fetcher chains (LRU, Redis, Firestore or
 * a file), the enricher, and its subscription and topics on `deps.transport`.
 * @throws {@link ConfigInvalidError} naming `LOOKUPS_FILE` when the lookups or a source cannot be
 * used.
 */
export async function composeEnrichment(
  config: EnrichmentConfig,
  deps: EnrichmentAppDeps,
): Promise<EnrichmentApp> {
  const { logger, registry, transport } = deps;
  const lookups = await loadLookups(config.LOOKUPS_FILE);
  const observeCache = createDurationHistogram(registry, {
    name: 'tributary_cache_operation_duration_ms',
    help: 'Duration of cache layer and source operations (a coalesced batch counts once)',
    labelNames: ['layer', 'operation', 'outcome'],
  });
  let enrichment: Enrichment;
  try {
    enrichment = await buildEnrichment(config, {
      lookups,
      logger,
      transport,
      observer: createPipelineMetrics(registry),
      cacheObserver: (event) => {
        observeCache(
          { layer: event.layer, operation: event.operation, outcome: event.outcome },
          event.durationMs,
        );
      },
    });
  } catch (error) {
    // A source file that cannot be loaded, or a value a client refuses.
    if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
      throw error;
    }
    throw new ConfigInvalidError([{ variable: 'LOOKUPS_FILE', problem: error.message }]);
  }
  // Stopped last: closes the Redis and Firestore clients once nothing uses them.
  const closing = new Lifecycle('clients', { stop: () => enrichment.close() });
  const clients: Service = {
    start: () => closing.start(),
    stop: (options) => closing.stop(options),
    done: closing.done,
  };
  const { enricher } = enrichment;
  return {
    enrichment,
    // Started in this order, stopped in reverse: the service stops pulling and settles what is in
    // flight, the caches drain their write-backs, the producers flush, then the clients close.
    services: {
      transport,
      clients,
      producer: enrichment.producer,
      deadLetterProducer: enrichment.deadLetterProducer,
      ...Object.fromEntries(
        [...enrichment.fetchers].map(([name, built]) => [`cache:${name}`, built.chain]),
      ),
      enrichment: enrichment.service,
    },
    health: { subscription: enrichment.consumer },
    stats: [
      // Every fetcher's chain, layers and source, labelled by fetcher.
      ...[...enrichment.fetchers].flatMap(([fetcher, { statsSources }]) =>
        statsSources.map((source) => ({ ...source, labels: { fetcher } })),
      ),
      {
        prefix: 'enrichment',
        stats: () => enricher.stats(),
        description: enricherStatsDescription,
      },
      ...lookups.lookups.map((lookup) => ({
        prefix: 'enrichment_lookup',
        labels: { lookup: lookup.name },
        stats: () => enricher.lookupStats(lookup.name),
        description: lookupStatsDescription,
      })),
      ...transport.statsSources(),
    ],
  };
}

async function loadLookups(file: string): Promise<LookupsConfig> {
  try {
    return await loadLookupsFile(file);
  } catch (error) {
    if (!(error instanceof LookupsConfigError)) throw error;
    throw new ConfigInvalidError(
      error.problems.map((p) => ({ variable: 'LOOKUPS_FILE', problem: formatLookupsProblem(p) })),
    );
  }
}
