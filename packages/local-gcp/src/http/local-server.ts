import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { FAULTS_PATH, FaultInjector, type FaultRule } from './faults.js';
import { readBody, sendGoogleError, sendJson } from './respond.js';

/** A running local server. */
export interface LocalServer {
  /** Base URL, such as `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Fault rules for the next requests; also reachable over HTTP at `/__tributary/faults`. */
  readonly faults: FaultInjector;
  /** Closes the listener and every open connection. Idempotent. */
  stop(): Promise<void>;
}

/** Where to listen. */
export interface ListenOptions {
  /** @defaultValue '127.0.0.1' */
  readonly host?: string | undefined;
  /** 0 picks a free port. @defaultValue 0 */
  readonly port?: number | undefined;
}

/**
 * Handles one API request. Returns `kind` (the operation name fault rules match on) before doing
 * any work through `classify`, then serves it in `handle`.
 */
export interface RequestHandler {
  classify(request: IncomingMessage, url: URL): string;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void>;
}

/**
 * Starts an HTTP server on loopback that serves the fault-control endpoint, applies fault rules,
 * turns unexpected exceptions into 500 Google-shaped errors, and delegates the rest to `handler`.
 */
export async function startLocalServer(
  handler: RequestHandler,
  options: ListenOptions = {},
): Promise<LocalServer> {
  const faults = new FaultInjector();
  const server: Server = createServer((request, response) => {
    void serve(request, response);
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    try {
      if (url.pathname === FAULTS_PATH) {
        if (request.method === 'DELETE') faults.clear();
        else faults.inject(JSON.parse((await readBody(request, 1 << 16)).toString()) as FaultRule);
        sendJson(response, 200, { ok: true });
        return;
      }
      const fault = faults.take(request, handler.classify(request, url));
      if (fault?.hangMs !== undefined) await delay(fault.hangMs);
      if (fault?.status !== undefined) {
        request.resume();
        sendGoogleError(response, fault.status, 'injectedFault', `injected fault ${fault.status}`);
        return;
      }
      if (fault?.answerAfterMs !== undefined) holdAnswer(response, fault.answerAfterMs);
      await handler.handle(request, response, url);
    } catch (error) {
      if (response.headersSent) {
        response.destroy(error instanceof Error ? error : undefined);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      sendGoogleError(response, 500, 'backendError', message);
    }
  }

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    faults,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      })),
  };
}

/**
 * Holds what the handler writes to `response` (and so its status and headers, which Node sends
 * with the first body bytes) for `ms` milliseconds; what the handler does meanwhile, such as
 * storing an upload, takes effect at once. Writes to a connection closed meanwhile go nowhere.
 */
function holdAnswer(response: ServerResponse, ms: number): void {
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  const held: (() => void)[] = [];
  let open = false;
  setTimeout(() => {
    open = true;
    for (const call of held.splice(0)) call();
  }, ms).unref();
  response.write = ((...args: unknown[]) => {
    if (open) return write(...args);
    held.push(() => write(...args));
    return true;
  }) as typeof response.write;
  response.end = ((...args: unknown[]) => {
    if (open) return end(...args);
    held.push(() => end(...args));
    return response;
  }) as typeof response.end;
}
