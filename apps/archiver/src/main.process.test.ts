import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { findFreePort, testEnv, uniqueName } from '@tributary/local-gcp';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const main = join(import.meta.dirname, 'main.ts');

interface Child {
  readonly process: ChildProcess;
  readonly exit: Promise<number | null>;
  output(): string;
}

function runMain(env: Readonly<Record<string, string>>): Child {
  const stack = testEnv();
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', '--import', 'tsx', main],
    {
      cwd: root,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        PUBSUB_EMULATOR_HOST: stack.PUBSUB_EMULATOR_HOST,
        STORAGE_EMULATOR_HOST: stack.STORAGE_EMULATOR_HOST,
        GOOGLE_CLOUD_PROJECT: stack.GOOGLE_CLOUD_PROJECT,
        METADATA_SERVER_DETECTION: 'none',
        PORT: '0',
        LOG_LEVEL: 'warn',
        SUBSCRIPTION: 'unused-sub',
        BUCKET: 'unused-bucket',
        ...env,
      },
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

async function waitUntil(condition: () => Promise<boolean>, what: () => string): Promise<void> {
  const deadline = Date.now() + 40_000;
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
});
