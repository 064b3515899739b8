/**
 * A tiny app for the process-level tests: `runService` with one worker that holds `IN_FLIGHT`
 * messages. On stop it settles them one by one (`drain`) or never returns (`hang`). Run with
 * `node --conditions=@tributary/source --import tsx fake-app.ts`.
 */
import type { Service, StopOptions } from '@tributary/messagepipeline';
import { deferred } from '@tributary/messagepipeline/kernel';
import * as z from 'zod';
import { configField, loadConfigOrExit, standardConfigShape } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetricsRegistry, createPipelineMetrics } from '../metrics.js';
import { runService } from '../run-service.js';

const config = loadConfigOrExit(
  z.object({
    ...standardConfigShape(),
    SCENARIO: z.enum(['drain', 'hang']),
    IN_FLIGHT: configField.integer(5, { min: 1 }),
    SETTLE_EACH_MS: configField.durationMs(20),
  }),
);

const logger = createLogger({ service: 'fake-app', level: config.LOG_LEVEL });
const registry = createMetricsRegistry();
const metrics = createPipelineMetrics(registry);

function createWorker(): Service {
  const done = deferred<undefined>();
  const inFlight: number[] = [];
  let stopping: Promise<void> | undefined;
  const report = (): void => {
    const event = { type: 'in-flight', stage: 'worker', count: inFlight.length, bytes: 0 } as const;
    metrics(event);
  };
  const drain = async (options: StopOptions | undefined): Promise<void> => {
    logger.info({ inFlight: inFlight.length, timeoutMs: options?.timeoutMs }, 'worker draining');
    if (config.SCENARIO === 'hang') await new Promise<never>(() => undefined);
    let settled = 0;
    while (inFlight.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, config.SETTLE_EACH_MS));
      inFlight.pop();
      settled += 1;
      report();
    }
    logger.info({ settled, remaining: inFlight.length }, 'worker drained');
    done.resolve(undefined);
  };
  return {
    start() {
      for (let i = 0; i < config.IN_FLIGHT; i++) inFlight.push(i);
      report();
      return Promise.resolve();
    },
    stop(options) {
      return (stopping ??= drain(options));
    },
    done: done.promise,
  };
}

runService({
  name: 'fake-app',
  logger,
  registry,
  services: { worker: createWorker() },
  port: config.PORT,
  host: '127.0.0.1',
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
