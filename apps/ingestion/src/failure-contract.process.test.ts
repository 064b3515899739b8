// The failure contract seen from outside, as an operator would: a missing topic holds the flow
// (nothing dead-lettered, nothing acked) and turns /readyz 503 naming it; the flow recovers by
// itself once the topic exists; a missing dead-letter topic is a startup failure.
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import {
  findFreePort,
  startPrivateMosquitto,
  uniqueName,
  testEnv,
  startAppProcess,
  type AppProcess,
} from '@tributary/local-gcp';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestionEnvironment, writeRoutesFile } from './test-support/ingestion-env.js';
import { collectTopic, type Collected } from './test-support/pubsub.js';

const main = join(import.meta.dirname, 'main.ts');

type Child = AppProcess;

function runMain(env: Readonly<Record<string, string>>): Child {
  return startAppProcess(main, env);
}

interface Readiness {
  readonly status: number;
  readonly body: string;
}

async function readiness(port: number): Promise<Readiness> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Polls /readyz until `predicate` holds (every 200 ms, at most `timeoutMs`). */
async function readinessUntil(
  port: number,
  predicate: (readiness: Readiness) => boolean,
  timeoutMs: number,
  child: Child,
): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await readiness(port);
    if (predicate(current)) return current;
    if (Date.now() > deadline) {
      throw new Error(
        `readiness never matched; last ${current.status} ${current.body}\n${child.output()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let pubsub: PubSub;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pubsub.close();
});

async function collect(prefix: string): Promise<Collected> {
  const collected = await collectTopic(pubsub, prefix);
  cleanups.push(() => collected.close());
  return collected;
}

/** Publishes `{"id": "<i>"}` for i in [0, count) at QoS 1; returns the ids. */
async function publish(url: string, topic: string, count: number): Promise<string[]> {
  const client = await connectAsync(url, { protocolVersion: 5 });
  const ids = Array.from({ length: count }, (_, i) => String(i));
  for (const id of ids) await client.publishAsync(topic, JSON.stringify({ id }), { qos: 1 });
  await client.endAsync();
  return ids;
}

describe('the ingestion process: the failure contract', () => {
  it('holds messages for a missing route topic, says why on /readyz, and delivers them once it exists', async () => {
    const base = uniqueName('hold');
    const dlq = await collect('dlq');
    const missing = uniqueName('raw-missing');
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/devices/{deviceId}/up`, destination: missing },
    ]);
    const broker = await startPrivateMosquitto();
    cleanups.push(() => broker.stop());
    const port = await findFreePort();
    const child = runMain(
      ingestionEnvironment({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: dlq.topic.name,
        MQTT_URL: broker.url,
        PORT: String(port),
        STALL_AFTER_MS: '2000',
      }),
    );
    cleanups.push(async () => {
      child.process.kill('SIGKILL');
      await child.exit;
    });
    // Not ready from the start: the route topic does not exist.
    const before = await readinessUntil(
      port,
      (r) => r.status === 503 && r.body.includes(`${missing}' does not exist`),
      30_000,
      child,
    );
    expect(before.body).toContain('NOT_FOUND');
    await readinessUntil(port, (r) => r.body.includes('"mqtt":{"ready":true'), 30_000, child);
    const ids = await publish(broker.url, `${base}/devices/d1/up`, 20);
    // Held, not acked: the oldest unacknowledged message ages past the stall threshold.
    const held = await readinessUntil(
      port,
      (r) => r.body.includes('the oldest unsettled message is'),
      30_000,
      child,
    );
    expect(held.status).toBe(503);
    expect(held.body).toContain('destination unavailable (NOT_FOUND)');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const age = /tributary_mqtt_oldest_unsettled_age_seconds\{[^}]*\} ([\d.e+-]+)/.exec(metrics);
    expect(Number(age?.[1])).toBeGreaterThan(2);
    expect(metrics).toMatch(/tributary_mqtt_acks_sent_total\{[^}]*\} 0\b/);
    expect(metrics).toMatch(/tributary_messages_held_total\{[^}]*code="NOT_FOUND"[^}]*\} [1-9]/);
    // The topic appears: each message is confirmed by Pub/Sub once, then acked once, and
    // nothing was dead-lettered. (A topic keeps nothing for subscriptions made later, so the
    // count is taken where Pub/Sub confirms it.)
    await pubsub.createTopic(missing);
    cleanups.push(async () => {
      await pubsub.topic(missing).delete();
    });
    const counter = (text: string, name: string, topic: string): number =>
      Number(new RegExp(`${name}\\{[^}]*topic="${topic}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    let scraped = '';
    for (const deadline = Date.now() + 90_000; ;) {
      scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (/tributary_mqtt_acks_sent_total\{[^}]*\} 20\b/.test(scraped)) break;
      if (Date.now() > deadline) throw new Error(`not all acked after 90 s: ${child.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(counter(scraped, 'tributary_pubsub_producer_published_total', missing)).toBe(ids.length);
    expect(
      counter(
        scraped,
        'tributary_pubsub_producer_published_total',
        dlq.topic.name.slice(dlq.topic.name.lastIndexOf('/') + 1),
      ),
    ).toBe(0);
    await readinessUntil(port, (r) => r.status === 200, 30_000, child);
    expect(dlq.total()).toBe(0);
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 180_000);

  it('fails startup when the dead-letter topic does not exist, naming it', async () => {
    const base = uniqueName('nodlq');
    const raw = await collect('raw');
    const routesFile = await writeRoutesFile([
      { name: 'raw', topic: `${base}/devices/{deviceId}/up`, destination: raw.topic.name },
    ]);
    const missing = uniqueName('dlq-missing');
    const child = runMain(
      ingestionEnvironment({
        ROUTES_FILE: routesFile,
        DEAD_LETTER_TOPIC: missing,
        PORT: String(await findFreePort()),
      }),
    );
    expect(await child.exit).toBe(1);
    expect(child.output()).toContain(
      `Pub/Sub topic 'projects/${testEnv().GOOGLE_CLOUD_PROJECT}/topics/${missing}' does not exist`,
    );
  }, 60_000);
});
