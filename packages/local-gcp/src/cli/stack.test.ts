import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { answersMqttConnect, answersOk } from '../launchers/probes.js';
import { STACK_ENV_NAMES } from '../harness/stack-env.js';

const cli = new URL('./stack.ts', import.meta.url).pathname;
const repoRoot = new URL('../../../../', import.meta.url).pathname;

function runCli(args: readonly string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, stderr: () => stderr };
}

describe('npm run stack (src/cli/stack.ts)', () => {
  it('prints one export line per variable, runs until SIGINT, then stops and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-stack-test-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const envFile = join(dir, 'stack.env');
    const run = runCli([`--export-file=${envFile}`, '--gcs-data-dir=', '--bigquery-data-dir='], {
      PATH: process.env['PATH'],
    });
    const lines: string[] = [];
    const reader = createInterface({ input: run.child.stdout });
    for await (const line of reader) {
      lines.push(line);
      if (lines.length === STACK_ENV_NAMES.length) break;
    }
    expect(lines.map((line) => /^export (\w+)=/.exec(line)?.[1])).toEqual([...STACK_ENV_NAMES]);
    const vars = Object.fromEntries(
      lines.map((line) =>
        line
          .replace(/^export /, '')
          .split(/=(.*)/s)
          .slice(0, 2),
      ),
    ) as Record<string, string>;
    expect(vars['GOOGLE_CLOUD_PROJECT']).toBe('test-proj');
    expect(vars['METADATA_SERVER_DETECTION']).toBe('none');
    expect(existsSync(envFile)).toBe(true);
    const pubsubUrl = `http://${vars['PUBSUB_EMULATOR_HOST'] ?? ''}`;
    expect(await answersOk(pubsubUrl)).toBe(true);
    // A private broker with raised limits, not the shared one on 1883 (max_queued_messages 1000).
    const mqtt = new URL(vars['MQTT_URL'] ?? '');
    expect(mqtt.port).not.toBe('1883');
    expect(await answersMqttConnect(mqtt.hostname, Number(mqtt.port))).toBe(true);

    run.child.kill('SIGINT');
    expect(await run.exited).toEqual([0, null]);
    expect(run.stderr()).toContain('[stack] stopped');
    expect(await answersOk(pubsubUrl)).toBe(false);
    expect(await answersOk(`http://${vars['FIRESTORE_EMULATOR_HOST'] ?? ''}`)).toBe(false);
    expect(await answersMqttConnect(mqtt.hostname, Number(mqtt.port))).toBe(false);
    expect(existsSync(envFile)).toBe(false);
  });

  it('exits 1 with a message naming what to install when the SDK is missing', async () => {
    const envFile = join(tmpdir(), `tributary-stack-test-${process.pid}-missing.env`);
    const run = runCli(['--gcs-data-dir=', '--bigquery-data-dir=', `--export-file=${envFile}`], {
      PATH: process.env['PATH'],
      TRIBUTARY_GCLOUD_SDK_ROOT: '/nonexistent/sdk',
    });
    const stdout: string[] = [];
    run.child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    expect(await run.exited).toEqual([1, null]);
    expect(stdout.join('')).toBe('');
    expect(existsSync(envFile)).toBe(false);
    expect(run.stderr()).toContain(
      'Pub/Sub emulator jar not found under /nonexistent/sdk/platform/pubsub-emulator/lib: install the google-cloud-cli-pubsub-emulator package',
    );
  });
});
