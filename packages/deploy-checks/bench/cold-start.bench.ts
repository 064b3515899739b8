// Cold start of each app's bundle: from spawning `node <image args> main.mjs` (as the image's
// CMD does, with the compose environment against a local stack) to the first 200 from /healthz,
// and on to the first 200 from /readyz. Baseline in the same run, measured the same way: a bare
// `node -e` HTTP server reaching listening. Median of RUNS starts each.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startLocalStack } from '@tributary/local-gcp';
import { median } from '@tributary/local-gcp/bench';
import { bundleApp, bundleEnvironment, imageNodeArgs } from '../src/test-support/bundle-env.js';

const RUNS = 5;
const APPS = ['ingestion', 'enrichment', 'bigquery-sink', 'archiver', 'http-ingest', 'sql-sink'];

async function firstOk(url: string, deadline: number): Promise<number> {
  for (;;) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return performance.now();
    if (performance.now() > deadline) throw new Error(`no 200 from ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Spawns, waits for /healthz (and /readyz when asked), kills; returns the times in ms. */
async function coldStart(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  readyz: boolean,
): Promise<{ healthz: number; readyz: number | undefined }> {
  const port = await findFreePort();
  const began = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = began + 30_000;
    const healthz = (await firstOk(`http://127.0.0.1:${port}/healthz`, deadline)) - began;
    const ready = readyz
      ? (await firstOk(`http://127.0.0.1:${port}/readyz`, deadline)) - began
      : undefined;
    return { healthz, readyz: ready };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const stack = await startLocalStack({ existingEnv: process.env });
// As the test globalSetup does: the Google clients of this script find the emulators here.
Object.assign(process.env, stack.env);
const work = mkdtempSync(join(tmpdir(), 'tributary-cold-start-'));
const cleanups: (() => Promise<unknown>)[] = [];
try {
  const baselineRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const script =
      "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT))";
    baselineRuns.push((await coldStart(['-e', script], {}, work, false)).healthz);
  }
  const baseline = Math.round(median(baselineRuns));
  for (const app of APPS) {
    const dir = bundleApp(app, join(work, app));
    const env = await bundleEnvironment(app, dir, stack.env, cleanups);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(await coldStart([...imageNodeArgs(), join(dir, 'main.mjs')], env, dir, true));
    }
    const healthz = Math.round(median(runs.map((r) => r.healthz)));
    const readyz = Math.round(median(runs.map((r) => r.readyz!)));
    console.log(
      `BENCH ${JSON.stringify({
        name: `cold start ${app} bundle -> /healthz`,
        value: healthz,
        unit: 'ms',
        baseline,
        ratio: Number((healthz / baseline).toFixed(2)),
        target: '< 1000 ms',
        notes: `median of ${RUNS}; /readyz at ${readyz} ms; baseline: bare node -e http server`,
      })}`,
    );
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
}
