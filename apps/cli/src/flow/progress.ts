import { scrape, sumOf, type Sample } from '../check/metrics-text.js';
import type { LocalFlow } from './local-flow.js';
import type { Simulator } from './simulator.js';

/** The counts of every hop at one moment. */
export interface FlowSnapshot {
  readonly atMs: number;
  readonly sent: number;
  readonly ingested: number;
  readonly enriched: number;
  readonly rows: number;
  readonly objects: number;
  readonly archived: number;
  readonly deadLettered: number;
  /** `stage code` → count. */
  readonly deadLetteredBy: ReadonlyMap<string, number>;
}

/** The metric names the view reads from each app's `/metrics`. */
export const VIEW_METRICS = Object.freeze({
  acked: 'tributary_messages_acked_total',
  deadLettered: 'tributary_messages_dead_lettered_total',
  rows: 'tributary_bigquery_sink_rows_written_total',
  objects: 'tributary_archiver_objects_written_total',
  records: 'tributary_archiver_records_written_total',
});

/**
 * Reads every hop's count from the apps' `/metrics` (by app name: `ingestion`, `enrichment`,
 * `bigquery-sink`, `archiver`; a missing or silent app counts 0), the way `tributary top` reads a
 * deployed flow. `sent` is the simulator's count, when there is one.
 */
export async function snapshotFromMetrics(
  apps: ReadonlyMap<string, string>,
  sent = 0,
): Promise<FlowSnapshot> {
  const read = async (name: string): Promise<Sample[]> => {
    const url = apps.get(name);
    return url === undefined ? [] : scrape(url).catch(() => []);
  };
  const [ingestion, enrichment, sink, archiver] = await Promise.all(
    ['ingestion', 'enrichment', 'bigquery-sink', 'archiver'].map(read),
  );
  const deadLetteredBy = new Map<string, number>();
  for (const samples of [ingestion, enrichment, sink, archiver]) {
    for (const sample of samples ?? []) {
      if (sample.name !== VIEW_METRICS.deadLettered || sample.value === 0) continue;
      const key = `${sample.labels['stage'] ?? '?'} ${sample.labels['code'] ?? '?'}`;
      deadLetteredBy.set(key, (deadLetteredBy.get(key) ?? 0) + sample.value);
    }
  }
  return {
    atMs: performance.now(),
    sent,
    ingested: sumOf(ingestion ?? [], VIEW_METRICS.acked),
    enriched: sumOf(enrichment ?? [], VIEW_METRICS.acked),
    rows: sumOf(sink ?? [], VIEW_METRICS.rows),
    objects: sumOf(archiver ?? [], VIEW_METRICS.objects),
    archived: sumOf(archiver ?? [], VIEW_METRICS.records),
    deadLettered: [...deadLetteredBy.values()].reduce((a, b) => a + b, 0),
    deadLetteredBy,
  };
}

/** Every hop's count in a local run: its apps' `/metrics`, and the simulator's count. */
export function snapshot(flow: LocalFlow, simulator: Simulator | undefined): Promise<FlowSnapshot> {
  return snapshotFromMetrics(
    new Map(flow.apps.map((a) => [a.name, a.url])),
    simulator?.sent() ?? 0,
  );
}

const HOPS = [
  ['sent', 'devices -> MQTT (PUBACK)'],
  ['ingested', 'ingestion -> raw'],
  ['enriched', 'enrichment -> enriched'],
  ['rows', 'bigquery-sink -> rows'],
  ['archived', 'archiver -> records'],
  ['objects', 'archiver -> objects'],
  ['deadLettered', 'dead-letter topic'],
] as const;

/** The live view's lines: per hop, the count and the rate since `previous`. */
export function renderSnapshot(
  current: FlowSnapshot,
  previous: FlowSnapshot | undefined,
  elapsedMs: number,
  title = 'tributary: the flow',
): string[] {
  const seconds = previous === undefined ? 0 : (current.atMs - previous.atMs) / 1_000;
  const lines = [`${title}, ${(elapsedMs / 1_000).toFixed(0)} s`];
  for (const [key, label] of HOPS) {
    const rate =
      previous === undefined || seconds <= 0 ? 0 : (current[key] - previous[key]) / seconds;
    lines.push(
      `  ${label.padEnd(28)} ${String(current[key]).padStart(9)}  ${rate.toFixed(0).padStart(7)}/s`,
    );
  }
  for (const [reason, count] of [...current.deadLetteredBy].sort()) {
    lines.push(`    ${reason.padEnd(40)} ${String(count).padStart(7)}`);
  }
  return lines;
}

/**
 * Refreshes the view about once a second on a terminal, one line every 5 s otherwise; `stop()`
 * draws the last counts once more.
 */
export function startLiveView(
  read: () => Promise<FlowSnapshot>,
  out: NodeJS.WriteStream,
  title?: string,
): { stop(): Promise<void> } {
  const tty = out.isTTY;
  const started = performance.now();
  let previous: FlowSnapshot | undefined;
  let drawn = 0;
  let stopped = false;
  let lastLine = 0;
  const draw = async (final = false): Promise<void> => {
    const current = await read();
    const elapsed = performance.now() - started;
    if (tty) {
      const lines = renderSnapshot(current, previous, elapsed, title);
      out.write(`${drawn > 0 ? `\u001b[${String(drawn)}F\u001b[0J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
    } else if (final || elapsed - lastLine >= 5_000) {
      lastLine = elapsed;
      out.write(
        `[${(elapsed / 1_000).toFixed(0)} s] sent ${String(current.sent)}, ingested ${String(current.ingested)}, ` +
          `enriched ${String(current.enriched)}, rows ${String(current.rows)}, objects ${String(current.objects)}, ` +
          `dead-lettered ${String(current.deadLettered)}\n`,
      );
    }
    previous = current;
  };
  let timer: NodeJS.Timeout | undefined;
  const loop = (): void => {
    timer = setTimeout(() => {
      void draw().finally(() => {
        if (!stopped) loop();
      });
    }, 1_000);
  };
  loop();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await draw(true);
    },
  };
}
