import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import {
  findFreePort,
  startAppProcess,
  startGcsServer,
  testEnv,
  uniqueName,
  waitForAppReady,
  type AppProcess,
} from '@tributary/local-gcp';
import { afterAll, describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, 'main.ts');

function runMain(env: Readonly<Record<string, string>>): AppProcess {
  const stack = testEnv();
  return startAppProcess(main, {
    PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
    STORAGE_EMULATOR_HOST: stack.STORAGE_EMULATOR_HOST,
    GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    PORT: '0',
    LOG_LEVEL: 'warn',
    SUBSCRIPTION: 'unused-sub',
    BUCKET: 'unused-bucket',
    ...env,
  });
}

async function waitUntil(
  condition: () => Promise<boolean>,
  what: () => string,
  timeoutMs = 40_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function storage(): Storage {
  const host = testEnv().STORAGE_EMULATOR_HOST;
  return new Storage({
    apiEndpoint: host.startsWith('http') ? host : `http://${host}`,
    projectId: 'test-proj',
  });
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('archiver process', () => {
  it('fails startup naming a bad variable (exit 78)', async () => {
    const child = runMain({ GZIP_LEVEL: '12' });
    expect(await child.exit).toBe(78);
    expect(child.output()).toContain('GZIP_LEVEL');
  });

  it('fails startup with a clear message when the bucket does not exist', async () => {
    const missing = uniqueName('no-bucket');
    const child = runMain({ BUCKET: missing });
    const code = await child.exit;
    expect(code).not.toBe(0);
    expect(child.output()).toContain(missing);
    expect(child.output()).toContain('does the bucket exist?');
  });

  it('archives per key, exposes metrics, and flushes every key on SIGTERM', async () => {
    const pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
    const gcs = storage();
    const bucket = uniqueName('archiver');
    await gcs.createBucket(bucket);
    cleanups.push(() =>
      gcs
        .bucket(bucket)
        .deleteFiles({ force: true })
        .then(() => gcs.bucket(bucket).delete()),
    );
    const [topic] = await pubsub.createTopic(uniqueName('arch'));
    const [subscription] = await topic.createSubscription(uniqueName('arch-sub'));
    cleanups.push(() => subscription.delete().then(() => topic.delete()));

    const port = await findFreePort();
    const child = runMain({
      SUBSCRIPTION: subscription.name.split('/').pop()!,
      BUCKET: bucket,
      PREFIX: 'raw',
      KEY_TEMPLATE: 'dt={yyyy}-{MM}-{dd}/location={attributes.location}',
      LAYOUT: 'hive',
      PORT: String(port),
      BATCH_MAX_WAIT_MS: '10m',
    });
    cleanups.push(async () => {
      child.process.kill('SIGKILL');
      await child.exit;
    });
    const ready = async () =>
      fetch(`http://127.0.0.1:${port}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
    await waitUntil(ready, () => child.output());
    const ids: string[] = [];
    for (const [i, location] of ['north', 'south', 'north', 'a/b'].entries()) {
      ids.push(await topic.publishMessage({ json: { i }, attributes: { location } }));
    }
    const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let last = '';
    await waitUntil(
      async () =>
        (last = await metricsText()).includes('tributary_archiver_open_keys{service="archiver"} 3'),
      () =>
        `${child.output()}\n${last
          .split('\n')
          .filter((l) => l.includes('archiver_'))
          .join('\n')}`,
    );
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);

    const [files] = await gcs.bucket(bucket).getFiles({ prefix: 'raw/' });
    const folders = files.map((f) => f.name.split('/').slice(0, 3).join('/')).sort();
    const day = new Date().toISOString().slice(0, 10);
    expect(folders).toEqual([
      `raw/dt=${day}/location=a%2Fb`,
      `raw/dt=${day}/location=north`,
      `raw/dt=${day}/location=south`,
    ]);
    const seen: string[] = [];
    for (const file of files) {
      const [raw] = await file.download({ decompress: false });
      for (const line of gunzipSync(raw).toString().trimEnd().split('\n')) {
        seen.push((JSON.parse(line) as { id: string }).id);
      }
    }
    expect(seen.sort()).toEqual([...ids].sort());
  }, 90_000);

  it('SIGKILL mid-batch and a restart: every message id is in at least one object (duplicates reported)', async () => {
    // A private GCS server, so its faults and counters are this test's alone: the first two
    // uploads are held for 8 s, so the kill lands while they are in flight (never acked: their
    // messages come back after the ack deadline; had the server written them, as duplicates).
    const gcsServer = await startGcsServer({ port: 0 });
    cleanups.push(() => gcsServer.stop());
    const shared = process.env['STORAGE_EMULATOR_HOST'];
    delete process.env['STORAGE_EMULATOR_HOST'];
    const gcs = new Storage({ apiEndpoint: gcsServer.url, projectId: 'test-proj' });
    process.env['STORAGE_EMULATOR_HOST'] = shared;
    const bucket = uniqueName('archiver-kill');
    await gcs.createBucket(bucket);
    const pubsub = new PubSub({ projectId: testEnv().GOOGLE_CLOUD_PROJECT });
    const [topic] = await pubsub.createTopic(uniqueName('arch-kill'));
    const [subscription] = await topic.createSubscription(uniqueName('arch-kill-sub'), {
      ackDeadlineSeconds: 10,
    });
    cleanups.push(
      () => subscription.delete(),
      () => topic.delete(),
      () => pubsub.close(),
    );
    const env = {
      STORAGE_EMULATOR_HOST: gcsServer.url,
      SUBSCRIPTION: subscription.name.split('/').pop()!,
      BUCKET: bucket,
      PREFIX: 'raw',
      KEY_TEMPLATE: '{attributes.location}',
      BATCH_MAX_ITEMS: '200',
    };
    // Each key gets 750 messages: 3 size flushes of 200, and 150 left in an open batch that
    // only the kill ends (its age limit is 10 minutes in the first run).
    gcsServer.faults.inject({ kind: 'object.upload', hangMs: 8_000, count: 2 });
    const port = await findFreePort();
    let child = runMain({ ...env, BATCH_MAX_WAIT_MS: '10m', PORT: String(port) });
    cleanups.push(async () => {
      child.process.kill('SIGKILL');
      await child.exit;
    });
    await waitForAppReady(`http://127.0.0.1:${port}`, child);

    const n = 3_000;
    const locations = ['north', 'south', 'east', 'west'];
    const publisher = pubsub.topic(topic.name, {
      batching: { maxMessages: 500, maxMilliseconds: 5 },
    });
    const ids = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        publisher.publishMessage({
          json: { i },
          attributes: { location: locations[i % locations.length]! },
        }),
      ),
    );
    const published = new Set(ids);

    // Every object read once (names are unique per batch): message id -> copies.
    const copies = new Map<string, number>();
    const read = new Set<string>();
    const scan = async (): Promise<void> => {
      const [files] = await gcs.bucket(bucket).getFiles({ prefix: 'raw/' });
      for (const file of files) {
        if (read.has(file.name)) continue;
        read.add(file.name);
        const [raw] = await file.download({ decompress: false });
        for (const line of gunzipSync(raw).toString().trimEnd().split('\n')) {
          const id = (JSON.parse(line) as { id: string }).id;
          expect(published.has(id)).toBe(true);
          copies.set(id, (copies.get(id) ?? 0) + 1);
        }
      }
    };
    await waitUntil(
      async () => {
        await scan();
        return read.size >= 6;
      },
      () => child.output(),
    );
    child.process.kill('SIGKILL');
    await child.exit;
    const uploadsAtKill = gcsServer.requestCount('object.upload');
    await scan();
    const atKill = copies.size;
    const objectsAtKill = read.size;
    expect(atKill).toBeLessThan(n);

    child = runMain({ ...env, BATCH_MAX_WAIT_MS: '1s', PORT: String(port) });
    await waitUntil(
      async () => {
        await scan();
        return copies.size === n;
      },
      () => `${copies.size} of ${n} ids archived: ${child.output()}`,
      90_000,
    );
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(0);
    await scan();
    expect([...published].filter((id) => !copies.has(id))).toEqual([]);
    const records = [...copies.values()].reduce((sum, k) => sum + k, 0);
    process.stdout.write(
      `archiver SIGKILL: ${atKill} of ${n} ids in ${objectsAtKill} objects at the kill, ${uploadsAtKill - objectsAtKill} uploads in flight; after the restart all ${n} in ${read.size} objects, ${records - n} duplicate records (${[...copies.values()].filter((k) => k > 1).length} ids twice or more)\n`,
    );
  }, 180_000);
});
