import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import {
  findFreePort,
  startAppProcess,
  testEnv,
  waitForAppReady,
  type AppProcess,
} from '@tributary/local-gcp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  API_KEY_HASH,
  collectTopic,
  ingestEnvironment,
  waitUntil,
} from './test-support/ingest-harness.js';

const main = join(import.meta.dirname, 'main.ts');

let pubsub: PubSub;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await pubsub.close();
});

async function startMain(
  overrides: Record<string, string>,
): Promise<{ child: AppProcess; url: string }> {
  const port = await findFreePort();
  const child = startAppProcess(
    main,
    ingestEnvironment({ PORT: String(port), API_KEYS: API_KEY_HASH, ...overrides }),
  );
  cleanups.push(async () => {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await child.exit;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForAppReady(url, child);
  return { child, url };
}

const body = (i: number, pad = 0) =>
  JSON.stringify({
    id: `p-${i}`,
    type: 'load',
    source: 'test',
    data: pad > 0 ? { i, pad: 'x'.repeat(pad) } : { i },
  });

/** Sends numbered events from `workers` loops until `stop()`; records each answer. */
function load(url: string, workers: number, pad = 0) {
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  let stopped = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const i = next++;
      let status = 0;
      try {
        const response = await fetch(`${url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: body(i, pad),
        });
        status = response.status;
        await response.arrayBuffer();
      } catch {
        status = 0; // refused: the server is gone
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 202) accepted.push(`p-${i}`);
      if (status === 0 || status === 503) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    accepted,
    statuses,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

describe('the http-ingest process', () => {
  it('fails startup without any authentication configured, naming API_KEYS (exit 78)', async () => {
    const child = startAppProcess(main, ingestEnvironment({ TOPIC: 'events' }));
    expect(await child.exit).toBe(78);
    expect(child.stderr()).toContain('API_KEYS');
  }, 60_000);

  it('fails startup on a key given in clear instead of its digest, without printing it (exit 78)', async () => {
    const child = startAppProcess(
      main,
      ingestEnvironment({ TOPIC: 'events', API_KEYS: 'my-plain-secret-key' }),
    );
    expect(await child.exit).toBe(78);
    expect(child.stderr()).toContain('API_KEYS');
    expect(child.output()).not.toContain('my-plain-secret-key');
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('drains on SIGTERM mid-load: every request answered 202 is on the topic, exit 0', async () => {
    const topic = await collectTopic(pubsub, 'drain');
    cleanups.push(() => topic.close());
    const { child, url } = await startMain({ TOPIC: topic.topic.name });
    const traffic = load(url, 32);
    await waitUntil(
      () => traffic.accepted.length >= 500,
      60_000,
      () => child.output(),
    );
    child.process.kill('SIGTERM');
    const code = await child.exit;
    await traffic.stop();
    expect(code).toBe(0);
    const published = new Set(topic.messages.map((m) => m.attributes['event_id']));
    await waitUntil(
      () => {
        for (const m of topic.messages) published.add(m.attributes['event_id']);
        return traffic.accepted.every((id) => published.has(id));
      },
      30_000,
      () => `${traffic.accepted.filter((id) => !published.has(id)).length} accepted ids missing`,
    );
    process.stdout.write(
      `http-ingest SIGTERM: ${traffic.accepted.length} accepted, statuses ${JSON.stringify([...traffic.statuses])}\n`,
    );
    expect(traffic.accepted.length).toBeGreaterThanOrEqual(500);
  }, 120_000);

  it('sheds a flood with 429 while Pub/Sub is slow, in-flight and memory stay bounded', async () => {
    const topic = await collectTopic(pubsub, 'flood');
    cleanups.push(() => topic.close());
    const { child, url } = await startMain({
      TOPIC: topic.topic.name,
      MAX_IN_FLIGHT_REQUESTS: '16',
      PUBSUB_BATCH_MAX_MS: '500',
      PUBSUB_BATCH_MAX_MESSAGES: '1000',
    });
    const rssBefore = await gauge(url, 'process_resident_memory_bytes');
    const traffic = load(url, 200, 32 * 1024);
    let peakInFlight = 0;
    let peakRss = rssBefore;
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      peakInFlight = Math.max(
        peakInFlight,
        await gauge(url, 'tributary_http_ingest_in_flight_requests'),
      );
      peakRss = Math.max(peakRss, await gauge(url, 'process_resident_memory_bytes'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await traffic.stop();
    const shed = traffic.statuses.get(429) ?? 0;
    process.stdout.write(
      `http-ingest flood: statuses ${JSON.stringify([...traffic.statuses])}, peak in flight ${peakInFlight}, RSS ${Math.round(rssBefore / 2 ** 20)} -> ${Math.round(peakRss / 2 ** 20)} MB\n`,
    );
    expect(shed).toBeGreaterThan(0);
    expect(traffic.accepted.length).toBeGreaterThan(0);
    expect(peakInFlight).toBeLessThanOrEqual(16);
    expect(peakRss - rssBefore).toBeLessThan(150 * 2 ** 20);
    const published = new Set<string | undefined>();
    await waitUntil(
      () => {
        for (const m of topic.messages) published.add(m.attributes['event_id']);
        return traffic.accepted.every((id) => published.has(id));
      },
      30_000,
      () => 'accepted ids missing from the topic',
    );
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 120_000);
});
