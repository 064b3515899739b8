import { type HealthReporter, type Logger, type Service } from '@tributary/messagepipeline';
import {
  DEFAULT_STOP_TIMEOUT_MS,
  deferred,
  requireNumber,
  within,
} from '@tributary/messagepipeline/kernel';
import type { Registry } from 'prom-client';
import { createHealthServer, type HealthServer, type HttpRoute } from './http-server.js';
import { createMetricsRegistry } from './metrics.js';

/**
 * The parts of `process` that {@link runService} uses, so tests can drive signals and observe
 * the exit code without ending the test runner.
 */
export interface ProcessHooks {
  /** Subscribes to termination signals (SIGTERM, SIGINT); returns the unsubscribe function. */
  onSignal(listener: (signal: string) => void): () => void;
  /**
   * Subscribes to process-wide failures (unhandled rejections, uncaught exceptions); returns the
   * unsubscribe function.
   */
  onFatalError(listener: (error: unknown, origin: string) => void): () => void;
  /** Ends the process with `code`. */
  exit(code: number): void;
}

/** {@link ProcessHooks} on the real process. */
export function nodeProcessHooks(
  proc: NodeJS.Process = process,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): ProcessHooks {
  return {
    onSignal(listener) {
      const handler = (signal: NodeJS.Signals): void => {
        listener(signal);
      };
      for (const signal of signals) proc.on(signal, handler);
      return () => {
        for (const signal of signals) proc.off(signal, handler);
      };
    },
    onFatalError(listener) {
      const onRejection = (reason: unknown): void => {
        listener(reason, 'unhandledRejection');
      };
      const onException = (error: Error, origin: string): void => {
        listener(error, origin);
      };
      proc.on('unhandledRejection', onRejection);
      proc.on('uncaughtException', onException);
      return () => {
        proc.off('unhandledRejection', onRejection);
        proc.off('uncaughtException', onException);
      };
    },
    exit(code) {
      proc.exit(code);
    },
  };
}

/** Options for {@link runService}. */
export interface RunServiceOptions {
  /** The app's name, in log lines. */
  readonly name: string;
  /** The app's logger; the runtime logs its lifecycle through it. */
  readonly logger: Logger;
  /**
   * The app's services by name: started in this order, stopped in reverse. A service that also
   * has a `health()` method is added to `/readyz` under its name. Names must not be integers
   * (object key order).
   */
  readonly services: Readonly<Record<string, Service>>;
  /** More readiness reporters for `/readyz` (a progress monitor, a connection). */
  readonly health?: Readonly<Record<string, HealthReporter>> | undefined;
  /** Served on `/metrics`. @defaultValue a new registry with the default process metrics */
  readonly registry?: Registry | undefined;
  /** Extra HTTP endpoints (more can be added through `server.addRoute`). */
  readonly routes?: readonly HttpRoute[] | undefined;
  /** HTTP port; 0 picks a free one. @defaultValue 8080 */
  readonly port?: number | undefined;
  /** @defaultValue every interface */
  readonly host?: string | undefined;
  /**
   * After SIGTERM/SIGINT, the time every service together gets to drain; past it, the process
   * exits 1. @defaultValue 8_000 (Cloud Run sends SIGKILL 10 s after SIGTERM)
   */
  readonly shutdownTimeoutMs?: number | undefined;
  /** @defaultValue the real process ({@link nodeProcessHooks}) */
  readonly process?: ProcessHooks | undefined;
  /** Called once with the first fatal error, before the drain (report it somewhere). */
  readonly onFatal?: ((error: unknown) => void) | undefined;
}

/** A running app, as {@link runService} returns it. */
export interface ServiceRun {
  /** The HTTP server (`/healthz`, `/readyz`, `/metrics`); `addRoute` extends it. */
  readonly server: HealthServer;
  /**
   * Resolves when the server listens and every service started. Rejects when startup failed (the
   * run then drains and exits 1 by itself); nothing needs to await it.
   */
  readonly started: Promise<void>;
  /** Resolves with the exit code, just after `exit` was called with it. */
  readonly exitCode: Promise<number>;
  /** Starts the drain as a signal would; resolves with the exit code. */
  shutdown(reason?: string): Promise<number>;
}

