import { createFleet } from '../flow/devices.js';
import { startSimulator } from '../flow/simulator.js';
import { quantile } from '../flow/summary.js';
import { scrape, sumOf } from './metrics-text.js';
import { eventually, Probe } from './probe.js';
import type { CheckTarget } from './target.js';

/** One check's outcome. */
export interface CheckResult {
  readonly name: string;
  readonly passed: boolean;
  /** What was seen (on success) or what went wrong. */
  readonly detail: string;
  readonly durationMs: number;
}

/** One check: resolves with what it saw, throws what went wrong. */
interface Check {
  readonly name: string;
  run(probe: Probe): Promise<string>;
}

/** Options of the checks. */
export interface CheckOptions {
  /** How long a message may take to reach BigQuery and GCS. */
  readonly timeoutMs: number;
  /** perf: messages per second, or a multiple of the current rate (`5x`). */
  readonly rate: string;
  readonly durationMs: number;
  /** perf: fails below this share of the offered rate. @defaultValue 0.9 */
  readonly minThroughputShare: number;
  /** perf: fails when the p99 device → row latency is above this. */
  readonly maxP99Ms: number;
}

/** The suites of `tributary check`. */
export type Suite = 'smoke' | 'behaviour' | 'perf';

const DEAD = 'tributary_messages_dead_lettered_total';

/** Publishes, then expects the app of `stage` to count one more dead letter with `code`. */
function deadLetterCheck(
  name: string,
  stage: string,
  code: string,
  send: (probe: Probe) => Promise<void>,
  timeoutMs: number,
): Check {
  return {
    name,
    async run(probe) {
      const before = await probe.deadLetters(stage, code);
      await send(probe);
      let now = before;
      await eventually(
        async () => (now = await probe.deadLetters(stage, code)) > before,
        timeoutMs,
        () => `${stage} dead letters with ${code} stayed at ${String(before)} (${DEAD})`,
      );
      return `${stage} dead-lettered it with ${code} (${String(before)} -> ${String(now)})`;
    },
  };
}

function smokeChecks(options: CheckOptions): Check[] {
  return [
    {
      name: 'every app answers /readyz',
      async run(probe) {
        const answers: string[] = [];
        for (const [name, url] of probe.target.apps) {
          const status = await fetch(`${url}/readyz`).then(
            (r) => r.status,
            () => 0,
          );
          if (status !== 200) throw new Error(`${name} (${url}/readyz) answered ${String(status)}`);
          answers.push(name);
        }
        return `ready: ${answers.join(', ')}`;
      },
    },
    {
      name: 'one message reaches BigQuery and GCS',
      async run(probe) {
        const since = new Date();
        const started = performance.now();
        const seq = await probe.publishReading();
        await eventually(
          async () => (await probe.rows([seq])).length === 1,
          options.timeoutMs,
          () =>
            `seq ${String(seq)} not in ${probe.target.table} after ${String(options.timeoutMs)} ms`,
        );
        const inBigQuery = performance.now() - started;
        await eventually(
          async () => (await probe.archived(since)).some((l) => l.payload?.seq === seq),
          options.timeoutMs,
          () =>
            `seq ${String(seq)} not archived in gs://${probe.target.bucket}/${probe.target.prefix}`,
        );
        const inGcs = performance.now() - started;
        return `row after ${inBigQuery.toFixed(0)} ms, archived after ${inGcs.toFixed(0)} ms`;
      },
    },
  ];
}

