// The tributary command as a user runs it: a child process, flags on the command line, the
// standard variables in its environment, results checked where they land (the table, the
// archive folder, the exit code).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppProcess, testEnv } from '@tributary/local-gcp';
import { afterAll, describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, 'main.ts');
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-cli-'));
  dirs.push(dir);
  return dir;
}

async function tributary(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<{ code: number | null; output: string }> {
  const child = startAppProcess(main, env, { args });
  const code = await child.exit;
  return { code, output: child.output() };
}

/** The number after `label` in the start summary. */
function figure(output: string, pattern: RegExp): number {
  const match = pattern.exec(output);
  if (match?.[1] === undefined) throw new Error(`${String(pattern)} not in:\n${output}`);
  return Number(match[1]);
}

async function archiveObjects(dir: string): Promise<string[]> {
  const entries = await readdir(join(dir, 'gcs', 'tributary-archive'), { recursive: true });
  return entries.filter((name) => name.endsWith('.jsonl.gz'));
}

const SMALL = ['--devices', '10', '--rate', '100', '--duration', '2s'];

describe('tributary start (what npm start runs)', () => {
  it('runs the flow on embedded defaults: the accounting balances, the table and the folder hold the results', async () => {
    const dir = await dataDir();
    const run = await tributary(['start', ...SMALL, '--data-dir', dir]);
    expect(run.output).toContain('the accounting balances');
    expect(run.code).toBe(0);
    expect(run.output).toContain('embedded aedes broker');
    expect(run.output).toContain('embedded in-memory broker');
    const sent = figure(run.output, /\n {2}sent +(\d+)/);
    const rows = figure(run.output, /\n {2}rows +(\d+)/);
    const dead = figure(run.output, /\n {2}dead-lettered +(\d+)/);
    expect(sent).toBe(200);
    expect(rows + dead).toBe(sent);
    expect(dead).toBeGreaterThanOrEqual(1); // the oversized payload at least
    const objects = figure(run.output, /\((\d+) objects\)/);
    expect(await archiveObjects(dir)).toHaveLength(objects);

    // The table outlives the run: `tributary query` reads it.
    const query = await tributary([
      'query',
      'SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS distinct_seq FROM `tributary-local.tributary.telemetry`',
      '--data-dir',
      dir,
    ]);
    expect(query.code).toBe(0);
    expect(query.output).toMatch(new RegExp(`\\n${String(rows)} +${String(rows)}\\n`));
  }, 120_000);

  const replacements = [
    'MQTT_URL',
    'REDIS_URL',
    'PUBSUB_EMULATOR_HOST',
    'FIRESTORE_EMULATOR_HOST',
  ] as const;
  for (const variable of replacements) {
    it(`balances with ${variable} replacing its embedded part`, async () => {
      const value = testEnv()[variable];
      const run = await tributary(['start', ...SMALL, '--data-dir', await dataDir()], {
        [variable]: value,
      });
      expect(run.output).toContain(`${variable} ${value}`);
      expect(run.output).toContain('the accounting balances');
      expect(run.code).toBe(0);
    }, 120_000);
  }

  it('refuses a bad flag with a clear error and exit 64', async () => {
    const run = await tributary(['start', '--rate', 'fast']);
    expect(run.code).toBe(64);
    expect(run.output).toContain("option '--rate <msgPerSecond>' argument 'fast' is invalid");
    const suite = await tributary(['check', 'smok']);
    expect(suite.code).toBe(64);
    expect(suite.output).toContain('Allowed choices are smoke, behaviour, perf');
  }, 60_000);

  it('top: watches apps by their /metrics until Ctrl-C, and refuses an app without a URL', async () => {
    // A stand-in app: serves the metric names the view reads, as an ingestion would.
    const { createServer } = await import('node:http');
    const server = createServer((_request, response) => {
      response.end(
        'tributary_messages_acked_total{stage="ingestion"} 42\n' +
          'tributary_messages_dead_lettered_total{stage="ingestion",code="PAYLOAD_TOO_LARGE"} 3\n',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const child = startAppProcess(
      main,
      {},
      { args: ['top', '--app', `ingestion=http://127.0.0.1:${String(port)}`] },
    );
    // Its first line says it watches: its signal handlers are in place by then.
    while (!child.output().includes('tributary top: watching')) {
      if (child.process.exitCode !== null) throw new Error(child.output());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.process.kill('SIGINT');
    expect(await child.exit).toBe(0);
    server.close();
    expect(child.output()).toContain('ingested 42');
    expect(child.output()).toContain('dead-lettered 3');
    const bad = await tributary(['top', '--app', 'ingestion']);
    expect(bad.code).toBe(64);
    expect(bad.output).toContain('expected name=url');
  }, 60_000);

  it('says when there is nothing to query yet', async () => {
    const run = await tributary(['query', 'SELECT 1', '--data-dir', await dataDir()]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('run `npm start` (or `tributary start`) first');
  }, 60_000);
});

describe('tributary check --env local', () => {
  for (const suite of ['smoke', 'behaviour'] as const) {
    it(`${suite}: every check passes, and the JUnit report says so`, async () => {
      const dir = await dataDir();
      const junit = join(dir, `${suite}.xml`);
      const run = await tributary(['check', suite, '--data-dir', dir, '--junit', junit]);
      expect(run.output).toContain('checks passed');
      expect(run.output).not.toContain('FAIL');
      expect(run.code).toBe(0);
      const { readFile } = await import('node:fs/promises');
      expect(await readFile(junit, 'utf8')).toMatch(/failures="0"/);
    }, 120_000);
  }

  it('perf: runs briefly and reports throughput and latency', async () => {
    const dir = await dataDir();
    const json = join(dir, 'perf.json');
    const run = await tributary([
      'check',
      'perf',
      '--rate',
      '200',
      '--duration',
      '2s',
      // A 2 s run is mostly its tail (the batch window), so its throughput is judged loosely.
      '--min-throughput-share',
      '0.5',
      '--data-dir',
      dir,
      '--json',
      json,
    ]);
    expect(run.output).toMatch(/\d+ msg\/s to rows/);
    expect(run.code).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const report = JSON.parse(await readFile(json, 'utf8')) as {
      passed: boolean;
      checks: unknown[];
    };
    expect(report).toMatchObject({ passed: true });
    expect(report.checks).toHaveLength(1);
  }, 120_000);
});
