import {
  isTributaryError,
  type HealthReporter,
  type Logger,
  type Service,
  type StatsSource,
} from '@tributary/messagepipeline';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import {
  ConfigInvalidError,
  exitWithConfigProblems,
  loadConfigOrExit,
  redactConfig,
  type ConfigSchema,
  type LogLevel,
} from './config.js';
import type { HttpRoute } from './http-server.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry, exposeStats } from './metrics.js';
import { runService, type RunServiceOptions, type ServiceRun } from './run-service.js';

/** What a composition function gets besides the config: where to log and count. */
export interface AppContext {
  readonly logger: Logger;
  /** The app's metrics registry, served on `/metrics`. */
  readonly registry: Registry;
}

/**
 * An app as its composition function returns it: what `runService` runs. The same composition
 * serves the app's `main.ts` ({@link runApp}) and an in-process run of several apps.
 */
export interface ComposedApp {
  /** Started in this order, stopped in reverse (see `runService`). */
  readonly services: Readonly<Record<string, Service>>;
  /** More readiness reporters for `/readyz`. */
  readonly health?: Readonly<Record<string, HealthReporter>> | undefined;
  /** Extra HTTP endpoints. */
  readonly routes?: readonly HttpRoute[] | undefined;
  /** Component stats to expose on `/metrics` (the runner calls `exposeStats` for each). */
  readonly stats?: readonly StatsSource[] | undefined;
}

/** The variables {@link runApp} reads from every app's config (the standard config shape). */
interface StandardConfig {
  readonly PORT: number;
  readonly LOG_LEVEL: LogLevel;
  readonly LOG_PRETTY: boolean;
  readonly SHUTDOWN_TIMEOUT_MS: number;
}

/** Options of {@link runApp}. */
export interface RunAppOptions<S extends ConfigSchema> {
  /** The app's name: the `service` of every log line and metric. */
  readonly name: string;
  /** The app's config schema, with `standardConfigShape()` spread in. */
  readonly schema: S;
  /**
   * Builds the app. A {@link ConfigInvalidError} it throws (a file named by a variable that cannot
   * be read, say) exits 78 naming its variables; so does any other `INVALID_ARGUMENT` or
   * `CONFIG_INVALID` error, under `(environment)`.
   */
  readonly compose: (config: z.output<S>, context: AppContext) => Promise<ComposedApp>;
}

/**
 * The whole `main.ts` of an app: parses the config once (exit 78 naming the variable on a
 * mistake), creates the logger and the metrics registry, composes the app and runs it with
 * `runService` on `PORT` (drain on SIGTERM within `SHUTDOWN_TIMEOUT_MS`).
 */
export async function runApp<S extends ConfigSchema>(
  options: RunAppOptions<S> & { readonly schema: S & z.ZodType<StandardConfig> },
): Promise<ServiceRun> {
  const { name, schema } = options;
  const config = loadConfigOrExit(schema);
  const standard: StandardConfig = config;
  const logger = createLogger({
    service: name,
    level: standard.LOG_LEVEL,
    pretty: standard.LOG_PRETTY,
  });
  logger.info({ config: redactConfig(schema, config) }, 'configuration');
  const registry = createMetricsRegistry({ defaultLabels: { service: name } });
  let app: ComposedApp;
  try {
    app = await options.compose(config, { logger, registry });
  } catch (error) {
    if (error instanceof ConfigInvalidError) exitWithConfigProblems(error.problems);
    // A value a client refuses that the schema let through is a configuration mistake all the
    // same: exit 78 with the reason, not a stack trace.
    if (isTributaryError(error) && ['INVALID_ARGUMENT', 'CONFIG_INVALID'].includes(error.code)) {
      exitWithConfigProblems([{ variable: '(environment)', problem: error.message }]);
    }
    throw error;
  }
  return runComposedApp(app, {
    name,
    logger,
    registry,
    port: standard.PORT,
    shutdownTimeoutMs: standard.SHUTDOWN_TIMEOUT_MS,
  });
}

/** Options of {@link runComposedApp}: those of `runService` but the app's own parts. */
export type RunComposedAppOptions = Omit<RunServiceOptions, 'services' | 'health' | 'routes'> & {
  readonly registry: Registry;
};

/**
 * Runs a composed app with `runService`, its stats exposed on `options.registry`. {@link runApp}
 * uses it for one app per process; a local run of several apps in one process uses it with
 * its own process hooks and port 0 for each.
 */
export function runComposedApp(app: ComposedApp, options: RunComposedAppOptions): ServiceRun {
  for (const source of app.stats ?? []) exposeStats(options.registry, source);
  return runService({
    ...options,
    services: app.services,
    health: app.health,
    routes: app.routes,
  });
}