function behaviourChecks(options: CheckOptions): Check[] {
  const { timeoutMs } = options;
  return [
    deadLetterCheck(
      'malformed JSON is dead-lettered with its reason',
      'bigquery-sink',
      'INVALID_PAYLOAD',
      (probe) => probe.publishRaw(probe.target.knownDeviceId, '{"deviceId": "broken'),
      timeoutMs,
    ),
    deadLetterCheck(
      'an unknown device follows the miss policy (dead-letter)',
      'enrichment',
      'NOT_FOUND',
      async (probe) => {
        await probe.publishReading(`unknown-${String(Date.now())}`);
      },
      timeoutMs,
    ),
    deadLetterCheck(
      'an oversized payload is dead-lettered',
      'ingestion',
      'PAYLOAD_TOO_LARGE',
      async (probe) => {
        await probe.publishReading(probe.target.knownDeviceId, {
          padding: 'x'.repeat(probe.target.maxPayloadBytes + 1),
        });
      },
      timeoutMs,
    ),
    {
      name: 'attributes survive every hop',
      async run(probe) {
        const since = new Date();
        const seq = await probe.publishReading();
        const topic = probe.topic(probe.target.knownDeviceId);
        let line;
        await eventually(
          async () => {
            line = (await probe.archived(since)).find((l) => l.payload?.seq === seq);
            return line !== undefined;
          },
          timeoutMs,
          () => `seq ${String(seq)} was not archived`,
        );
        const { attributes, enrichment } = line as unknown as {
          attributes: Record<string, string>;
          enrichment: { device?: { site?: string } };
        };
        const missing = [
          attributes['deviceId'] === probe.target.knownDeviceId
            ? undefined
            : 'deviceId (MQTT topic)',
          attributes['mqtt.topic'] === topic ? undefined : 'mqtt.topic (ingestion)',
          attributes['site'] === undefined ? 'site (enrichment)' : undefined,
          enrichment.device?.site === undefined ? 'enrichment.device.site' : undefined,
        ].filter((m) => m !== undefined);
        if (missing.length > 0) throw new Error(`lost on the way: ${missing.join(', ')}`);
        const [row] = await probe.rows([seq]);
        const site = (row?.['enrichment'] as { device?: { site?: string } } | undefined)?.device
          ?.site;
        if (site !== attributes['site']) throw new Error(`the row's site is ${String(site)}`);
        return `deviceId, mqtt.topic and site in the archive; site ${String(site)} in the row`;
      },
    },
    {
      name: 'duplicates stay within the bound (none in a quiet run)',
      async run(probe) {
        const seqs: number[] = [];
        for (let i = 0; i < 50; i++) seqs.push(await probe.publishReading());
        let rows: Record<string, unknown>[] = [];
        await eventually(
          async () => (rows = await probe.rows(seqs)).length >= seqs.length,
          timeoutMs,
          () => `${String(rows.length)} of ${String(seqs.length)} rows arrived`,
        );
        const distinct = new Set(rows.map((r) => r['seq'])).size;
        if (distinct !== seqs.length || rows.length !== seqs.length) {
          throw new Error(
            `${String(rows.length)} rows for ${String(seqs.length)} messages (${String(distinct)} distinct)`,
          );
        }
        return `${String(seqs.length)} messages, ${String(rows.length)} rows`;
      },
    },
    {
      name: 'a restart loses nothing',
      async run(probe) {
        const { restart } = probe.target;
        if (restart === undefined) return 'skipped: the command does not control these processes';
        const seqs: number[] = [];
        for (let i = 0; i < 100; i++) seqs.push(await probe.publishReading());
        await restart('enrichment');
        for (let i = 0; i < 100; i++) seqs.push(await probe.publishReading());
        let rows: Record<string, unknown>[] = [];
        await eventually(
          async () =>
            new Set((rows = await probe.rows(seqs)).map((r) => r['seq'])).size === seqs.length,
          timeoutMs,
          () =>
            `${String(new Set(rows.map((r) => r['seq'])).size)} of ${String(seqs.length)} arrived`,
        );
        return `${String(seqs.length)} messages across an enrichment restart, all in the table (${String(rows.length - seqs.length)} duplicates)`;
      },
    },
  ];
}

/** The current ingestion rate, from its `/metrics` over `windowMs`. */
async function currentRate(target: CheckTarget, windowMs: number): Promise<number> {
  const url = target.apps.get('ingestion');
  if (url === undefined) throw new Error('no ingestion URL to read the current rate from');
  const read = async (): Promise<number> =>
    sumOf(await scrape(url), 'tributary_messages_acked_total', { stage: 'ingestion' });
  const before = await read();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  return ((await read()) - before) / (windowMs / 1_000);
}

