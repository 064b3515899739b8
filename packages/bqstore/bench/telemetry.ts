// The telemetry rows the bqstore benchmarks write: the columns and one row of ~200 B of JSON.
import type { TableField } from '../src/index.js';

/** device_id, ts, seq, value, ok and a REPEATED RECORD of readings. */
export const TELEMETRY_FIELDS: readonly TableField[] = [
  { name: 'device_id', type: 'STRING', mode: 'REQUIRED' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'seq', type: 'INT64' },
  { name: 'value', type: 'FLOAT64' },
  { name: 'ok', type: 'BOOL' },
  {
    name: 'readings',
    type: 'RECORD',
    mode: 'REPEATED',
    fields: [
      { name: 'name', type: 'STRING' },
      { name: 'value', type: 'FLOAT64' },
    ],
  },
];

/** Row `i` of {@link TELEMETRY_FIELDS}, its TIMESTAMP as text. */
export function telemetryRow(i: number): Record<string, unknown> {
  return {
    device_id: `dev-${String(i % 10_000).padStart(5, '0')}`,
    ts: new Date(1_767_225_600_000 + i * 1000).toISOString(),
    seq: i,
    value: Math.round((15 + (i % 200) / 10) * 100) / 100,
    ok: i % 3 === 0,
    readings: ['t', 'h', 'p', 'b'].map((name, k) => ({ name, value: (i % 50) + k / 10 })),
  };
}
