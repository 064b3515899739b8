/**
 * runService in a real process: real signals, real exit codes. Each test spawns
 * `test-support/fake-app.ts` under tsx and waits on its log lines, never on wall-clock sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_EXIT_CODE } from './config.js';
import { spawnFakeApp, type AppProcess } from './test-support/child-process.js';
import { parsePrometheus, sampleKey } from './test-support/prometheus.js';

const apps: AppProcess[] = [];

function spawn(env: Readonly<Record<string, string>>): AppProcess {
  const app = spawnFakeApp({ PORT: '0', ...env });
  apps.push(app);
  return app;
}

afterEach(async () => {
  for (const app of apps.splice(0)) {
    app.kill('SIGKILL');
    await app.exited;
  }
});

const byMessage = (message: string) => (line: Record<string, unknown>) =>
  line['message'] === message;

describe('runService in a child process', () => {
  it('drains every in-flight message on SIGTERM and exits 0', async () => {
    const app = spawn({ SCENARIO: 'drain', IN_FLIGHT: '5', SETTLE_EACH_MS: '20' });
    const started = await app.waitForLine(byMessage('fake-app started'));
    const url = `http://127.0.0.1:${String(started['port'])}`;

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const samples = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    expect(samples.get(sampleKey('tributary_inflight_messages', { stage: 'worker' }))).toBe(5);

    app.kill('SIGTERM');
    const { code, signal } = await app.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(app.lines).toContainEqual(
      expect.objectContaining({ message: 'worker drained', settled: 5, remaining: 0 }),
    );
    expect(app.lines.at(-1)).toMatchObject({
      severity: 'INFO',
      message: 'fake-app stopped cleanly',
      exitCode: 0,
      reason: 'SIGTERM',
    });
  });

  it('fails startup on bad variables: exit 78, one stderr line per variable', async () => {
    const app = spawn({ SCENARIO: 'drain', PORT: 'eighty', SHUTDOWN_TIMEOUT_MS: 'soon' });
    const { code } = await app.exited;
    expect(code).toBe(CONFIG_EXIT_CODE);
    const lines = app
      .stderr()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { severity: 'ERROR', variable: 'PORT', problem: "expected an integer port, got 'eighty'" },
      {
        severity: 'ERROR',
        variable: 'SHUTDOWN_TIMEOUT_MS',
        problem: expect.stringContaining(
          "expected a duration like 500, 500ms, 10s, 5m or 1h, got 'soon'",
        ) as string,
      },
      { severity: 'CRITICAL', code: 'CONFIG_INVALID', variables: ['PORT', 'SHUTDOWN_TIMEOUT_MS'] },
    ]);
    expect(app.lines).toEqual([]);
  });

  it('exits non-zero when the drain outlasts SHUTDOWN_TIMEOUT_MS', async () => {
    const app = spawn({ SCENARIO: 'hang', SHUTDOWN_TIMEOUT_MS: '300ms' });
    await app.waitForLine(byMessage('fake-app started'));
    app.kill('SIGTERM');
    const { code } = await app.exited;
    expect(code).toBe(1);
    expect(app.lines).toContainEqual(
      expect.objectContaining({
        severity: 'ERROR',
        message: 'drain deadline of 300 ms passed; still running: worker',
      }),
    );
    expect(app.lines.at(-1)).toMatchObject({ exitCode: 1, reason: 'SIGTERM' });
  });
});
