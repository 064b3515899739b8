import type { Service, Transport } from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import { createPipelineMetrics, type AppContext, type ComposedApp } from '@tributary/runtime';
import { eventStoreStatsDescription } from '@tributary/sqlstore';
import type { Pool } from 'mysql2/promise';
import type { SqlSinkConfig } from './config.js';
import { buildSqlSink, type SqlSink } from './pipeline.js';

/** What {@link composeSqlSink} needs besides the config. */
export interface SqlSinkAppDeps extends AppContext {
  /** Pub/Sub in production, the in-memory broker in a local run. */
  readonly transport: Transport;
}

/** The composed app, with its parts for callers that watch them. */
export interface ComposedSqlSink extends ComposedApp {
  readonly sink: SqlSink;
}

/**
 * The sql-sink app: the MySQL pool and event store, the subscription and the dead-letter
 * producer on `deps.transport`, and the batching service between them.
 */
export function composeSqlSink(
  config: SqlSinkConfig,
  deps: SqlSinkAppDeps,
): Promise<ComposedSqlSink> {
  const { logger, registry, transport } = deps;
  const sink = buildSqlSink(config, {
    logger,
    transport,
    observer: createPipelineMetrics(registry),
  });
  const { store } = sink;
  return Promise.resolve({
    sink,
    // Started in this order, stopped in reverse: the service stops pulling, flushes its open
    // batches and settles every message; then the dead-letter producer flushes; then the pool
    // ends; the transport closes last.
    services: {
      transport,
      pool: poolService(sink.pool),
      store,
      deadLetterProducer: sink.deadLetterProducer,
      sqlSink: sink.service,
    },
    health: { subscription: sink.consumer },
    stats: [
      { prefix: 'sql', stats: () => store.stats(), description: eventStoreStatsDescription },
      ...transport.statsSources(),
    ],
  });
}

/** Ends the pool after everything that writes through it has stopped. */
function poolService(pool: Pool): Service {
  const lifecycle = new Lifecycle('mysql pool', { stop: () => pool.end() });
  return {
    start: () => lifecycle.start(),
    stop: (options) => lifecycle.stop(options),
    done: lifecycle.done,
  };
}
