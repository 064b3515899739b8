import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { findFreePort, testEnv, uniqueName } from '@tributary/local-gcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectTopic, waitUntil } from './test-support/pubsub.js';

const root = join(import.meta.dirname, '../../..');
const main = join(import.meta.dirname, 'main.ts');

interface Child {
  readonly process: ChildProcess;
  readonly exit: Promise<number | null>;
  output(): string;
}

function runMain(env: Readonly<Record<string, string>>): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', '--import', 'tsx', main],
    {
      cwd: root,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { process: child, exit, output: () => output };
}

function environment(overrides: Readonly<Record<string, string>>): Record<string, string> {
  const stack = testEnv();
  return {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    FIRESTORE_EMULATOR_HOST: stack.FIRESTORE_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    REDIS_URL: stack.REDIS_URL,
    PORT: '0',
    LOG_LEVEL: 'warn',
    INPUT_SUBSCRIPTION: 'unused-sub',
    OUTPUT_TOPIC: 'unused-out',
    DEAD_LETTER_TOPIC: 'unused-dlq',
    ...overrides,
  };
}

async function lookupsFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'enrichment-lookups-')), 'lookups.yaml');
  await writeFile(file, text);
  return file;
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
let firestore: Firestore;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
  firestore = new Firestore({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pubsub.close();
  await firestore.terminate();
});

describe('the enrichment process', () => {
  it('fails startup naming a bad variable (exit 78)', async () => {
    const child = runMain(
      environment({ LOOKUPS_FILE: '/nonexistent/lookups.yaml', CONCURRENCY: 'many' }),
    );
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('CONCURRENCY');
    expect(child.output()).toContain('LOOKUPS_FILE');
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('fails startup naming the file, the lookup and the field of a bad lookups file (exit 78)', async () => {
    const file = await lookupsFile(
      'fetchers:\n  devices: { source: { firestore: { collection: devices } } }\nlookups:\n  - name: device\n    fetcher: devices\n    key: { attribute: deviceId }\n    onMiss: drop\n',
    );
    const child = runMain(environment({ LOOKUPS_FILE: file }));
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain(
      `${file}: lookup 'device': onMiss: must be 'pass', 'dead-letter' or 'nack'`,
    );
    expect(child.output()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('enriches raw -> enriched on the emulators, keeps attributes and ordering keys, dead-letters no-key, miss and bad JSON; drains on SIGTERM', async () => {
    const collection = uniqueName('devices');
    await firestore.doc(`${collection}/d1`).set({ name: 'pump', location: 'north', secret: 's' });
    await firestore.doc(`${collection}/d2`).set({ name: 'valve', location: 'south' });
    const enriched = await collectTopic(pubsub, 'enriched');
    const dead = await collectTopic(pubsub, 'dead');
    const [raw] = await pubsub.createTopic(uniqueName('raw'));
    const [rawSub] = await raw.createSubscription(uniqueName('raw-sub'));
    cleanups.push(
      () => enriched.close(),
      () => dead.close(),
      () => rawSub.delete(),
      () => raw.delete(),
    );
    const file = await lookupsFile(`
fetchers:
  devices:
    source: { firestore: { collection: ${collection} } }
    redis: { namespace: ${uniqueName('ns')} }
lookups:
  - name: device
    fetcher: devices
    key: { payload: $.deviceId }
    fields: [name, location]
    attributes: { location: location }
    onMissingKey: dead-letter
    onMiss: dead-letter
`);
    const port = await findFreePort();
    const child = runMain(
      environment({
        LOOKUPS_FILE: file,
        INPUT_SUBSCRIPTION: rawSub.name,
        OUTPUT_TOPIC: enriched.topic.name,
        DEAD_LETTER_TOPIC: dead.topic.name,
        PORT: String(port),
      }),
    );
    cleanups.push(async () => {
      child.process.kill('SIGKILL');
    });
    await waitForReady(port, child);
    const publisher = pubsub.topic(raw.name, { messageOrdering: true });
    const count = 200;
    for (let i = 0; i < count; i++) {
      await publisher.publishMessage({
        json: { deviceId: i % 2 === 0 ? 'd1' : 'd2', seq: i },
        attributes: { seq: String(i), source: 'test' },
        orderingKey: `k${i % 3}`,
      });
    }
    await publisher.publishMessage({ json: { seq: 'no-key' }, attributes: { case: 'no-key' } });
    await publisher.publishMessage({ json: { deviceId: 'ghost' }, attributes: { case: 'miss' } });
    await publisher.publishMessage({
      data: Buffer.from('not json {'),
      attributes: { case: 'bad-json' },
    });
    await waitUntil(
      () => enriched.messages.length >= count && dead.messages.length >= 3,
      60_000,
      () => `${enriched.messages.length} enriched, ${dead.messages.length} dead: ${child.output()}`,
    );
    const seqs = new Set<string>();
    for (const message of enriched.messages) {
      const seq = Number(message.attributes['seq']);
      const device =
        seq % 2 === 0 ? { name: 'pump', location: 'north' } : { name: 'valve', location: 'south' };
      expect(message.attributes).toMatchObject({
        seq: String(seq),
        source: 'test',
        location: device.location,
        'tributary-envelope': '1',
      });
      expect(message.orderingKey).toBe(`k${seq % 3}`);
      expect(JSON.parse(message.data.toString())).toEqual({
        v: 1,
        payload: { deviceId: seq % 2 === 0 ? 'd1' : 'd2', seq },
        enrichment: { device },
      });
      seqs.add(String(seq));
    }
    expect(seqs.size).toBe(count);
    const byCase = new Map(dead.messages.map((m) => [m.attributes['case'], m.attributes]));
    expect(byCase.get('no-key')).toMatchObject({
      'error.code': 'INVALID_PAYLOAD',
      'error.stage': 'enrichment',
    });
    expect(byCase.get('miss')).toMatchObject({
      'error.code': 'NOT_FOUND',
      'error.stage': 'enrichment',
    });
    expect(byCase.get('bad-json')).toMatchObject({ 'error.code': 'INVALID_PAYLOAD' });
    expect(byCase.get('miss')?.['error.message']).toContain(
      "lookup 'device' found nothing for 'ghost'",
    );

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(
      /tributary_enrichment_lookup_enriched_total\{[^}]*lookup="device"[^}]*\} 200/,
    );
    expect(metrics).toMatch(
      /tributary_cache_source_reads_total\{[^}]*fetcher="devices"[^}]*\} \d+/,
    );
    expect(metrics).toContain('tributary_cache_operation_duration_ms_bucket');

    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
  }, 120_000);
});