function perfChecks(options: CheckOptions): Check[] {
  return [
    {
      name: 'a rate held for the duration',
      async run(probe) {
        const { target } = probe;
        const multiple = /^(\d+(?:\.\d+)?)x$/.exec(options.rate);
        let rate = Number(options.rate);
        if (multiple !== null) {
          const current = await currentRate(target, 5_000);
          if (current <= 0)
            throw new Error(`--rate ${options.rate}: the flow carries no traffic now`);
          rate = Math.ceil(current * Number(multiple[1]));
        }
        if (!Number.isFinite(rate) || rate <= 0)
          throw new Error(`--rate ${options.rate}: not a rate`);
        const seqStart = probe.seq() + 1;
        const started = performance.now();
        const simulator = await startSimulator({
          mqttUrl: target.mqttUrl,
          protocolVersion: target.mqttProtocolVersion,
          topicPrefix: target.topicPrefix,
          devices: createFleet(1).map((d) => ({ ...d, id: target.knownDeviceId })),
          ratePerSecond: rate,
          durationMs: options.durationMs,
          badShare: 0,
          oversizedBytes: 0,
          seqStart,
        });
        await simulator.done;
        const sent = simulator.sent();
        const range = `seq BETWEEN ${String(seqStart)} AND ${String(seqStart + sent)}`;
        const count = async (): Promise<number> => {
          const [rows] = await target.bigquery.query({
            query: `SELECT COUNT(DISTINCT seq) AS n FROM ${target.table} WHERE ${range}`,
          });
          return (rows as { n: number }[])[0]?.n ?? 0;
        };
        const backlog = sent - (await count());
        await eventually(
          async () => (await count()) >= sent,
          options.timeoutMs,
          () => `not every row arrived`,
        );
        const seconds = (performance.now() - started) / 1_000;
        const [rows] = await target.bigquery.query({
          query: `SELECT ts, ingest_time FROM ${target.table} WHERE ${range}`,
        });
        const latencies = (rows as { ts: { value: string }; ingest_time: { value: string } }[]).map(
          (r) => Date.parse(r.ingest_time.value) - Date.parse(r.ts.value),
        );
        const throughput = sent / seconds;
        const p50 = quantile(latencies, 0.5);
        const p99 = quantile(latencies, 0.99);
        const report = `offered ${String(rate)} msg/s for ${String(options.durationMs / 1_000)} s: ${String(sent)} sent, ${throughput.toFixed(0)} msg/s to rows, backlog ${String(backlog)} when sending ended, device -> sink intake p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`;
        if (throughput < rate * options.minThroughputShare) {
          throw new Error(
            `${report}; below ${String(options.minThroughputShare * 100)}% of the offered rate`,
          );
        }
        if (p99 > options.maxP99Ms)
          throw new Error(`${report}; p99 above ${String(options.maxP99Ms)} ms`);
        return report;
      },
    },
  ];
}

/** Runs a suite against `target`; every check runs, a failure does not stop the others. */
export async function runSuite(
  suite: Suite,
  target: CheckTarget,
  options: CheckOptions,
  onResult: (result: CheckResult) => void = () => undefined,
): Promise<CheckResult[]> {
  const checks =
    suite === 'smoke'
      ? smokeChecks(options)
      : suite === 'behaviour'
        ? behaviourChecks(options)
        : perfChecks(options);
  const probe = await Probe.open(target);
  const results: CheckResult[] = [];
  try {
    for (const check of checks) {
      const started = performance.now();
      let result: CheckResult;
      try {
        const detail = await check.run(probe);
        result = {
          name: check.name,
          passed: true,
          detail,
          durationMs: performance.now() - started,
        };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        result = {
          name: check.name,
          passed: false,
          detail,
          durationMs: performance.now() - started,
        };
      }
      results.push(result);
      onResult(result);
    }
  } finally {
    await probe.close();
  }
  return results;
}
