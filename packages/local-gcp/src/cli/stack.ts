/**
 * `npm run stack`: starts every local service in the foreground (the same code as the test
 * harness), prints one `export NAME=value` line per variable on stdout and writes the same lines
 * to a file, logs to stderr, and runs until SIGINT/SIGTERM, then stops what it started.
 *
 * Options:
 * - `--gcs-data-dir=DIR` (default `.tributary/gcs`) and `--bigquery-data-dir=DIR` (default
 *   `.tributary/bigquery`) keep data across runs; an empty value keeps it in memory.
 * - `--export-file=FILE` (default `.tributary/stack.env`), deleted on stop. (Not `--env-file`:
 *   Node 20 takes that as its own option wherever it appears.)
 *
 * Environment: `TRIBUTARY_GCLOUD_SDK_ROOT` and `TRIBUTARY_JAVA` say where the Google Cloud SDK
 * and java are. `MQTT_URL`, when set, is the broker to use; otherwise the stack starts a private
 * mosquitto with raised limits rather than reusing one on 1883 (whose default
 * `max_queued_messages 1000` drops bursts for persistent sessions).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../harness/local-stack.js';
import { STACK_ENV_NAMES } from '../harness/stack-env.js';
import { shellExport } from './shell-export.js';

function log(line: string): void {
  process.stderr.write(`[stack] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'gcs-data-dir': { type: 'string', default: '.tributary/gcs' },
      'bigquery-data-dir': { type: 'string', default: '.tributary/bigquery' },
      'export-file': { type: 'string', default: '.tributary/stack.env' },
    },
  });
  const gcsDataDir = values['gcs-data-dir'] ? resolve(values['gcs-data-dir']) : undefined;
  const bigqueryDataDir = values['bigquery-data-dir']
    ? resolve(values['bigquery-data-dir'])
    : undefined;
  const envFile = resolve(values['export-file']);

  // Listen before starting anything, so a Ctrl-C during startup still stops what started.
  const shutdown = new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGINT', resolveSignal);
    process.once('SIGTERM', resolveSignal);
  });
  // Child processes are unref'd; keep the event loop alive until a signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);

  try {
    if (gcsDataDir !== undefined) await mkdir(gcsDataDir, { recursive: true });
    const began = Date.now();
    const stack = await startLocalStack({
      sdkRoot: process.env['TRIBUTARY_GCLOUD_SDK_ROOT'] || undefined,
      javaPath: process.env['TRIBUTARY_JAVA'] || undefined,
      existingEnv: { MQTT_URL: process.env['MQTT_URL'] || undefined },
      privateMosquitto: true,
      gcsDataDir,
      bigqueryDataDir,
      log,
    });
    try {
      const lines = STACK_ENV_NAMES.map((name) => shellExport(name, stack.env[name]));
      await mkdir(dirname(envFile), { recursive: true });
      await writeFile(envFile, `${lines.join('\n')}\n`);
      process.stdout.write(`${lines.join('\n')}\n`);
      log(`ready in ${Date.now() - began} ms; variables also in ${envFile}`);
      log('running; Ctrl-C (SIGINT) or SIGTERM stops it');
      const signal = await shutdown;
      log(`${signal}: stopping`);
    } finally {
      await stack.stop();
      await rm(envFile, { force: true });
    }
    log('stopped');
    return 0;
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 1;
  } finally {
    clearInterval(keepAlive);
  }
}

process.exitCode = await main();
