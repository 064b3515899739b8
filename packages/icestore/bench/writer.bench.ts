// The archive writer alone, in-process: batch -> gzip JSON Lines bytes.
//   ours: writeJsonlGzip (encodes each record's JSON line: id, publish time, attributes,
//         enrichment, payload; 60 % of the records compressed on zlib's thread pool while the
//         main thread encodes and compresses the rest, joined into one gzip member), level 6;
//   raw:  zlib.gzipSync of the same JSON Lines, already built as one Buffer, level 6: the
//         compression alone, nothing else (the issue's baseline);
//   naive: what a plain implementation does for the same work: per record JSON.stringify of
//         { id, publishTime, attributes, enrichment, payload: JSON.parse(payload) }, joined
//         with newlines, then zlib.gzipSync at level 6 (a second result line).
// The same pre-built batches feed both sides; the gunzipped output of ours is checked equal to
// the raw side's input first. Rounds alternate (raw first on even rounds) and the median of
// each side is reported, with the CPU-time ratio (process.cpuUsage counts zlib's threadpool
// work too, so the pool's share gets no free core).
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createMessage } from '@tributary/messagepipeline';
import { jsonLine, readJsonPayload, writeJsonlGzip, type ArchiveRecord } from '../src/index.js';
import { median } from '@tributary/local-gcp/bench';

const BATCHES = 50;
const RECORDS_PER_BATCH = 2_000;
const RECORDS = BATCHES * RECORDS_PER_BATCH;
const ROUNDS = 7;
const LEVEL = 6;

const encoder = new TextEncoder();
const locations = ['north', 'south', 'east', 'west', 'depot-7'];
const batches: ArchiveRecord[][] = Array.from({ length: BATCHES }, (_, b) =>
  Array.from({ length: RECORDS_PER_BATCH }, (_, r) => {
    const i = b * RECORDS_PER_BATCH + r;
    const message = createMessage({
      id: String(9_000_000_000 + i),
      publishTime: new Date(1_767_225_600_000 + i * 7),
      attributes: { location: locations[i % locations.length] ?? '', type: 'reading' },
      data: encoder.encode(
        JSON.stringify({
          device_id: `dev-${String(i % 10_000).padStart(5, '0')}`,
          ts: new Date(1_767_225_600_000 + i * 1000).toISOString(),
          seq: i,
          value: Math.round((15 + (i % 200) / 10) * 100) / 100,
          readings: ['t', 'h', 'p'].map((name, k) => ({ name, value: (i % 50) + k / 10 })),
        }),
      ),
    });
    return { message, json: readJsonPayload(message.data).json };
  }),
);
const lines: Buffer[] = batches.map((batch) => Buffer.from(batch.map(jsonLine).join(''), 'utf8'));
const rawBytes = lines.reduce((sum, buffer) => sum + buffer.byteLength, 0);

interface Rate {
  readonly wall: number;
  readonly cpu: number;
  readonly compressed: number;
}

async function timed(run: () => Promise<number> | number): Promise<Rate> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const compressed = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    wall: RECORDS / seconds,
    cpu: RECORDS / ((used.user + used.system) / 1e6),
    compressed,
  };
}

async function ours(): Promise<Rate> {
  return timed(async () => {
    let bytes = 0;
    for (const batch of batches) bytes += (await writeJsonlGzip(batch, LEVEL)).data.byteLength;
    return bytes;
  });
}

async function raw(): Promise<Rate> {
  return timed(() => {
    let bytes = 0;
    for (const buffer of lines) bytes += gzipSync(buffer, { level: LEVEL }).byteLength;
    return bytes;
  });
}

async function naive(): Promise<Rate> {
  return timed(() => {
    let bytes = 0;
    for (const batch of batches) {
      const text = batch
        .map(({ message, json }) =>
          JSON.stringify({
            id: message.id,
            publishTime: message.publishTime.toISOString(),
            attributes: message.attributes,
            enrichment: message.enrichment,
            payload: JSON.parse(Buffer.from(json ?? 'null').toString('utf8')) as unknown,
          }),
        )
        .join('\n');
      bytes += gzipSync(Buffer.from(`${text}\n`, 'utf8'), { level: LEVEL }).byteLength;
    }
    return bytes;
  });
}

// Same work: our bytes gunzip to exactly the baseline's input.
for (const [index, batch] of batches.entries()) {
  const encoded = await writeJsonlGzip(batch, LEVEL);
  if (!gunzipSync(encoded.data).equals(lines[index] ?? Buffer.alloc(0))) {
    throw new Error(`batch ${index}: the writer's output differs from the baseline's lines`);
  }
}

// Warm-up, not counted.
await ours();
await raw();
await naive();
const oursRates: Rate[] = [];
const rawRates: Rate[] = [];
const naiveRates: Rate[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    rawRates.push(await raw());
    naiveRates.push(await naive());
    oursRates.push(await ours());
  } else {
    oursRates.push(await ours());
    naiveRates.push(await naive());
    rawRates.push(await raw());
  }
}
const value = Math.round(median(oursRates.map((r) => r.wall)));
const baseline = Math.round(median(rawRates.map((r) => r.wall)));
const cpuRatio = median(oursRates.map((r) => r.cpu)) / median(rawRates.map((r) => r.cpu));
const mb = (records: number): string => ((records * rawBytes) / RECORDS / 1e6).toFixed(1);
process.stdout.write(
  `BENCH ${JSON.stringify({
    name: 'icestore writer: batch -> gzip JSONL (in-process)',
    value,
    unit: 'records/s',
    baseline,
    ratio: Number((value / baseline).toFixed(2)),
    target: '>= 0.8',
    peakRssMb: Math.round(process.memoryUsage.rss() / 1024 / 1024),
    notes: `${BATCHES} batches of ${RECORDS_PER_BATCH} records, ~${Math.round(rawBytes / RECORDS)} B per JSON line, gzip level ${LEVEL}; ours ${mb(value)} MB/s of JSON Lines, raw ${mb(baseline)} MB/s; median of ${ROUNDS} alternating rounds; rounds ours ${oursRates.map((r) => Math.round(r.wall)).join('/')} raw ${rawRates.map((r) => Math.round(r.wall)).join('/')}; CPU-time ratio ${cpuRatio.toFixed(2)}; compressed ${oursRates[0]?.compressed ?? 0} B (ours) vs ${rawRates[0]?.compressed ?? 0} B (raw) of ${rawBytes} B; baseline = zlib.gzipSync of the same lines pre-built, no line building; load avg ${loadavg()[0]?.toFixed(1) ?? '?'} on ${String(availableParallelism())} cores`,
  })}\n`,
);
const naiveValue = Math.round(median(naiveRates.map((r) => r.wall)));
const naiveCpuRatio = median(oursRates.map((r) => r.cpu)) / median(naiveRates.map((r) => r.cpu));
process.stdout.write(
  `BENCH ${JSON.stringify({
    name: 'icestore writer vs a naive JSON.stringify + gzipSync writer',
    value,
    unit: 'records/s',
    baseline: naiveValue,
    ratio: Number((value / naiveValue).toFixed(2)),
    notes: `same batches and rounds as above; rounds naive ${naiveRates.map((r) => Math.round(r.wall)).join('/')}; CPU-time ratio ${naiveCpuRatio.toFixed(2)}; naive = per record JSON.stringify of {id, publishTime, attributes, enrichment, payload: JSON.parse(payload)}, joined, gzipSync level ${LEVEL}`,
  })}\n`,
);
