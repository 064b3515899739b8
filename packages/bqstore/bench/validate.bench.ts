// Mapping and validation cost, in-process, against `JSON.parse` of the same payloads.
//   ours: createRowMapper (envelope check, UTF-8 decode, JSON.parse, message_id and publish_time
//         columns) then the compiled validator's check() against a schema with a REQUIRED STRING,
//         a TIMESTAMP, an INT64, a FLOAT64, a BOOL and a REPEATED RECORD of 4 readings: the work
//         the sink's transformer does per message before a row is batched;
//   raw:  decode + JSON.parse of the same bytes, nothing else.
// Both run over the same pre-built messages; rounds alternate (raw first on even rounds) and the
// median of each side is reported, with the CPU-time ratio (steadier on a loaded machine).
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createMessage, type Message } from '@tributary/messagepipeline';
import { compileRowValidator, createRowMapper, parseTableSchema } from '../src/index.js';
import { TELEMETRY_FIELDS, telemetryRow } from './telemetry.js';
import { median } from '@tributary/local-gcp/bench';

const MESSAGES = 100_000;
const ROUNDS = 7;

const schema = parseTableSchema([
  ...TELEMETRY_FIELDS,
  { name: 'message_id', type: 'STRING' },
  { name: 'publish_time', type: 'TIMESTAMP' },
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const publishTime = new Date('2026-01-01T00:00:00Z');
const messages: Message[] = Array.from({ length: MESSAGES }, (_, i) =>
  createMessage({
    id: String(1_000_000 + i),
    publishTime,
    data: encoder.encode(JSON.stringify(telemetryRow(i))),
  }),
);
const averageBytes = Math.round(
  messages.reduce((sum, m) => sum + m.data.byteLength, 0) / messages.length,
);

const mapRow = createRowMapper({
  messageIdColumn: 'message_id',
  publishTimeColumn: 'publish_time',
});
const validator = compileRowValidator(schema.fields);

let sink = 0;

interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

function timed(run: () => void): Rate {
  const cpu = process.cpuUsage();
  const started = performance.now();
  run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { wall: MESSAGES / seconds, cpu: MESSAGES / ((used.user + used.system) / 1e6) };
}

function ours(): Rate {
  return timed(() => {
    for (const message of messages) {
      const check = validator.check(mapRow(message));
      if (!check.ok) throw new Error(check.violation.message);
      sink += check.unknown.length;
    }
  });
}

/** The mapper alone, to split the cost between mapping and validation. */
function mapOnly(): Rate {
  return timed(() => {
    for (const message of messages) sink += mapRow(message)['seq'] === -1 ? 1 : 0;
  });
}

function raw(): Rate {
  return timed(() => {
    for (const message of messages) {
      const row = JSON.parse(decoder.decode(message.data)) as { seq: number };
      sink += row.seq > -1 ? 0 : 1;
    }
  });
}

// Warm-up, not counted.
ours();
mapOnly();
raw();
const oursRates: Rate[] = [];
const rawRates: Rate[] = [];
const mapRates: Rate[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    rawRates.push(raw());
    mapRates.push(mapOnly());
    oursRates.push(ours());
  } else {
    oursRates.push(ours());
    mapRates.push(mapOnly());
    rawRates.push(raw());
  }
}
if (sink < 0) throw new Error('unreachable: keeps the loops from being optimised away');
const value = Math.round(median(oursRates.map((r) => r.wall)));
const baseline = Math.round(median(rawRates.map((r) => r.wall)));
const cpuRatio = median(oursRates.map((r) => r.cpu)) / median(rawRates.map((r) => r.cpu));
process.stdout.write(
  `BENCH ${JSON.stringify({
    name: 'bqstore map + validate (in-process)',
    value,
    unit: 'rows/s',
    baseline,
    ratio: Number((value / baseline).toFixed(2)),
    peakRssMb: Math.round(process.memoryUsage.rss() / 1024 / 1024),
    notes: `${MESSAGES} msgs of ~${averageBytes} B (8 columns, 4 nested readings), median of ${ROUNDS} alternating rounds; rounds ours ${oursRates.map((r) => Math.round(r.wall)).join('/')} raw ${rawRates.map((r) => Math.round(r.wall)).join('/')}; CPU-time ratio ${cpuRatio.toFixed(2)}; mapping alone (median) ${Math.round(median(mapRates.map((r) => r.wall)))} rows/s; baseline = decode + JSON.parse only; load avg ${loadavg()[0]?.toFixed(1) ?? '?'} on ${String(availableParallelism())} cores`,
  })}\n`,
);
