import { PubSub } from '@google-cloud/pubsub';
import { testEnv } from '@tributary/local-gcp';
import { silentLogger } from '@tributary/messagepipeline';
import { createPubSubTransport } from '@tributary/messagepipeline/pubsub';
import { createHealthServer, loadConfig } from '@tributary/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTokenIssuer, type TokenIssuer } from './test-support/google-tokens.js';
import {
  API_KEY,
  API_KEY_HASH,
  collectTopic,
  ingestEnvironment,
  startIngest,
  waitUntil,
  type Collected,
  type RunningIngest,
} from './test-support/ingest-harness.js';
import { HttpIngestEnv } from './config.js';
import { buildHttpIngest } from './pipeline.js';

let pubsub: PubSub;
let issuer: TokenIssuer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  issuer = await startTokenIssuer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await issuer.close();
  await pubsub.close();
});

const event = (extra: Record<string, unknown> = {}) => ({
  type: 'user_action',
  source: 'web',
  data: { action: 'click' },
  ...extra,
});

async function setup(
  overrides: Record<string, string> = {},
): Promise<{ ingest: RunningIngest; topic: Collected; auth: Record<string, string> }> {
  const topic = await collectTopic(pubsub, 'http');
  cleanups.push(() => topic.close());
  const ingest = await startIngest(
    pubsub,
    { TOPIC: topic.topic.name, API_KEYS: API_KEY_HASH, ...overrides },
    issuer.client,
  );
  cleanups.push(() => ingest.stop());
  return { ingest, topic, auth: { 'x-api-key': API_KEY } };
}

