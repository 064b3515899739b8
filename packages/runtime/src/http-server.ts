import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  InvalidArgumentError,
  silentLogger,
  type ComponentHealth,
  type HealthReporter,
  type Logger,
  type Service,
  type StopOptions,
} from '@tributary/messagepipeline';
import { deferred, Lifecycle, within } from '@tributary/messagepipeline/kernel';
import type { Registry } from 'prom-client';

/** Handles one request; a thrown error or a rejection becomes a 500 (and is logged). */
export type HttpRouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** An extra endpoint on the app's HTTP server, matched on exact method and path (no query). */
export interface HttpRoute {
  /** Upper case, for example `POST`. A `GET` route also answers `HEAD`. */
  readonly method: string;
  /** Exact path, for example `/events`. */
  readonly path: string;
  readonly handler: HttpRouteHandler;
}

/**
 * Where the app is in its life. `/readyz` is 200 only in `running`, and only when every
 * component is ready: during startup and drain, traffic should go elsewhere.
 */
export type ServerState = 'starting' | 'running' | 'draining' | 'stopped';

/** The body of `/readyz`. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** `ready`, `not-ready`, or the app state when that is not `running`. */
  readonly status: 'ready' | 'not-ready' | Exclude<ServerState, 'running'>;
  readonly components: Readonly<Record<string, ComponentHealth>>;
}