/** Exit codes of {@link runService}. */
export const exitCodes = Object.freeze({
  /** Stopped on a signal and drained within the deadline. */
  ok: 0,
  /** A fatal error, a failed stop, or work still unsettled at the deadline. */
  failure: 1,
} as const);

/** Default drain deadline: the kernel's stop deadline. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = DEFAULT_STOP_TIMEOUT_MS;

type Trigger =
  | { readonly kind: 'signal'; readonly signal: string }
  | { readonly kind: 'shutdown'; readonly reason: string }
  | { readonly kind: 'fatal'; readonly reason: string; readonly error: unknown };

function isHealthReporter(value: object): value is HealthReporter {
  return typeof (value as Partial<HealthReporter>).health === 'function';
}

/**
 * Runs an app: starts the HTTP server, then the services in order; on SIGTERM or SIGINT drains
 * them in reverse order within `shutdownTimeoutMs` and exits 0, or 1 when the deadline passed
 * with a service still stopping or a stop failed. A fatal error (a failed start, a service's
 * `done` rejecting or settling on its own, an unhandled rejection or uncaught exception) is
 * logged once, the remaining services are drained within the same deadline, and the process
 * exits 1 so the orchestrator restarts it. A second signal during the drain exits 1 at once.
 */
export function runService(options: RunServiceOptions): ServiceRun {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  requireNumber('shutdownTimeoutMs', shutdownTimeoutMs, 0);
  const hooks = options.process ?? nodeProcessHooks();
  const logger = options.logger.child({ component: 'run-service' });
  const services = Object.entries(options.services);

  const health: Record<string, HealthReporter> = {};
  for (const [name, service] of services) {
    if (isHealthReporter(service)) health[name] = service;
  }
  Object.assign(health, options.health);

  const server = createHealthServer({
    port: options.port,
    host: options.host,
    registry: options.registry ?? createMetricsRegistry(),
    health,
    routes: options.routes,
    logger: options.logger,
    state: 'starting',
  });

  const trigger = deferred<Trigger>();
  let triggered: Trigger | undefined;
  const fire = (next: Trigger): void => {
    if (triggered !== undefined) return;
    triggered = next;
    trigger.resolve(next);
  };

  let drainFailed = false;
  const started = deferred<undefined>();
  started.promise.catch(() => undefined);
  const exitCode = deferred<number>();
  let exited = false;
  const unsubscribe: (() => void)[] = [];
  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    for (const off of unsubscribe) off();
    hooks.exit(code);
    exitCode.resolve(code);
  };

  const fatal = (reason: string, error: unknown): void => {
    if (triggered !== undefined) {
      drainFailed = true;
      logger.error({ err: error, reason }, `${reason} (while shutting down)`);
      return;
    }
    logger.error({ err: error, reason }, `fatal: ${reason}`);
    try {
      options.onFatal?.(error);
    } catch (callbackError) {
      logger.error({ err: callbackError }, 'onFatal threw');
    }
    fire({ kind: 'fatal', reason, error });
  };

  unsubscribe.push(
    hooks.onSignal((signal) => {
      if (triggered === undefined) {
        logger.info({ signal, shutdownTimeoutMs }, `received ${signal}, draining`);
        fire({ kind: 'signal', signal });
        return;
      }
      logger.error({ signal }, `received ${signal} again while shutting down; exiting now`);
      exit(exitCodes.failure);
    }),
    hooks.onFatalError((error, origin) => {
      fatal(origin, error);
    }),
  );

  const watch = (name: string, service: Service): void => {
    service.done.then(
      () => {
        if (triggered === undefined) fatal(`service ${name} stopped on its own`, undefined);
      },
      (error: unknown) => {
        if (triggered !== undefined) {
          drainFailed = true;
          logger.error({ err: error, service: name }, `service ${name} failed while stopping`);
        } else {
          fatal(`service ${name} failed`, error);
        }
      },
    );
  };

  /** Services to stop, in start order; includes one whose start was still in progress. */
  const toStop: [string, Service][] = [];

  const startAll = async (): Promise<void> => {
    const listen = await Promise.race([
      within(server.start(), Infinity),
      trigger.promise.then(() => ({ kind: 'triggered' }) as const),
    ]);
    if (listen.kind === 'triggered') return;
    if (listen.kind === 'error') {
      fatal(`http server could not listen on port ${options.port ?? 8080}`, listen.error);
      return;
    }
    for (const [name, service] of services) {
      if (triggered !== undefined) return;
      toStop.push([name, service]);
      const outcome = await Promise.race([
        within(service.start(), Infinity),
        trigger.promise.then(() => ({ kind: 'triggered' }) as const),
      ]);
      if (outcome.kind === 'triggered') return;
      if (outcome.kind === 'error') {
        fatal(`service ${name} failed to start`, outcome.error);
        return;
      }
      watch(name, service);
    }
    if (triggered !== undefined) return;
    server.setState('running');
    logger.info(
      { port: server.port, services: services.map(([name]) => name), shutdownTimeoutMs },
      `${options.name} started`,
    );
    started.resolve(undefined);
  };

  const drain = async (why: Trigger): Promise<number> => {
    started.reject(
      new Error(why.kind === 'fatal' ? `startup ended: ${why.reason}` : 'startup interrupted'),
    );
    server.setState('draining');
    const beganAt = Date.now();
    const deadlineAt = beganAt + shutdownTimeoutMs;
    const stopOrder = [...toStop].reverse();
    /** Not yet stopped, in stop order. */
    const still = new Set(stopOrder.map(([name]) => name));
    let timedOut = false;
    for (const [name, service] of stopOrder) {
      const remainingMs = deadlineAt - Date.now();
      if (remainingMs <= 0) {
        timedOut = true;
        break;
      }
      logger.debug({ service: name, remainingMs }, `stopping ${name}`);
      const outcome = await within(service.stop({ timeoutMs: remainingMs }), remainingMs);
      if (outcome.kind === 'timeout') {
        timedOut = true;
        break;
      }
      still.delete(name);
      if (outcome.kind === 'error') {
        drainFailed = true;
        logger.error({ err: outcome.error, service: name }, `service ${name} failed to stop`);
      }
    }
    if (timedOut) {
      logger.error(
        { shutdownTimeoutMs, stillRunning: [...still] },
        `drain deadline of ${shutdownTimeoutMs} ms passed; still running: ${[...still].join(', ')}`,
      );
    }
    const serverMs = Math.max(0, deadlineAt - Date.now());
    const serverOutcome = await within(server.stop({ timeoutMs: serverMs }), serverMs + 1_000);
    if (serverOutcome.kind === 'error') {
      logger.warn({ err: serverOutcome.error }, 'http server did not close cleanly');
    }
    const code = why.kind === 'fatal' || timedOut || drainFailed ? exitCodes.failure : exitCodes.ok;
    const reason = why.kind === 'signal' ? why.signal : why.reason;
    const fields = { exitCode: code, reason, drainMs: Date.now() - beganAt };
    if (code === exitCodes.ok) logger.info(fields, `${options.name} stopped cleanly`);
    else logger.error(fields, `${options.name} stopped with exit code ${code}`);
    return code;
  };

  const main = async (): Promise<void> => {
    let code: number = exitCodes.failure;
    try {
      await startAll();
      code = await drain(await trigger.promise);
    } catch (error) {
      logger.error({ err: error }, 'runService failed');
    }
    exit(code);
  };
  void main();

  return {
    server,
    started: started.promise,
    exitCode: exitCode.promise,
    shutdown(reason = 'shutdown requested') {
      fire({ kind: 'shutdown', reason });
      return exitCode.promise;
    },
  };
}
