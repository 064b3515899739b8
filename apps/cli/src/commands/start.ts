import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { sleep } from '@tributary/messagepipeline/kernel';
import { createLogger } from '@tributary/runtime';
import pino from 'pino';
import { createFleet } from '../flow/devices.js';
import { startLocalFlow, type LocalFlow } from '../flow/local-flow.js';
import { snapshot, startLiveView } from '../flow/progress.js';
import { startSimulator } from '../flow/simulator.js';
import { summarize, tableRef, type FlowSummary } from '../flow/summary.js';
import { formatTable } from './table.js';

/** The settings of one run of the flow. */
export interface StartOptions {
  readonly devices: number;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /** Share of deliberately bad messages (malformed JSON and unknown devices). */
  readonly badShare: number;
  /** Where the embedded servers keep data and the log goes. */
  readonly dataDir: string;
  /** How long, after the last message is sent, everything may take to arrive. */
  readonly drainTimeoutMs: number;
  /** The variables that replace embedded parts. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: NodeJS.WriteStream;
}

/** Built-in defaults of `tributary start` (and so of `npm start`). */
export const DEFAULT_START_OPTIONS = Object.freeze({
  devices: 50,
  ratePerSecond: 500,
  durationMs: 10_000,
  badShare: 0.02,
  dataDir: '.tributary',
  drainTimeoutMs: 30_000,
});

const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Runs the whole flow with simulated devices, shows it live, and prints the accounting. */
export async function runStart(
  options: StartOptions,
): Promise<{ summary: FlowSummary; exitCode: number }> {
  const { out } = options;
  const logDir = join(options.dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, 'tributary.log');
  const destination = pino.destination({ dest: logFile, sync: false, mkdir: true });
  const logger = createLogger({ service: 'tributary', level: 'info', destination });
  const started = performance.now();
  const flow = await startLocalFlow({
    dataDir: options.dataDir,
    env: options.env,
    devices: createFleet(options.devices),
    logger,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    batchMaxWaitMs: 1_000,
  });
  try {
    out.write(banner(flow, options, logFile));
    await waitFor(
      () => flow.ingestion.ingestion.consumer.health().ready,
      15_000,
      'ingestion subscribed to MQTT',
    );
    const simulator = await startSimulator({
      mqttUrl: flow.mqttUrl,
      topicPrefix: flow.topicPrefix,
      devices: createFleet(options.devices),
      ratePerSecond: options.ratePerSecond,
      durationMs: options.durationMs,
      badShare: options.badShare,
      oversizedBytes: MAX_PAYLOAD_BYTES * 2,
    });
    const view = startLiveView(() => snapshot(flow, simulator), out);
    await simulator.done;
    // Everything sent is accounted for once it is a row or a dead letter.
    const drained = await waitFor(
      () => simulator.sent() === flow.sink.app.sink.stats().rowsWritten + flow.deadLetters.total(),
      options.drainTimeoutMs,
      'the flow drained',
    ).then(
      () => true,
      () => false,
    );
    // The last view is drawn while the apps still serve /metrics; the summary covers the rest.
    await view.stop();
    await flow.stopApps();
    const summary = await summarize(flow, simulator.counts);
    const failed = flow.failures.size > 0;
    out.write(report(flow, summary, (performance.now() - started) / 1_000, drained));
    if (failed) {
      out.write(
        `apps that failed: ${[...flow.failures].map(([n, c]) => `${n} (exit ${String(c)})`).join(', ')}; see ${logFile}\n`,
      );
    }
    return { summary, exitCode: summary.balanced && !failed ? 0 : 1 };
  } finally {
    await flow.close();
    destination.flushSync();
  }
}

function banner(flow: LocalFlow, options: StartOptions, logFile: string): string {
  const lines = [
    `tributary start: ${String(options.devices)} devices, ${String(options.ratePerSecond)} msg/s for ${String(options.durationMs / 1_000)} s (${String(Math.round(options.badShare * 100))}% bad on purpose, 1 oversized)`,
    ...flow.parts.map((p) => `  ${p.part.padEnd(16)} ${p.using}`),
    `  apps             ${flow.apps.map((a) => `${a.name} ${a.url}`).join(', ')}`,
    `  logs             ${logFile}`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function report(flow: LocalFlow, s: FlowSummary, seconds: number, drained: boolean): string {
  const lines: string[] = [''];
  const ok = (b: boolean): string => (b ? 'ok' : 'MISMATCH');
  lines.push(
    `summary (${seconds.toFixed(1)} s${drained ? '' : ', NOT DRAINED within the timeout'})`,
  );
  lines.push(
    `  sent           ${String(s.sent.total)}  (good ${String(s.sent.good)}, malformed ${String(s.sent.malformed)}, unknown device ${String(s.sent.unknownDevice)}, oversized ${String(s.sent.oversized)}, failed ${String(s.sent.failed)})`,
  );
  lines.push(
    `  rows           ${String(s.rows)}${s.rowsTotal === s.rows ? '' : `  (${String(s.rowsTotal - s.rows)} duplicates)`}`,
  );
  lines.push(`  dead-lettered  ${String(s.deadLettered)}`);
  for (const [stage, codes] of s.deadLetteredByStage) {
    for (const [code, count] of codes)
      lines.push(`    ${stage.padEnd(14)} ${code.padEnd(24)} ${String(count)}`);
  }
  lines.push(
    `  sent = rows + dead-lettered:  ${String(s.sent.total)} = ${String(s.rows)} + ${String(s.deadLettered)}  ${ok(s.sent.total === s.rows + s.deadLettered)}`,
  );
  lines.push(
    `  archived ids = rows + sink dead letters:  ${String(s.archivedIds)} = ${String(s.archiveExpected)}  ${ok(s.archivedIds === s.archiveExpected)}  (${String(s.archiveObjects)} objects)`,
  );
  if (s.latency !== undefined) {
    lines.push(
      `  latency device -> row: p50 ${String(Math.round(s.latency.p50Ms))} ms, p99 ${String(Math.round(s.latency.p99Ms))} ms, max ${String(Math.round(s.latency.maxMs))} ms (${String(s.latency.count)} rows, measured at ${s.latency.measuredAt})`,
    );
  }
  lines.push(
    '',
    `  ${s.exampleQuery.sql}`,
    ...formatTable(s.exampleQuery.rows).map((l) => `  ${l}`),
    '',
  );
  if (flow.archiveDir !== undefined) {
    lines.push(
      `  archive: ${relative(process.cwd(), flow.archiveDir) || flow.archiveDir}/  (gzip JSON Lines: zcat <file> | head)`,
    );
  } else lines.push(`  archive: gs://${flow.bucket}/${flow.archivePrefix}/`);
  lines.push(`  query further: npx tributary query 'SELECT COUNT(*) FROM ${tableRef(flow)}'`);
  lines.push(
    `  result: ${s.balanced ? 'the accounting balances' : 'the accounting DOES NOT balance'}`,
    '',
  );
  return `${lines.join('\n')}\n`;
}

/** Polls `condition` until it holds; rejects after `timeoutMs` naming `what`. */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