/** Options for {@link createHealthServer}. */
export interface HealthServerOptions {
  /** Port to listen on; 0 picks a free one. @defaultValue 8080 */
  readonly port?: number | undefined;
  /** Interface to listen on. @defaultValue every interface (what Cloud Run needs) */
  readonly host?: string | undefined;
  /** Served as Prometheus text on `/metrics`; without one, `/metrics` is 404. */
  readonly registry?: Registry | undefined;
  /** Components whose readiness makes up `/readyz`, by name. */
  readonly health?: Readonly<Record<string, HealthReporter>> | undefined;
  /** Extra endpoints. More can be added with {@link HealthServer.addRoute}. */
  readonly routes?: readonly HttpRoute[] | undefined;
  /** @defaultValue `'running'` */
  readonly state?: ServerState | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/**
 * The app's one HTTP server: `/healthz` (200 while the process lives), `/readyz` (see
 * {@link ReadinessReport}), `/metrics`, plus any routes the app adds. Unknown paths get a JSON
 * 404, a known path with another method a JSON 405.
 */
export interface HealthServer extends Service {
  /** The port it listens on once started (the requested port before). */
  readonly port: number;
  /** `http://127.0.0.1:<port>`, handy in tests. */
  readonly url: string;
  /** The underlying server, for anything this interface does not cover (upgrades, timeouts). */
  readonly httpServer: Server;
  readonly state: ServerState;
  setState(state: ServerState): void;
  addRoute(route: HttpRoute): void;
  addHealthReporter(name: string, reporter: HealthReporter): void;
  readiness(): ReadinessReport;
}

/** Writes `body` as JSON with `status`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

const DEFAULT_PORT = 8080;

/** Creates the app's HTTP server; `start()` listens, `stop()` closes (bounded by `timeoutMs`). */
export function createHealthServer(options: HealthServerOptions = {}): HealthServer {
  const logger = (options.logger ?? silentLogger).child({ component: 'http-server' });
  const reporters = new Map<string, HealthReporter>(Object.entries(options.health ?? {}));
  const routes = new Map<string, Map<string, HttpRouteHandler>>();
  let state: ServerState = options.state ?? 'running';
  let listening = false;

  const readiness = (): ReadinessReport => {
    const components: Record<string, ComponentHealth> = {};
    let allReady = true;
    for (const [name, reporter] of reporters) {
      let health: ComponentHealth;
      try {
        health = reporter.health();
      } catch (error) {
        health = { ready: false, detail: `health check threw: ${String(error)}` };
      }
      components[name] = health;
      if (!health.ready) allReady = false;
    }
    if (state !== 'running') return { ready: false, status: state, components };
    return { ready: allReady, status: allReady ? 'ready' : 'not-ready', components };
  };

  const addRoute = (route: HttpRoute): void => {
    const method = route.method.toUpperCase();
    if (!route.path.startsWith('/')) throw InvalidArgumentError.for('path', "must start with '/'");
    let byMethod = routes.get(route.path);
    if (byMethod === undefined) {
      byMethod = new Map();
      routes.set(route.path, byMethod);
    }
    if (byMethod.has(method)) {
      throw InvalidArgumentError.for('route', `${method} ${route.path} is already registered`);
    }
    byMethod.set(method, route.handler);
  };

  addRoute({
    method: 'GET',
    path: '/healthz',
    handler: (_req, res) => {
      sendJson(res, 200, { status: 'alive' });
    },
  });
  addRoute({
    method: 'GET',
    path: '/readyz',
    handler: (_req, res) => {
      const report = readiness();
      sendJson(res, report.ready ? 200 : 503, report);
    },
  });
  const registry = options.registry;
  if (registry !== undefined) {
    addRoute({
      method: 'GET',
      path: '/metrics',
      handler: async (_req, res) => {
        const text = await registry.metrics();
        res.writeHead(200, {
          'content-type': registry.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      },
    });
  }
  for (const route of options.routes ?? []) addRoute(route);

  const failed = (error: unknown, method: string, path: string, res: ServerResponse): void => {
    logger.error({ err: error, method, path }, 'request handler failed');
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    else res.destroy();
  };

  // Synchronous for a synchronous handler: a request to an app route (the ingest API, say)
  // costs no promise or microtask here.
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const byMethod = routes.get(path);
    if (byMethod === undefined) {
      sendJson(res, 404, { error: 'not found', path });
      return;
    }
    const handler = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (handler === undefined) {
      const allow = [...byMethod.keys()].join(', ');
      sendJson(res, 405, { error: 'method not allowed', path, allow }, { allow });
      return;
    }
    let result: void | Promise<void>;
    try {
      result = handler(req, res);
    } catch (error) {
      failed(error, method, path, res);
      return;
    }
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        failed(error, method, path, res);
      });
    }
  };

  const server = createServer(handle);

  const lifecycle = new Lifecycle('http server', {
    start: async () => {
      const listened = deferred<undefined>();
      const onError = (error: Error): void => {
        listened.reject(error);
      };
      server.once('error', onError);
      server.listen({ port: options.port ?? DEFAULT_PORT, host: options.host }, () => {
        listened.resolve(undefined);
      });
      try {
        await listened.promise;
      } finally {
        server.off('error', onError);
      }
      listening = true;
      server.on('error', (error) => {
        logger.error({ err: error }, 'http server error');
      });
      logger.debug({ port: actualPort() }, 'listening');
    },
    stop: async (timeoutMs) => {
      if (!listening) return;
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeIdleConnections();
      // Keep-alive and slow clients: past the deadline, their connections are cut.
      const outcome = await within(closed, timeoutMs);
      if (outcome.kind === 'timeout') {
        server.closeAllConnections();
        await closed;
      }
      listening = false;
    },
  });

  const actualPort = (): number => {
    const address = server.address();
    return address !== null && typeof address === 'object'
      ? address.port
      : (options.port ?? DEFAULT_PORT);
  };

  return {
    start: () => lifecycle.start(),
    stop(stopOptions?: StopOptions) {
      state = 'stopped';
      return lifecycle.stop(stopOptions);
    },
    done: lifecycle.done,
    get port() {
      return actualPort();
    },
    get url() {
      return `http://127.0.0.1:${actualPort()}`;
    },
    httpServer: server,
    get state() {
      return state;
    },
    setState(next) {
      state = next;
    },
    addRoute,
    addHealthReporter(name, reporter) {
      reporters.set(name, reporter);
    },
    readiness,
  };
}
