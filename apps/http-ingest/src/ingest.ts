import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isTributaryError,
  silentLogger,
  toTributaryError,
  TributaryError,
  type ComponentHealth,
  type HealthReporter,
  type Logger,
  type MessageProducer,
  type Service,
  type StatsDescription,
  type StopOptions,
} from '@tributary/messagepipeline';
import {
  DeadlineQueue,
  deferred,
  Lifecycle,
  within,
  type Deferred,
} from '@tributary/messagepipeline/kernel';
import { sendJson, type HttpRoute } from '@tributary/runtime';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Authenticator, AuthResult } from './auth.js';
import {
  batchSchema,
  EventId,
  fieldErrors,
  IncomingEvent,
  type FieldError,
} from './event-schema.js';
import { RecentIds } from './recent-ids.js';
import { SummaryCounters, type IngestSummary } from './summary.js';

/** Options for {@link createHttpIngest}. */
export interface HttpIngestOptions {
  /** Where events go (the raw topic); started and stopped by the caller, after and before this. */
  readonly producer: MessageProducer & Partial<HealthReporter>;
  readonly authenticate: Authenticator;
  /** Largest request body; larger ones get 413. @defaultValue 1_048_576 */
  readonly maxBodyBytes?: number | undefined;
  /** Most events in one batch. @defaultValue 500 */
  readonly maxBatchEvents?: number | undefined;
  /** Requests being handled at once; more get 429 (load shedding, not buffering). @defaultValue 256 */
  readonly maxInFlightRequests?: number | undefined;
  /** Longest wait for Pub/Sub's confirmation before answering 503. @defaultValue 30_000 */
  readonly publishTimeoutMs?: number | undefined;
  /** Recent event ids whose publish a retry reuses (0: none). @defaultValue 10_000 */
  readonly idempotencyCacheSize?: number | undefined;
  /** `Retry-After` of 429 and 503 answers, in seconds. @defaultValue 1 */
  readonly retryAfterSeconds?: number | undefined;
  /** Served at `/openapi.json`. */
  readonly openApi: Readonly<Record<string, unknown>>;
  /** Request metrics go here (`tributary_http_*`). */
  readonly registry?: Registry | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Counters of the service, for `exposeStats`. */
export interface HttpIngestStats {
  readonly inFlightRequests: number;
  readonly draining: boolean;
  readonly recentIds: number;
}

/** The Prometheus description of {@link HttpIngestStats}. */
export const httpIngestStatsDescription: StatsDescription<HttpIngestStats> = {
  inFlightRequests: { kind: 'gauge', help: 'Ingest requests being handled' },
  draining: { kind: 'gauge', help: '1 while draining: new requests get 503' },
  recentIds: { kind: 'gauge', help: 'Event ids in the idempotency cache' },
};

/**
 * The HTTP ingest API (fastify): `POST /events`, `POST /events/batch`, `GET /openapi.json`,
 * `GET /stats`. Mount {@link HttpIngest.routes} on the app's server (runService). `start()` makes
 * it ready; `stop()` drains: new requests get 503, those in flight finish their publishes.
 */
export interface HttpIngest extends Service, HealthReporter {
  readonly app: FastifyInstance;
  /** The routes for `runService({ routes })`, handled by the fastify app. */
  readonly routes: readonly HttpRoute[];
  stats(): HttpIngestStats;
  summary(): IngestSummary;
}

/** Attributes of every published event, so subscription filters work. */
export const publishedAttributes = Object.freeze({
  id: 'event_id',
  type: 'type',
  source: 'source',
  receivedAt: 'received_at',
});

interface ErrorDetail {
  readonly code: string;
  readonly message: string;
  readonly fields?: readonly FieldError[] | undefined;
}

interface BatchItemResult {
  readonly index: number;
  readonly id?: string | undefined;
  readonly status: 'accepted' | 'rejected' | 'failed';
  readonly messageId?: string | undefined;
  readonly duplicate?: boolean | undefined;
  readonly error?: ErrorDetail | undefined;
}

const encoder = new TextEncoder();

/** The label sets of one route's metrics, built once: no label object per request. */
class RouteLabels {
  readonly route: string;
  readonly duration: { readonly route: string };
  readonly #byStatus = new Map<number, { readonly route: string; readonly status: string }>();

