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
import { isTributaryError, type Service } from '@tributary/messagepipeline';
import { Lifecycle } from '@tributary/messagepipeline/kernel';
import { eventStoreStatsDescription } from '@tributary/sqlstore';
import { SqlSinkEnv } from './config.js';
import { buildSqlSink } from './pipeline.js';

const config = loadConfigOrExit(SqlSinkEnv);
const logger = createLogger({
  service: 'sql-sink',
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
});
logger.info({ config: redactConfig(SqlSinkEnv, config) }, 'configuration');

const registry = createMetricsRegistry({ defaultLabels: { service: 'sql-sink' } });
const observer = createPipelineMetrics(registry);
let sink;
try {
  sink = buildSqlSink(config, { logger, observer });
} catch (error) {
  // The schema checks what the clients refuse; should a value still slip through, it is a
  // configuration mistake all the same: exit 78 with the reason, not a stack trace.
  if (!isTributaryError(error) || !['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
    throw error;
  }
  exitWithConfigProblems([{ variable: '(environment)', problem: error.message }]);
}
const { store, pool } = sink;

exposeStats(registry, {
  prefix: 'sql',
  stats: () => store.stats(),
  description: eventStoreStatsDescription,
});

/** Ends the pool after everything that writes through it has stopped. */
const poolLifecycle = new Lifecycle('mysql pool', { stop: () => pool.end() });
const poolService: Service = {
  start: () => poolLifecycle.start(),
  stop: (options) => poolLifecycle.stop(options),
  done: poolLifecycle.done,
};

runService({
  name: 'sql-sink',
  logger,
  registry,
  port: config.PORT,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Started in this order, stopped in reverse: the service stops pulling, flushes its open
  // batches and settles every message; then the dead-letter producer flushes; the pool ends last.
  services: {
    pool: poolService,
    store,
    deadLetterProducer: sink.deadLetterProducer,
    sqlSink: sink.service,
  },
  health: { subscription: sink.consumer },
});
