import { gunzipSync } from 'node:zlib';
import type { LocalFlow } from './local-flow.js';
import type { SimulatorCounts } from './simulator.js';

/** The accounting of one run, and what a person checks first. */
export interface FlowSummary {
  readonly sent: SimulatorCounts & { readonly total: number };
  /** Distinct `seq` values in the table. */
  readonly rows: number;
  /** Rows in the table, duplicates included. */
  readonly rowsTotal: number;
  readonly deadLettered: number;
  readonly deadLetteredByStage: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Distinct message ids in the archive's objects. */
  readonly archivedIds: number;
  readonly archiveObjects: number;
  /** What the archiver saw: every enriched message (rows + the sink's dead letters). */
  readonly archiveExpected: number;
  /** sent = rows + dead-lettered, and archived = rows + the sink's dead letters. */
  readonly balanced: boolean;
  readonly latency: LatencySummary | undefined;
  readonly exampleQuery: {
    readonly sql: string;
    readonly rows: readonly Record<string, unknown>[];
  };
}

/** Device → row latency percentiles. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Where the end time comes from. */
  readonly measuredAt: string;
}

/** The value at quantile `q` (0..1) of `values` (sorted in place). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const index = Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1));
  return values[index] ?? Number.NaN;
}

/** The table as SQL names it. */
export function tableRef(flow: Pick<LocalFlow, 'projectId' | 'datasetId' | 'tableId'>): string {
  return `\`${flow.projectId}.${flow.datasetId}.${flow.tableId}\``;
}

/** The example query: average temperature per site over the last minute of data. */
export function exampleQuery(flow: Pick<LocalFlow, 'projectId' | 'datasetId' | 'tableId'>): string {
  return (
    `SELECT enrichment.device.site AS site, COUNT(*) AS readings, ` +
    `ROUND(AVG(temperature), 2) AS avg_temperature FROM ${tableRef(flow)} ` +
    `WHERE ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 MINUTE) ` +
    `GROUP BY site ORDER BY site`
  );
}

/** Counts what reached the table, the archive and the dead-letter topic, after the flow stopped. */
export async function summarize(flow: LocalFlow, sent: SimulatorCounts): Promise<FlowSummary> {
  const sentTotal = sent.good + sent.malformed + sent.unknownDevice + sent.oversized;
  const [result] = (await flow.bigquery.query({
    query: `SELECT COUNT(DISTINCT seq) AS distinct_rows, COUNT(*) AS total_rows FROM ${tableRef(flow)}`,
  })) as [{ distinct_rows: number; total_rows: number }[], ...unknown[]];
  const rows = result[0]?.distinct_rows ?? 0;
  const rowsTotal = result[0]?.total_rows ?? 0;
  const sql = exampleQuery(flow);
  const [exampleRows] = await flow.bigquery.query({ query: sql });

  const [files] = await flow.storage.bucket(flow.bucket).getFiles({ prefix: flow.archivePrefix });
  const archived = new Set<string>();
  let archiveObjects = 0;
  for (const file of files) {
    if (!file.name.endsWith('.jsonl.gz')) continue;
    archiveObjects += 1;
    const [data] = await file.download({ decompress: false });
    for (const line of gunzipSync(data).toString('utf8').split('\n')) {
      if (line === '') continue;
      const record = JSON.parse(line) as { id?: unknown };
      if (typeof record.id === 'string') archived.add(record.id);
    }
  }

  const deadLettered = flow.deadLetters.total();
  const archiveExpected = rows + flow.deadLetters.ofStage('bigquery-sink');
  const latencies = flow.rowLatenciesMs;
  const latency =
    latencies === undefined || latencies.length === 0
      ? undefined
      : {
          count: latencies.length,
          p50Ms: quantile(latencies, 0.5),
          p99Ms: quantile(latencies, 0.99),
          maxMs: quantile(latencies, 1),
          measuredAt: 'the local BigQuery storing the row',
        };
  return {
    sent: { ...sent, total: sentTotal },
    rows,
    rowsTotal,
    deadLettered,
    deadLetteredByStage: flow.deadLetters.byStage(),
    archivedIds: archived.size,
    archiveObjects,
    archiveExpected,
    balanced: sentTotal === rows + deadLettered && archived.size === archiveExpected,
    latency,
    exampleQuery: { sql, rows: exampleRows as Record<string, unknown>[] },
  };
}