  constructor(route: string) {
    this.route = route;
    this.duration = { route };
  }

  status(status: number): { readonly route: string; readonly status: string } {
    let labels = this.#byStatus.get(status);
    if (labels === undefined) {
      labels = { route: this.route, status: String(status) };
      this.#byStatus.set(status, labels);
    }
    return labels;
  }
}

const DESTINATION_CODES: ReadonlySet<string> = new Set([
  'NOT_FOUND',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
]);

class HttpIngestImpl implements HttpIngest {
  readonly app: FastifyInstance;
  readonly routes: readonly HttpRoute[];
  readonly #producer: HttpIngestOptions['producer'];
  readonly #authenticate: Authenticator;
  readonly #maxInFlight: number;
  readonly #publishTimeoutMs: number;
  /** The publish deadline of every request, on one timer (not one per request). */
  readonly #deadlines: DeadlineQueue;
  readonly #retryAfter: string;
  readonly #recent: RecentIds;
  readonly #counters = new SummaryCounters();
  readonly #logger: Logger;
  readonly #lifecycle: Lifecycle;
  readonly #requests: Counter<'route' | 'status'> | undefined;
  readonly #duration: Histogram<'route'> | undefined;
  #inFlight = 0;
  #draining = false;
  #idle: Deferred<undefined> | undefined;

