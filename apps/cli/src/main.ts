#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { runCheck } from './commands/check.js';
import { DEFAULT_START_OPTIONS, runStart } from './commands/start.js';
import { runQuery } from './commands/query.js';
import { createFleet } from './flow/devices.js';
import { startSimulator } from './flow/simulator.js';
import { snapshotFromMetrics, startLiveView } from './flow/progress.js';
import { remoteTarget } from './check/target.js';
import { startLocalQueryServer } from './commands/local-query.js';

/** A positive integer flag. */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** A positive duration: `10`, `10s`, `1500ms`, `2m`. */
function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (match === null)
    throw new InvalidArgumentError('expected a duration such as 10s, 1500ms or 2m');
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? amount : unit === 'm' ? amount * 60_000 : amount * 1_000;
  if (ms <= 0) throw new InvalidArgumentError('expected a positive duration');
  return ms;
}

/** A share between 0 and 0.5. */
function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 0.5)
    throw new InvalidArgumentError('expected a number from 0 to 0.5');
  return n;
}

// With everything local, nothing needs Google's metadata server; asking for it only waits and warns.
const local = [
  'BIGQUERY_EMULATOR_HOST',
  'GOOGLE_CLOUD_PROJECT',
  'GOOGLE_APPLICATION_CREDENTIALS',
].every((name) => process.env[name] === undefined);
if (local) process.env['METADATA_SERVER_DETECTION'] ??= 'none';

/** A share between 0 and 1. */
function share01(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

const program = new Command('tributary')
  .description('The Tributary flow on one machine: run it, query it, check it.')
  .showHelpAfterError()
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 64);
  });

program
  .command('start')
  .description(
    'Runs the whole flow on embedded defaults with simulated devices, then prints the accounting',
  )
  .addOption(
    new Option('--devices <n>', 'simulated devices')
      .argParser(positiveInteger)
      .default(DEFAULT_START_OPTIONS.devices)
      .env('TRIBUTARY_DEVICES'),
  )
  .addOption(
    new Option('--rate <msgPerSecond>', 'messages per second over the fleet')
      .argParser(positiveInteger)
      .default(DEFAULT_START_OPTIONS.ratePerSecond)
      .env('TRIBUTARY_RATE'),
  )
  .addOption(
    new Option('--duration <time>', 'how long the devices publish (10s, 2m)')
      .argParser(duration)
      .default(DEFAULT_START_OPTIONS.durationMs, '10s')
      .env('TRIBUTARY_DURATION'),
  )
  .addOption(
    new Option('--bad-share <share>', 'share of deliberately bad messages')
      .argParser(share)
      .default(DEFAULT_START_OPTIONS.badShare)
      .env('TRIBUTARY_BAD_SHARE'),
  )
  .addOption(
    new Option(
      '--data-dir <dir>',
      'where the embedded BigQuery, GCS and the logs keep their files',
    ).default(DEFAULT_START_OPTIONS.dataDir),
  )
  .action(
    async (flags: {
      devices: number;
      rate: number;
      duration: number;
      badShare: number;
      dataDir: string;
    }) => {
      const { exitCode } = await runStart({
        devices: flags.devices,
        ratePerSecond: flags.rate,
        durationMs: flags.duration,
        badShare: flags.badShare,
        dataDir: flags.dataDir,
        drainTimeoutMs: DEFAULT_START_OPTIONS.drainTimeoutMs,
        env: process.env,
        out: process.stdout,
      });
      process.exitCode = exitCode;
    },
  );

program
  .command('simulate')
  .description(
    'Only the simulated devices: publishes telemetry to an MQTT broker (a compose stack, say)',
  )
  .requiredOption('--mqtt-url <url>', 'the broker', process.env['MQTT_URL'])
  .addOption(new Option('--protocol <version>', 'MQTT version').choices(['4', '5']).default('5'))
  .option('--topic-prefix <prefix>', 'put before devices/<id>/telemetry', '')
  .addOption(
    new Option('--devices <n>', 'simulated devices (dev-0001…)')
      .argParser(positiveInteger)
      .default(DEFAULT_START_OPTIONS.devices),
  )
  .addOption(
    new Option('--rate <msgPerSecond>', 'messages per second over the fleet')
      .argParser(positiveInteger)
      .default(50),
  )
  .addOption(
    new Option('--duration <time>', 'how long to publish')
      .argParser(duration)
      .default(60_000, '60s'),
  )
  .addOption(
    new Option('--bad-share <share>', 'share of deliberately bad messages')
      .argParser(share)
      .default(0),
  )
  .action(
    async (flags: {
      mqttUrl: string;
      protocol: '4' | '5';
      topicPrefix: string;
      devices: number;
      rate: number;
      duration: number;
      badShare: number;
    }) => {
      const simulator = await startSimulator({
        mqttUrl: flags.mqttUrl,
        protocolVersion: flags.protocol === '4' ? 4 : 5,
        topicPrefix: flags.topicPrefix,
        devices: createFleet(flags.devices),
        ratePerSecond: flags.rate,
        durationMs: flags.duration,
        badShare: flags.badShare,
        oversizedBytes: 0,
      });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          simulator.stop();
        });
      }
      await simulator.done;
      const c = simulator.counts;
      process.stdout.write(
        `sent ${String(simulator.sent())} (good ${String(c.good)}, malformed ${String(c.malformed)}, unknown device ${String(c.unknownDevice)}), failed ${String(c.failed)}\n`,
      );
      process.exitCode = c.failed === 0 ? 0 : 1;
    },
  );

