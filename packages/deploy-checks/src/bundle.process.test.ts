import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import {
  findFreePort,
  startAppProcess,
  testEnv,
  uniqueName,
  waitForAppReady,
} from '@tributary/local-gcp';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleApp, bundleEnvironment, imageNodeArgs } from './test-support/bundle-env.js';
import { readCompose, readImageRuntime } from './test-support/manifests.js';

// The image's runtime: the bundle folder at WORKDIR (/app), `CMD ["node", ...args, "/app/main.mjs"]`.
const image = readImageRuntime();
const work = mkdtempSync(join(tmpdir(), 'tributary-bundles-'));
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe('app bundles, run as the image runs them', () => {
  it('the image runs node as PID 1 (exec form) on the bundle, as a non-root user', () => {
    expect(image.cmd[0]).toBe('node');
    expect(image.cmd.at(-1)).toBe(`${image.workdir}/main.mjs`);
    expect(image.user).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
    expect(image.env['NODE_ENV']).toBe('production');
  });

  for (const app of [
    'ingestion',
    'enrichment',
    'bigquery-sink',
    'archiver',
    'http-ingest',
    'sql-sink',
  ]) {
    it(`${app}: the bundle answers /healthz and /readyz with the compose environment, and drains on SIGTERM`, async () => {
      const dir = bundleApp(app, join(work, app));
      const port = await findFreePort();
      const env = {
        ...(await bundleEnvironment(app, dir, testEnv(), cleanups)),
        PORT: String(port),
      };
      // Outside the repository (no node_modules above it): the bundle must hold everything.
      const child = startAppProcess(join(dir, 'main.mjs'), env, {
        nodeArgs: imageNodeArgs(),
        cwd: dir,
      });
      cleanups.push(async () => {
        child.process.kill('SIGKILL');
        await child.exit;
      });
      const base = `http://127.0.0.1:${port}`;
      await waitForAppReady(base, child, 30_000);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      child.process.kill('SIGTERM');
      expect(await child.exit, child.output()).toBe(0);
    }, 45_000);
  }

  it('local-gcp: the bundle (DuckDB beside it) serves GCS and BigQuery and answers /healthz', async () => {
    const dir = bundleApp('local-gcp', join(work, 'local-gcp'));
    const [port, gcsPort, bigqueryPort, writeApiPort] = [
      await findFreePort(),
      await findFreePort(),
      await findFreePort(),
      await findFreePort(),
    ];
    const composeEnv = readCompose().services['local-gcp']?.environment ?? {};
    expect(Object.keys(composeEnv).sort()).toEqual([
      'BIGQUERY_PORT',
      'BIGQUERY_STORAGE_PORT',
      'GCS_PORT',
    ]);
    const child = startAppProcess(
      join(dir, 'main.mjs'),
      {
        ...image.env,
        PORT: String(port),
        GCS_PORT: String(gcsPort),
        BIGQUERY_PORT: String(bigqueryPort),
        BIGQUERY_STORAGE_PORT: String(writeApiPort),
      },
      { nodeArgs: imageNodeArgs(), cwd: dir },
    );
    cleanups.push(async () => {
      child.process.kill('SIGKILL');
      await child.exit;
    });
    await waitForAppReady(`http://127.0.0.1:${port}`, child, 30_000);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const storage = new Storage({ apiEndpoint: `http://127.0.0.1:${gcsPort}`, projectId: 'p' });
    const name = uniqueName('bundle');
    await storage.createBucket(name);
    expect((await storage.bucket(name).exists())[0]).toBe(true);
    const datasets = await fetch(
      `http://127.0.0.1:${bigqueryPort}/bigquery/v2/projects/p/datasets`,
    );
    expect(datasets.status).toBe(200);
    // The Storage Write API listens on its own port.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(writeApiPort, '127.0.0.1', () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
    child.process.kill('SIGTERM');
    expect(await child.exit, child.output()).toBe(0);
  });

  it('local-gcp: a bad port exits 78 naming the variable', async () => {
    const dir = bundleApp('local-gcp', join(work, 'local-gcp-bad'));
    const child = startAppProcess(
      join(dir, 'main.mjs'),
      { ...image.env, GCS_PORT: 'forty' },
      { nodeArgs: imageNodeArgs(), cwd: dir },
    );
    expect(await child.exit).toBe(78);
    expect(child.stderr()).toContain('GCS_PORT');
  });
});
