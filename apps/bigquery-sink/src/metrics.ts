import type { AppendEvent, BigQuerySinkEvent, InsertRequestEvent } from '@tributary/bqstore';
import type { Registry } from '@tributary/runtime';
import { Counter, Histogram } from 'prom-client';

/** The sink's own metrics, fed by the sink's events and the writer's requests. */
export interface SinkMetrics {
  readonly onEvent: (event: BigQuerySinkEvent) => void;
  readonly onRequest: (event: InsertRequestEvent) => void;
  readonly onAppend: (event: AppendEvent) => void;
}

/**
 * Registers `tributary_bigquery_rows_written_total{table}`,
 * `tributary_bigquery_rows_dead_lettered_total{reason}`,
 * `tributary_bigquery_schema_changes_total{table}`, and the histograms
 * `tributary_bigquery_request_rows`, `tributary_bigquery_request_bytes` (insertAll requests and
 * AppendRows requests alike), `tributary_bigquery_insert_seconds{result}` (insertAll) and
 * `tributary_bigquery_append_seconds{result}` (Storage Write API; `landed` is an append whose
 * answer was lost but whose committed stream holds the rows).
 */
export function createSinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  const written = new Counter({
    name: 'tributary_bigquery_rows_written_total',
    help: 'Rows BigQuery accepted',
    labelNames: ['table'],
    registers,
  });
  const deadLettered = new Counter({
    name: 'tributary_bigquery_rows_dead_lettered_total',
    help: 'Rows dead-lettered, by reason',
    labelNames: ['reason'],
    registers,
  });
  const schemaChanges = new Counter({
    name: 'tributary_bigquery_schema_changes_total',
    help: 'Columns added to tables (evolve policy)',
    labelNames: ['table'],
    registers,
  });
  const requestRows = new Histogram({
    name: 'tributary_bigquery_request_rows',
    help: 'Rows per write request (insertAll or AppendRows)',
    buckets: [1, 10, 50, 100, 250, 500, 1_000, 5_000, 50_000],
    registers,
  });
  const requestBytes = new Histogram({
    name: 'tributary_bigquery_request_bytes',
    help: 'Bytes per write request (insertAll body, or AppendRows rows as JSON)',
    buckets: [1_024, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 10_000_000],
    registers,
  });
  const latency = new Histogram({
    name: 'tributary_bigquery_insert_seconds',
    help: 'insertAll request latency',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const appendLatency = new Histogram({
    name: 'tributary_bigquery_append_seconds',
    help: 'Storage Write API AppendRows latency',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  return {
    onEvent(event) {
      switch (event.type) {
        case 'rows-written':
          written.inc({ table: event.table }, event.rows);
          return;
        case 'dead-lettered':
          deadLettered.inc({ reason: event.reason });
          return;
        case 'schema-change':
          schemaChanges.inc({ table: event.table }, event.columns.length);
          return;
        case 'table-created':
        case 'unknown-fields-dropped':
          return; // exported from the sink's stats()
      }
    },
    onRequest(event) {
      requestRows.observe(event.rows);
      requestBytes.observe(event.bytes);
      latency.observe({ result: event.result }, event.durationMs / 1000);
    },
    onAppend(event) {
      requestRows.observe(event.rows);
      requestBytes.observe(event.bytes);
      appendLatency.observe({ result: event.result }, event.durationMs / 1000);
    },
  };
}