program
  .command('query')
  .description(
    'Runs GoogleSQL against the local BigQuery of the last `tributary start` (or BIGQUERY_EMULATOR_HOST, or Google with GOOGLE_CLOUD_PROJECT set)',
  )
  .argument('<sql>', 'the query')
  .option('--data-dir <dir>', 'the data folder of `tributary start`', DEFAULT_START_OPTIONS.dataDir)
  .action(async (sql: string, flags: { dataDir: string }) => {
    const projectId = process.env['GOOGLE_CLOUD_PROJECT'] ?? 'tributary-local';
    const given = process.env['BIGQUERY_EMULATOR_HOST'];
    if (given !== undefined || process.env['GOOGLE_CLOUD_PROJECT'] !== undefined) {
      await runQuery({ sql, projectId, endpoint: given, out: process.stdout });
      return;
    }
    const server = await startLocalQueryServer(flags.dataDir);
    try {
      await runQuery({ sql, projectId, endpoint: server.apiEndpoint, out: process.stdout });
    } finally {
      await server.stop();
    }
  });

program
  .command('check')
  .description(
    'Acceptance checks of seed 004 against the embedded flow (--env local) or a deployed one (--target)',
  )
  .addArgument(new Argument('<suite>', 'which checks').choices(['smoke', 'behaviour', 'perf']))
  .option('--env <env>', 'local: the command starts the flow itself', 'local')
  .option('--target <file>', 'a JSON file describing a deployed flow (see the README)')
  .option('--data-dir <dir>', 'where the local flow keeps its files', '.tributary/check')
  .addOption(
    new Option('--timeout <time>', 'how long a message may take to arrive')
      .argParser(duration)
      .default(30_000, '30s'),
  )
  .option(
    '--rate <rate>',
    'perf: messages per second, or a multiple of the current rate (5x)',
    '500',
  )
  .addOption(
    new Option('--duration <time>', 'perf: how long the rate is held')
      .argParser(duration)
      .default(10_000, '10s'),
  )
  .addOption(
    new Option('--min-throughput-share <share>', 'perf: fail below this share of the offered rate')
      .argParser(share01)
      .default(0.9),
  )
  .addOption(
    new Option('--max-p99 <time>', 'perf: fail above this p99 latency')
      .argParser(duration)
      .default(2_000, '2s'),
  )
  .option('--junit <file>', 'also write JUnit XML')
  .option('--json <file>', 'also write JSON')
  .action(
    async (
      suite: 'smoke' | 'behaviour' | 'perf',
      flags: {
        env: string;
        target?: string;
        dataDir: string;
        timeout: number;
        rate: string;
        duration: number;
        minThroughputShare: number;
        maxP99: number;
        junit?: string;
        json?: string;
      },
    ) => {
      if (flags.target === undefined && flags.env !== 'local') {
        program.error(
          `--env ${flags.env}: only 'local' is built in; describe another flow with --target <file>`,
          { exitCode: 64 },
        );
      }
      process.exitCode = await runCheck({
        suite,
        env: flags.target === undefined ? 'local' : { targetFile: flags.target },
        dataDir: flags.dataDir,
        timeoutMs: flags.timeout,
        rate: flags.rate,
        durationMs: flags.duration,
        minThroughputShare: flags.minThroughputShare,
        maxP99Ms: flags.maxP99,
        junit: flags.junit,
        json: flags.json,
        variables: process.env,
        out: process.stdout,
      });
    },
  );

program
  .command('top')
  .description('The live view of running apps, read from their /metrics (Ctrl-C ends it)')
  .option('--target <file>', 'a `check --target` file: its apps are watched')
  .option(
    '--app <name=url>',
    'an app to watch (ingestion, enrichment, bigquery-sink, archiver); repeatable',
    (value: string, previous: string[]) => [...previous, value],
    [] as string[],
  )
  .action(async (flags: { target?: string; app: string[] }) => {
    const apps = new Map<string, string>();
    if (flags.target !== undefined) {
      for (const [name, url] of (await remoteTarget(flags.target, process.env)).apps) {
        apps.set(name, url);
      }
    }
    for (const entry of flags.app) {
      const [name = '', url = ''] = entry.split('=', 2);
      if (name === '' || !URL.canParse(url)) {
        program.error(`--app ${entry}: expected name=url`, { exitCode: 64 });
      }
      apps.set(name, url);
    }
    if (apps.size === 0)
      program.error('name the apps: --target <file> or --app name=url', { exitCode: 64 });
    const view = startLiveView(() => snapshotFromMetrics(apps), process.stdout, 'tributary top');
    const ended = new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          resolve();
        });
      }
    });
    process.stdout.write(
      `tributary top: watching ${[...apps].map(([n, u]) => `${n} (${u})`).join(', ')}; Ctrl-C ends it\n`,
    );
    await ended;
    await view.stop();
  });

program
  .command('stack')
  .description(
    'Every local service in the foreground (emulators, our GCS and BigQuery, Redis, Mosquitto); prints export lines',
  )
  .allowUnknownOption()
  .helpOption(false)
  .argument('[args...]')
  .action((args: string[]) => {
    const script = join(
      dirname(fileURLToPath(import.meta.resolve('@tributary/local-gcp'))),
      'cli',
      'stack.js',
    );
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => {
      process.exitCode = code ?? 1;
    });
  });

await program.parseAsync(process.argv);
