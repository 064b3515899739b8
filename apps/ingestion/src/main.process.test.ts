import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import {
  findFreePort,
  startAppProcess,
  startPrivateMosquitto,
  testEnv,
  uniqueName,
  type AppProcess,
} from '@tributary/local-gcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishAll } from './test-support/mqtt-publisher.js';
import { ingestionEnvironment, writeRoutesFile } from './test-support/ingestion-env.js';
import { collectTopic, tally, waitUntil, type Collected } from './test-support/pubsub.js';

const main = join(import.meta.dirname, 'main.ts');

type Child = AppProcess;

function runMain(env: Readonly<Record<string, string>>): Child {
  return startAppProcess(main, env);
}

/**
 * Runs the app with a configuration mistake and checks what an operator sees: exit 78, a JSON
 * ERROR line on stderr naming the variable, a CRITICAL summary, and no stack trace.
 */
async function expectConfigFailure(
  env: Readonly<Record<string, string>>,
  variable: string,
  problem: string,
): Promise<void> {
  const child = runMain(ingestionEnvironment(env));
  expect(await child.exit).toBe(78);
  const stderr = child.stderr();
  // Every stderr line is one of our JSON lines: nothing else, a stack trace least of all.
  const lines = stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines).toContainEqual(
    expect.objectContaining({
      severity: 'ERROR',
      variable,
      problem: expect.stringContaining(problem) as string,
    }),
  );
  expect(lines.at(-1)).toMatchObject({ severity: 'CRITICAL', code: 'CONFIG_INVALID' });
  expect(child.output()).not.toMatch(/^\s+at /m);
  expect(child.output()).not.toContain('InvalidArgumentError');
}

async function waitForReady(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready after 60 s: ${child.output()}`);
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

describe('the ingestion process', () => {
  it('fails startup naming a bad variable (exit 78)', async () => {
    const child = runMain(
      ingestionEnvironment({
        ROUTES_FILE: 'x.yaml',
        DEAD_LETTER_TOPIC: 'dlq',
        MAX_IN_FLIGHT_MESSAGES: 'lots',
      }),
    );
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('MAX_IN_FLIGHT_MESSAGES');
  }, 60_000);

  it('fails startup naming the route and field of a bad routes file (exit 78)', async () => {
    const routesFile = await writeRoutesFile([
      { name: 'bad', topic: 'a/#/b', destination: 'dest-a' },
    ]);
    const child = runMain(
      ingestionEnvironment({ ROUTES_FILE: routesFile, DEAD_LETTER_TOPIC: 'dlq' }),
    );
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain(`${routesFile}: route 'bad': topic:`);
  }, 60_000);

  it.each([
    ['the dead-letter topic', 'dest-ok', 'dl', 'DEAD_LETTER_TOPIC', () => "'dl' has 2 characters"],
    [
      'a route destination',
      'ab',
      'dead-letters',
      'ROUTES_FILE',
      (file: string) => `${file}: route 'r': destination: must be a Pub/Sub topic id`,
    ],
  ])(
    'fails startup naming %s when Pub/Sub would refuse it (exit 78, no stack trace)',
    async (_, destination, deadLetterTopic, variable, problemIn) => {
      const routesFile = await writeRoutesFile([
        { name: 'r', topic: `${uniqueName('names')}/#`, destination },
      ]);
      await expectConfigFailure(
        { ROUTES_FILE: routesFile, DEAD_LETTER_TOPIC: deadLetterTopic },
        variable,
        problemIn(routesFile),
      );
    },
    60_000,
  );

  it.each([
    ['missing', (dir: string) => join(dir, 'client.pem'), 'does not exist'],
    ['a directory', (dir: string) => dir, 'is a directory, not a file'],
  ])(
    'fails startup naming MQTT_TLS_CERT_FILE when it is %s (exit 78)',
    async (_, certFileIn, problem) => {
      const certFile = certFileIn(await mkdtemp(join(tmpdir(), 'ingestion-tls-')));
      await expectConfigFailure(
        {
          ROUTES_FILE: 'unused.yaml',
          DEAD_LETTER_TOPIC: 'dead-letters',
          MQTT_TLS_CERT_FILE: certFile,
        },
        'MQTT_TLS_CERT_FILE',
        `'${certFile}' ${problem}`,
      );
    },
    60_000,
  );

  it('loses nothing when killed with SIGKILL mid-stream and restarted', async () => {
    const collected: Collected = await collectTopic(pubsub, 'kill');
    cleanups.push(() => collected.close());
    const base = uniqueName('kill');
    const routesFile = await writeRoutesFile([
      {
        name: 'telemetry',
        topic: `${base}/devices/{deviceId}/telemetry`,
        destination: collected.topic.name,
      },
    ]);
    // A broker of its own: the shared one keeps mosquitto's default max_queued_messages (1000),
    // past which it silently drops QoS 1 messages for a session that is offline, as this one is
    // while the process restarts. The private broker allows far more.
    const broker = await startPrivateMosquitto();
    cleanups.push(() => broker.stop());
    const port = await findFreePort();
    const env = ingestionEnvironment({
      ROUTES_FILE: routesFile,
      DEAD_LETTER_TOPIC: 'unused-dlq',
      CHECK_TOPICS: 'false', // no dead letters expected here: the topic need not exist
      PORT: String(port),
      MQTT_URL: broker.url,
    });
    let child = runMain(env);
    // Subscribed first: what is published before the session's subscription exists is not kept.
    await waitForReady(port, child);
    const count = 6_000;
    let killed = false;
    const publishing = publishAll({
      url: broker.url,
      count,
      topicOf: (i) => `${base}/devices/d${i % 8}/telemetry`,
      arrived: () => collected.counts.size, // unique ids: duplicates must not let it run ahead
    });
    await waitUntil(
      () => collected.total() >= 2_000,
      60_000,
      () => `first 2000 (${collected.total()}): ${child.output()}`,
    );
    child.process.kill('SIGKILL');
    await child.exit;
    killed = true;
    const atKill = collected.total();
    child = runMain(env);
    const ids = await publishing;
    await waitUntil(
      () => tally(ids, collected.counts).missing.length === 0,
      60_000,
      () =>
        `${tally(ids, collected.counts).missing.length} missing (${tally(ids, collected.counts).missing.slice(0, 20).join(',')}); ${child.output()}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const result = tally(ids, collected.counts);
    process.stdout.write(
      `SIGKILL: killed at ${atKill} arrivals; ${collected.total()} deliveries for ${count} ids, ` +
        `duplicates ${result.duplicates} (redelivered by the broker: published, not yet PUBACKed)\n`,
    );
    expect(killed).toBe(true);
    expect(result.missing).toEqual([]);
    expect(result.unexpected).toBe(0);
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 120_000);
});