describe('POST /events', () => {
  it('answers 202 only with the id Pub/Sub confirmed, and publishes the event with its attributes', async () => {
    const { ingest, topic, auth } = await setup();
    const response = await ingest.post('/events', event({ id: 'evt-1', user_id: 7 }), auth);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string; messageId: string };
    expect(body.id).toBe('evt-1');
    await waitUntil(
      () => topic.messages.length === 1,
      10_000,
      () => 'the message',
    );
    const [message] = topic.messages;
    expect(message?.id).toBe(body.messageId);
    expect(message?.attributes).toMatchObject({
      event_id: 'evt-1',
      type: 'user_action',
      source: 'web',
      received_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
    });
    expect(JSON.parse(message?.data.toString() ?? '')).toEqual({
      id: 'evt-1',
      type: 'user_action',
      source: 'web',
      data: { action: 'click' },
      user_id: 7,
    });
  });

  it('answers 400 with the field paths of a schema error', async () => {
    const { ingest, topic, auth } = await setup();
    const response = await ingest.post(
      '/events',
      { source: 'web', data: [1], colour: 'red', timestamp: 'yesterday' },
      auth,
    );
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; fields: { path: string }[] } };
    expect(body.error.code).toBe('INVALID_EVENT');
    expect(body.error.fields.map((f) => f.path).sort()).toEqual(['', 'data', 'timestamp', 'type']);
    expect(topic.messages).toEqual([]);
  });

  it('answers 400 for a body that is not JSON, 413 for one too large, 415 for another type', async () => {
    const { ingest, auth } = await setup({ MAX_BODY_BYTES: '2048' });
    const notJson = await ingest.post('/events', '{"type":', auth);
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });

    const large = await ingest.post('/events', event({ data: { pad: 'x'.repeat(4096) } }), auth);
    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });

    const text = await ingest.post('/events', 'type=click', {
      ...auth,
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('answers 401 without a key and with a wrong one, 202 with the right one, and never logs a key', async () => {
    const { ingest, topic } = await setup();
    const none = await ingest.post('/events', event());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBeTruthy();
    expect(await none.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    const wrong = await ingest.post('/events', event(), { 'x-api-key': 'not-the-key' });
    expect(wrong.status).toBe(401);
    const right = await ingest.post('/events', event(), { 'x-api-key': API_KEY });
    expect(right.status).toBe(202);
    await waitUntil(
      () => topic.messages.length === 1,
      10_000,
      () => 'one message',
    );
    expect(ingest.logs()).not.toContain(API_KEY);
    expect(ingest.logs()).not.toContain('not-the-key');
  });

  it('accepts a Google ID token of an allowed email (202), refuses another email (403) and a forged token (401)', async () => {
    const audience = 'https://ingest.example.run.app';
    const { ingest } = await setup({
      API_KEYS: '',
      OIDC_AUDIENCE: audience,
      OIDC_ALLOWED_EMAILS: 'producer@proj.iam.gserviceaccount.com',
    });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const allowed = issuer.token({ email: 'producer@proj.iam.gserviceaccount.com', audience });
    expect((await ingest.post('/events', event(), bearer(allowed))).status).toBe(202);

    const other = issuer.token({ email: 'someone@proj.iam.gserviceaccount.com', audience });
    const forbidden = await ingest.post('/events', event(), bearer(other));
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ error: { code: 'PERMISSION_DENIED' } });

    const wrongAudience = issuer.token({
      email: 'producer@proj.iam.gserviceaccount.com',
      audience: 'https://elsewhere.example',
    });
    expect((await ingest.post('/events', event(), bearer(wrongAudience))).status).toBe(401);
    const forged = issuer.forgedToken({ email: 'producer@proj.iam.gserviceaccount.com', audience });
    expect((await ingest.post('/events', event(), bearer(forged))).status).toBe(401);
    expect(ingest.logs()).not.toContain(allowed.split('.')[2]);
  });

  it('publishes a retried request with the same Idempotency-Key once, under one id', async () => {
    const { ingest, topic, auth } = await setup();
    const headers = { ...auth, 'idempotency-key': 'order-42-created' };
    const first = await ingest.post('/events', event(), headers);
    const second = await ingest.post('/events', event(), headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const a = (await first.json()) as { id: string; messageId: string };
    const b = (await second.json()) as { id: string; messageId: string; duplicate?: boolean };
    expect(b).toEqual({ id: 'order-42-created', messageId: a.messageId, duplicate: true });
    expect(a.id).toBe('order-42-created');
    await waitUntil(
      () => topic.messages.length >= 1,
      10_000,
      () => 'the message',
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // a second message would be here by now
    expect(topic.count('order-42-created')).toBe(1);
    expect(topic.messages).toHaveLength(1);
  });

  it('publishes a retry under the same event id when the cache is off, so sinks de-duplicate', async () => {
    const { ingest, topic, auth } = await setup({ IDEMPOTENCY_CACHE_SIZE: '0' });
    const headers = { ...auth, 'idempotency-key': 'k-1' };
    expect((await ingest.post('/events', event(), headers)).status).toBe(202);
    expect((await ingest.post('/events', event(), headers)).status).toBe(202);
    await waitUntil(
      () => topic.messages.length === 2,
      10_000,
      () => 'two messages',
    );
    expect(topic.messages.map((m) => m.attributes['event_id'])).toEqual(['k-1', 'k-1']);
    const conflict = await ingest.post('/events', event({ id: 'other' }), headers);
    expect(conflict.status).toBe(400);
  });

  it('answers 429 over its in-flight bound, with Retry-After', async () => {
    // A batch window of 2 s keeps the first request waiting for Pub/Sub's confirmation.
    const { ingest, auth } = await setup({
      MAX_IN_FLIGHT_REQUESTS: '1',
      PUBSUB_BATCH_MAX_MS: '2000',
      PUBSUB_BATCH_MAX_MESSAGES: '1000',
    });
    const first = ingest.post('/events', event(), auth);
    await waitUntil(
      () => ingest.app.ingest.stats().inFlightRequests === 1,
      5_000,
      () => 'in flight',
    );
    const shed = await ingest.post('/events', event(), auth);
    expect(shed.status).toBe(429);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toMatchObject({ error: { code: 'TOO_MANY_REQUESTS' } });
    expect((await first).status).toBe(202);
  });

  it('answers 503 when Pub/Sub refuses the publish (topic missing)', async () => {
    const { ingest, auth } = await setup({ TOPIC: 'no-such-topic-for-ingest' });
    const response = await ingest.post('/events', event(), auth);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
  });

  it('answers 503 when Pub/Sub does not confirm within PUBLISH_TIMEOUT_MS, and keeps serving', async () => {
    // The batch window holds the publishes far longer than the deadline.
    const { ingest, topic, auth } = await setup({
      PUBLISH_TIMEOUT_MS: '150',
      PUBSUB_BATCH_MAX_MS: '1500',
      PUBSUB_BATCH_MAX_MESSAGES: '1000',
    });
    const answers = await Promise.all(
      ['late-1', 'late-2'].map((id) => ingest.post('/events', event({ id }), auth)),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('1');
      expect(await answer.json()).toMatchObject({
        error: { code: 'UNAVAILABLE', message: expect.stringMatching(/within 150 ms/) as string },
      });
    }
    // Not lost, only unconfirmed in time: the events land once the batch goes out.
    await waitUntil(
      () => topic.count('late-1') === 1 && topic.count('late-2') === 1,
      10_000,
      () => `${topic.messages.length} messages`,
    );
    expect(ingest.app.ingest.stats().inFlightRequests).toBe(0);
  });

  it('answers 503 before it is started', async () => {
    const config = loadConfig(
      HttpIngestEnv,
      ingestEnvironment({ TOPIC: 'unused', AUTH_DISABLED: 'true' }),
    );
    const { ingest } = buildHttpIngest(config, {
      logger: silentLogger,
      transport: createPubSubTransport({ pubsub }),
    });
    const server = createHealthServer({ port: 0, host: '127.0.0.1', routes: ingest.routes });
    await server.start();
    cleanups.push(() => server.stop());
    const response = await fetch(`${server.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event()),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({
      error: { code: 'NOT_READY', message: 'starting' },
    });
  });
});

describe('the producer', () => {
  it('holds at most PUBSUB_MAX_OUTSTANDING_MESSAGES publishes unconfirmed; more wait', async () => {
    const topic = await collectTopic(pubsub, 'bound');
    cleanups.push(() => topic.close());
    const config = loadConfig(
      HttpIngestEnv,
      ingestEnvironment({
        TOPIC: topic.topic.name,
        AUTH_DISABLED: 'true',
        PUBSUB_MAX_OUTSTANDING_MESSAGES: '1',
        // The first publish sits in the client's batch for this long; the second waits for it.
        PUBSUB_BATCH_MAX_MS: '1000',
      }),
    );
    const { producer } = buildHttpIngest(config, {
      logger: silentLogger,
      transport: createPubSubTransport({ pubsub }),
    });
    await producer.start();
    cleanups.push(() => producer.stop());
    const data = new TextEncoder().encode('{}');
    const published = [producer.publish({ data }), producer.publish({ data })];
    expect(producer.stats()).toMatchObject({ outstandingMessages: 1, waitingMessages: 1 });
    await Promise.all(published);
    expect(producer.stats()).toMatchObject({ published: 2, waitingMessages: 0 });
  });
});

describe('POST /events/batch', () => {
  it('publishes the valid events and rejects the invalid ones, each with its result', async () => {
    const { ingest, topic, auth } = await setup();
    const response = await ingest.post(
      '/events/batch',
      { events: [event({ id: 'b-0' }), { id: 'b-1', source: 'web', data: {} }, event()] },
      { ...auth, 'idempotency-key': 'batch-9' },
    );
    expect(response.status).toBe(202);
    const body = (await response.json()) as {
      accepted: number;
      rejected: number;
      results: {
        index: number;
        id?: string;
        status: string;
        messageId?: string;
        error?: { fields: { path: string }[] };
      }[];
    };
    expect(body).toMatchObject({ accepted: 2, rejected: 1, failed: 0 });
    expect(body.results.map((r) => [r.index, r.id, r.status])).toEqual([
      [0, 'b-0', 'accepted'],
      [1, 'b-1', 'rejected'],
      [2, 'batch-9:2', 'accepted'],
    ]);
    expect(body.results[1]?.error?.fields).toEqual([
      { path: 'events.1.type', message: expect.any(String) as string },
    ]);
    await waitUntil(
      () => topic.messages.length === 2,
      10_000,
      () => 'two messages',
    );
    expect(topic.messages.map((m) => m.attributes['event_id']).sort()).toEqual([
      'b-0',
      'batch-9:2',
    ]);
    const ids = new Map(topic.messages.map((m) => [m.attributes['event_id'], m.id]));
    expect(body.results[0]?.messageId).toBe(ids.get('b-0'));
  });

  it('answers 400 for a bad envelope and for a batch with no valid event', async () => {
    const { ingest, topic, auth } = await setup({ MAX_BATCH_EVENTS: '2' });
    const tooMany = await ingest.post(
      '/events/batch',
      { events: [event(), event(), event()] },
      auth,
    );
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({
      error: { code: 'INVALID_BATCH', fields: [{ path: 'events' }] },
    });
    const allBad = await ingest.post('/events/batch', { events: [{}, 'x'] }, auth);
    expect(allBad.status).toBe(400);
    expect(await allBad.json()).toMatchObject({ accepted: 0, rejected: 2 });
    expect(topic.messages).toEqual([]);
  });
});

describe('documents', () => {
  it('serves the OpenAPI document generated from the validating schema, and the JSON summary', async () => {
    const { ingest, auth } = await setup();
    const doc = (await (await fetch(`${ingest.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: {
        schemas: Record<string, { required?: string[]; additionalProperties?: unknown }>;
      };
    };
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(['/events', '/events/batch']);
    expect(doc.components.schemas['Event']?.required?.sort()).toEqual(['data', 'source', 'type']);
    expect(doc.components.schemas['Event']?.additionalProperties).toBe(false);

    await ingest.post('/events', event(), auth);
    await ingest.post('/events', event({ type: '' }), auth);
    const summary = await (await fetch(`${ingest.url}/stats`)).json();
    expect(summary).toMatchObject({ received: 2, processed: 1, rejected: 1, failed: 0 });
    expect((summary as { eventsPerSecond: number }).eventsPerSecond).toBeGreaterThan(0);
    const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
    expect(metrics).toContain('tributary_http_requests_total');
  });
});