  constructor(options: HttpIngestOptions) {
    this.#producer = options.producer;
    this.#authenticate = options.authenticate;
    this.#maxInFlight = options.maxInFlightRequests ?? 256;
    this.#publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.#deadlines = new DeadlineQueue(this.#publishTimeoutMs);
    this.#retryAfter = String(options.retryAfterSeconds ?? 1);
    this.#recent = new RecentIds(options.idempotencyCacheSize ?? 10_000);
    this.#logger = (options.logger ?? silentLogger).child({ component: 'http-ingest' });
    const maxEvents = options.maxBatchEvents ?? 500;
    const batch = batchSchema(maxEvents);
    if (options.registry !== undefined) {
      this.#requests = new Counter({
        name: 'tributary_http_requests_total',
        help: 'Ingest requests by route and status',
        labelNames: ['route', 'status'],
        registers: [options.registry],
      });
      this.#duration = new Histogram({
        name: 'tributary_http_request_duration_seconds',
        help: 'Time to answer an ingest request (202: Pub/Sub confirmed)',
        labelNames: ['route'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [options.registry],
      });
      const events = new Counter({
        name: 'tributary_http_events_total',
        help: 'Events by outcome: processed, rejected, failed, duplicate',
        labelNames: ['outcome'],
        registers: [options.registry],
        collect: () => {
          const c = this.#counters;
          events.reset();
          events.inc({ outcome: 'processed' }, c.processed);
          events.inc({ outcome: 'rejected' }, c.rejected);
          events.inc({ outcome: 'failed' }, c.failed);
          events.inc({ outcome: 'duplicate' }, c.duplicates);
        },
      });
    }

    const app = Fastify({ logger: false, bodyLimit: options.maxBodyBytes ?? 1024 * 1024 });
    app.removeContentTypeParser('text/plain');
    app.setErrorHandler((error: FastifyError, _request, reply) => this.#onError(error, reply));
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.url}` } }),
    );
    // Route-level hooks: the other routes pay nothing for them. Callback style: an API key is
    // checked synchronously, without a promise per request.
    const admit = (route: string) => {
      const labels = new RouteLabels(route);
      return {
        onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
          this.#admit(labels, request, reply, done);
        },
      };
    };
    app.post('/events', admit('/events'), (request, reply) => this.#single(request, reply));
    app.post('/events/batch', admit('/events/batch'), (request, reply) =>
      this.#batch(request, reply, batch),
    );
    app.get('/openapi.json', (_request, reply) => reply.send(options.openApi));
    app.get('/stats', (_request, reply) => reply.send(this.#counters.summary()));
    this.app = app;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      // Fastify routes only between ready() and close(): answer the rest here.
      if (this.#lifecycle.running) {
        app.routing(req, res);
        return;
      }
      this.#counters.refusedRequests += 1;
      const detail = this.#lifecycle.stopRequested ? 'draining' : 'starting';
      sendJson(
        res,
        503,
        { error: { code: 'NOT_READY', message: detail } },
        { 'retry-after': this.#retryAfter, connection: 'close' },
      );
    };
    this.routes = [
      { method: 'POST', path: '/events', handler },
      { method: 'POST', path: '/events/batch', handler },
      { method: 'GET', path: '/openapi.json', handler },
      { method: 'GET', path: '/stats', handler },
    ];
    this.#lifecycle = new Lifecycle('http ingest', {
      start: async () => {
        await app.ready();
      },
      stop: (timeoutMs) => this.#drain(timeoutMs),
    });
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => ({
      ready: !this.#draining,
      detail: `${this.#inFlight} requests in flight`,
    }));
  }

  stats(): HttpIngestStats {
    return {
      inFlightRequests: this.#inFlight,
      draining: this.#draining,
      recentIds: this.#recent.size,
    };
  }

  summary(): IngestSummary {
    return this.#counters.summary();
  }

  /**
   * The in-flight bound (429) and authentication (401/403), before the body is read; `done()`
   * lets the request through, an answer here ends it.
   */
  #admit(
    labels: RouteLabels,
    request: FastifyRequest,
    reply: FastifyReply,
    done: () => void,
  ): void {
    const startedAt = performance.now();
    if (this.#inFlight >= this.#maxInFlight) {
      this.#counters.refusedRequests += 1;
      this.#observe(labels, reply, startedAt, false);
      reply.header('retry-after', this.#retryAfter);
      this.#refuse(
        reply,
        429,
        'TOO_MANY_REQUESTS',
        `${this.#maxInFlight} requests in flight; retry later`,
      );
      return;
    }
    this.#inFlight += 1;
    this.#observe(labels, reply, startedAt, true);
    const auth = this.#authenticate(request.headers);
    if (!(auth instanceof Promise)) {
      this.#admitted(auth, reply, done);
      return;
    }
    auth.then(
      (result) => {
        this.#admitted(result, reply, done);
      },
      (error: unknown) => {
        this.#logger.error({ err: error }, 'authentication failed');
        this.#refuse(reply, 500, 'INTERNAL', 'internal error');
      },
    );
  }

  #admitted(auth: AuthResult, reply: FastifyReply, done: () => void): void {
    if (auth.ok) {
      done();
      return;
    }
    this.#counters.refusedRequests += 1;
    if (auth.status === 401) reply.header('www-authenticate', 'Bearer, ApiKey');
    this.#refuse(reply, auth.status, auth.code, auth.message);
  }

  /**
   * Counts the request once its answer is out or its connection closed; an admitted one also
   * leaves the in-flight count then.
   */
  #observe(labels: RouteLabels, reply: FastifyReply, startedAt: number, admitted: boolean): void {
    reply.raw.on('close', () => {
      if (admitted) {
        this.#inFlight -= 1;
        if (this.#inFlight === 0 && this.#idle !== undefined) this.#idle.resolve(undefined);
      }
      this.#requests?.inc(labels.status(reply.statusCode));
      this.#duration?.observe(labels.duration, (performance.now() - startedAt) / 1000);
    });
  }

  #refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
    return reply.code(status).send({ error: { code, message } });
  }

  /** Body parsing errors (413, 415, bad JSON) and anything unexpected, as JSON. */
  #onError(error: FastifyError, reply: FastifyReply): FastifyReply {
    const status = error.statusCode ?? 500;
    if (status === 413) {
      return this.#refuse(reply, 413, 'PAYLOAD_TOO_LARGE', 'request body is larger than the limit');
    }
    if (status === 415) {
      return this.#refuse(
        reply,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send Content-Type: application/json',
      );
    }
    if (status === 400) {
      return this.#refuse(reply, 400, 'INVALID_JSON', `request body is not JSON: ${error.message}`);
    }
    this.#logger.error({ err: error }, 'request failed');
    return this.#refuse(reply, 500, 'INTERNAL', 'internal error');
  }

  /** The Idempotency-Key header, checked; `undefined` when absent. */
  #idempotencyKey(request: FastifyRequest): { key?: string; fields?: FieldError[] } {
    const value = request.headers['idempotency-key'];
    if (value === undefined) return {};
    const parsed = EventId.safeParse(Array.isArray(value) ? value.join(',') : value);
    if (!parsed.success)
      return { fields: fieldErrors(parsed.error, ['headers', 'idempotency-key']) };
    return { key: parsed.data };
  }

  async #single(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const receivedAt = new Date();
    this.#counters.received += 1;
    const { key, fields } = this.#idempotencyKey(request);
    const parsed = IncomingEvent.safeParse(request.body);
    if (fields !== undefined || !parsed.success) {
      this.#counters.rejected += 1;
      const all = [...(fields ?? []), ...(parsed.success ? [] : fieldErrors(parsed.error))];
      return reply.code(400).send({
        error: {
          code: 'INVALID_EVENT',
          message: 'the event does not match the schema',
          fields: all,
        },
      });
    }
    const event = parsed.data;
    if (key !== undefined && event.id !== undefined && key !== event.id) {
      this.#counters.rejected += 1;
      return reply.code(400).send({
        error: {
          code: 'INVALID_EVENT',
          message: 'Idempotency-Key and the event id differ',
          fields: [{ path: 'id', message: 'must equal the Idempotency-Key header' }],
        },
      });
    }
    const given = event.id ?? key;
    const id = given ?? randomUUID();
    let published: { messageId: string; duplicate: boolean };
    try {
      published = await this.#publish(event, id, given !== undefined, receivedAt);
    } catch (error) {
      this.#counters.failed += 1;
      const { status, detail } = this.#publishFailure(error);
      if (status === 503) reply.header('retry-after', this.#retryAfter);
      return reply.code(status).send({ error: detail });
    }
    const { messageId, duplicate } = published;
    return reply.code(202).send(duplicate ? { id, messageId, duplicate } : { id, messageId });
  }

  async #batch(
    request: FastifyRequest,
    reply: FastifyReply,
    schema: ReturnType<typeof batchSchema>,
  ): Promise<FastifyReply> {
    const receivedAt = new Date();
    const { key, fields } = this.#idempotencyKey(request);
    const envelope = schema.safeParse(request.body);
    if (fields !== undefined || !envelope.success) {
      const all = [...(fields ?? []), ...(envelope.success ? [] : fieldErrors(envelope.error))];
      return reply.code(400).send({
        error: {
          code: 'INVALID_BATCH',
          message: 'the batch does not match the schema',
          fields: all,
        },
      });
    }
    const events = envelope.data.events;
    this.#counters.received += events.length;
    const results = await Promise.all(
      events.map(async (raw, index): Promise<BatchItemResult> => {
        const parsed = IncomingEvent.safeParse(raw);
        if (!parsed.success) {
          this.#counters.rejected += 1;
          const id = (raw as { id?: unknown } | null)?.id;
          return {
            index,
            id: typeof id === 'string' ? id : undefined,
            status: 'rejected',
            error: {
              code: 'INVALID_EVENT',
              message: 'the event does not match the schema',
              fields: fieldErrors(parsed.error, ['events', index]),
            },
          };
        }
        const given = parsed.data.id ?? (key === undefined ? undefined : `${key}:${index}`);
        const id = given ?? randomUUID();
        try {
          const { messageId, duplicate } = await this.#publish(
            parsed.data,
            id,
            given !== undefined,
            receivedAt,
          );
          return duplicate
            ? { index, id, status: 'accepted', messageId, duplicate }
            : { index, id, status: 'accepted', messageId };
        } catch (error) {
          this.#counters.failed += 1;
          return { index, id, status: 'failed', error: this.#publishFailure(error).detail };
        }
      }),
    );
    let accepted = 0;
    let rejected = 0;
    for (const result of results) {
      if (result.status === 'accepted') accepted += 1;
      else if (result.status === 'rejected') rejected += 1;
    }
    const failed = results.length - accepted - rejected;
    const status = accepted > 0 ? 202 : failed > 0 ? 503 : 400;
    if (status === 503) reply.header('retry-after', this.#retryAfter);
    return reply.code(status).send({ accepted, rejected, failed, results });
  }

  /**
   * Publishes one event under `id`, or reuses the recent publish of the same id. Only ids the
   * client gave (`given`) are remembered: a generated one can never come back.
   */
  async #publish(
    event: IncomingEvent,
    id: string,
    given: boolean,
    receivedAt: Date,
  ): Promise<{ messageId: string; duplicate: boolean }> {
    const recent = given ? this.#recent.get(id) : undefined;
    if (recent !== undefined) {
      const messageId = await recent;
      this.#counters.duplicates += 1;
      return { messageId, duplicate: true };
    }
    const received = receivedAt.toISOString();
    const body = { ...event, id };
    const publish = this.#producer.publish({
      data: encoder.encode(JSON.stringify(body)),
      attributes: {
        [publishedAttributes.id]: id,
        [publishedAttributes.type]: event.type,
        [publishedAttributes.source]: event.source,
        [publishedAttributes.receivedAt]: received,
      },
    });
    if (given) this.#recent.remember(id, publish);
    const messageId = await this.#confirmed(publish);
    this.#counters.published(Date.now() - receivedAt.getTime());
    return { messageId, duplicate: false };
  }

  /** `publish`, or a TIMEOUT error once the publish deadline passed without its confirmation. */
  #confirmed(publish: Promise<string>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const deadline = this.#deadlines.add(() => {
        reject(
          TributaryError.transient(
            'TIMEOUT',
            `Pub/Sub did not confirm within ${this.#publishTimeoutMs} ms`,
          ),
        );
      });
      publish.then(
        (messageId) => {
          deadline.cancel();
          resolve(messageId);
        },
        (error: unknown) => {
          deadline.cancel();
          reject(isTributaryError(error) ? error : toTributaryError(error));
        },
      );
    });
  }

  #publishFailure(error: unknown): { status: 500 | 503; detail: ErrorDetail } {
    const classified = isTributaryError(error) ? error : toTributaryError(error);
    this.#logger.warn({ err: classified }, 'publish failed');
    // A missing topic or refused access is this service's misconfiguration, not the client's
    // mistake: unavailable until an operator fixes it.
    const unavailable = classified.retriable || DESTINATION_CODES.has(classified.code);
    return {
      status: unavailable ? 503 : 500,
      detail: {
        code: unavailable ? 'UNAVAILABLE' : classified.code,
        message: `publishing failed: ${classified.message}`,
      },
    };
  }

  /** New requests get 503 from now on; resolves once those in flight were answered. */
  async #drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    if (this.#inFlight > 0) {
      this.#idle = deferred<undefined>();
      const outcome = await within(this.#idle.promise, timeoutMs);
      if (outcome.kind === 'timeout') {
        this.#logger.warn({ inFlight: this.#inFlight, timeoutMs }, 'drain deadline passed');
      }
    }
    await this.app.close();
  }
}

/**
 * Creates the ingest API. 202 is answered only after Pub/Sub confirmed the publish; a batch
 * answers a result per event. Errors are JSON `{error: {code, message, fields?}}`.
 */
export function createHttpIngest(options: HttpIngestOptions): HttpIngest {
  return new HttpIngestImpl(options);
}
