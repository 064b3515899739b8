import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isProcessAlive } from './managed-process.js';
import { startRedis } from './redis.js';

const fixture = new URL('./test-support/crash-fixture.ts', import.meta.url).pathname;
const repoRoot = new URL('../../../../', import.meta.url).pathname;

async function waitGone(pids: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isProcessAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await delay(50);
    alive = pids.filter(isProcessAlive);
  }
  return alive;
}

/** Runs the crash fixture; resolves with its child PIDs and how it ended. */
async function runFixture(
  mode: 'throw' | 'wait',
  withJava: boolean,
  killWith: NodeJS.Signals = 'SIGTERM',
): Promise<{
  pids: number[];
  dirs: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
}> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, mode, withJava ? 'java' : 'no-java'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), exited.then(() => [undefined])])) as [
    string | undefined,
  ];
  if (first === undefined) throw new Error(`fixture ended early: ${stderr}`);
  const { pids, dirs } = JSON.parse(first) as { pids: number[]; dirs: string[] };
  if (mode === 'wait') child.kill(killWith);
  const [code, signal] = await exited;
  return { pids, dirs, code, signal };
}

describe('no orphans', () => {
  it('kills every started server (java included) when the process dies of an uncaught exception', async () => {
    const { pids, dirs, code } = await runFixture('throw', true);
    expect(code).toBe(1);
    expect(pids).toHaveLength(3);
    expect(await waitGone(pids)).toEqual([]);
    expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
  });

  it('kills every started server when the process gets SIGTERM, then dies of it', async () => {
    const { pids, dirs, signal } = await runFixture('wait', false);
    expect(signal).toBe('SIGTERM');
    expect(pids).toHaveLength(2);
    expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
    expect(await waitGone(pids)).toEqual([]);
  });

  it('kills every started server (java included) even when the process is SIGKILLed', async () => {
    const { pids, dirs, signal } = await runFixture('wait', true, 'SIGKILL');
    // Nothing runs in a SIGKILLed process: its temporary directories stay behind.
    onTestFinished(async () => {
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    });
    expect(signal).toBe('SIGKILL');
    expect(pids).toHaveLength(3);
    expect(await waitGone(pids)).toEqual([]);
  });

  let pidOfFailedTest: number | undefined;
  it.fails('a test that fails half-way still stops its server from its cleanup hook', async () => {
    const server = await startRedis({ reuseExisting: false });
    onTestFinished(() => server.stop());
    pidOfFailedTest = server.pid;
    throw new Error('failing half-way');
  });

  it('(the server of the failed test is gone)', () => {
    expect(pidOfFailedTest).toBeTypeOf('number');
    expect(isProcessAlive(pidOfFailedTest ?? 0)).toBe(false);
  });
});
