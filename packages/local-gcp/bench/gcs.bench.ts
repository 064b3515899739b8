// Uploads of 64 KiB gzip objects through the official @google-cloud/storage client against our
// GCS server, against a raw baseline in the same run: the same number of bare HTTP POSTs of the
// same gzip bytes to a node:http server that only reads and discards the body (the transport
// ceiling on this machine). A third row sends hand-built multipart POSTs straight to our server,
// to separate the server's cost from the client's. Prints BENCH lines (see scripts/bench.mjs).
import { Storage } from '@google-cloud/storage';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import { startGcsServer } from '../src/gcs/server.js';

const OBJECTS = 2000;
const WARMUP = 200;
const CONCURRENCY = 16;
const OBJECT_BYTES = 64 * 1024;

/** 64 KiB of JSONL sensor readings, like an archiver batch before compression. */
function makeBatch(): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < OBJECT_BYTES; i++) {
    const line = `${JSON.stringify({
      deviceId: `device-${String(i % 50).padStart(3, '0')}`,
      ts: 1_795_000_000_000 + i * 1000,
      temperature: Math.round((20 + Math.random() * 10) * 100) / 100,
      humidity: Math.round(Math.random() * 10_000) / 100,
      battery: Math.round(Math.random() * 100),
    })}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join('')).subarray(0, OBJECT_BYTES);
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);

async function runConcurrently(count: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) await task(i);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** Bare keep-alive POSTs, CONCURRENCY at a time; returns requests per second. */
async function barePosts(
  port: number,
  path: (i: number) => string,
  headers: Record<string, string | number>,
  body: Buffer,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: path(i), agent, headers },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) resolve();
            else reject(new Error(`HTTP ${String(res.statusCode)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await runConcurrently(WARMUP, (i) => post(OBJECTS + i));
  const seconds = await runConcurrently(OBJECTS, post);
  agent.destroy();
  return OBJECTS / seconds;
}

async function rawBaseline(body: Buffer): Promise<number> {
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const { port } = sink.address() as AddressInfo;
  const rate = await barePosts(
    port,
    () => '/upload',
    { 'content-type': 'application/gzip', 'content-length': body.length },
    body,
  );
  await new Promise<void>((resolve) => {
    sink.close(() => {
      resolve();
    });
  });
  return rate;
}

/** Hand-built multipart uploads straight to our server: its cost without the client's. */
async function serverAlone(gz: Buffer): Promise<number> {
  const server = await startGcsServer({ port: 0 });
  try {
    await fetch(`${server.url}/storage/v1/b?project=bench`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    const boundary = 'bench-boundary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json\r\n\r\n` +
          `${JSON.stringify({ contentType: 'application/x-ndjson', contentEncoding: 'gzip' })}\r\n` +
          `--${boundary}\r\nContent-Type: application/x-ndjson\r\n\r\n`,
      ),
      gz,
      Buffer.from(`\r\n--${boundary}--`),
    ]);
    return await barePosts(
      server.port,
      (i) =>
        `/upload/storage/v1/b/bench/o?uploadType=multipart&ifGenerationMatch=0&name=${encodeURIComponent(`run/batch-${String(i)}.jsonl.gz`)}`,
      { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': body.length },
      body,
    );
  } finally {
    await server.stop();
  }
}

async function clientUploads(
  mode: 'gzip:true' | 'pre-gzipped',
  batch: Buffer,
  gz: Buffer,
): Promise<number> {
  const server = await startGcsServer({ port: 0 });
  try {
    const storage = new Storage({ apiEndpoint: server.url, projectId: 'bench' });
    const [bucket] = await storage.createBucket('bench');
    const upload = (prefix: string) => async (i: number) => {
      const file = bucket.file(`${prefix}/2026/11/22/batch-${String(i).padStart(6, '0')}.jsonl.gz`);
      const common = { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } } as const;
      if (mode === 'gzip:true') {
        await file.save(batch, { ...common, gzip: true, contentType: 'application/x-ndjson' });
      } else {
        await file.save(gz, {
          ...common,
          metadata: { contentType: 'application/x-ndjson', contentEncoding: 'gzip' },
        });
      }
    };
    await runConcurrently(WARMUP, upload('warmup'));
    const seconds = await runConcurrently(OBJECTS, upload('run'));
    return OBJECTS / seconds;
  } finally {
    await server.stop();
  }
}

const batch = makeBatch();
const gz = gzipSync(batch);
const round = (n: number): number => Math.round(n * 10) / 10;

const baseline = await rawBaseline(gz);
const notes = (what: string): string =>
  `${what}; ${OBJECTS} objects of ${gz.length} B gzip; client and server in one process; baseline = bare keep-alive POSTs of the same bytes to a discard-only node:http server; load average ${loadavg()[0]?.toFixed(1) ?? '?'} on ${String(availableParallelism())} cores`;
const report = (name: string, value: number, what: string): void => {
  console.log(
    `BENCH ${JSON.stringify({
      name,
      value: round(value),
      unit: 'objects/s',
      baseline: round(baseline),
      ratio: Math.round((value / baseline) * 1000) / 1000,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      notes: notes(what),
    })}`,
  );
};
for (const mode of ['pre-gzipped', 'gzip:true'] as const) {
  peakRss = process.memoryUsage.rss();
  const value = await clientUploads(mode, batch, gz);
  report(
    `gcs upload 64 KiB JSONL via @google-cloud/storage (${mode}, resumable:false, ifGenerationMatch:0, ${String(CONCURRENCY)} concurrent)`,
    value,
    mode === 'gzip:true'
      ? 'the client gzips each 64 KiB batch'
      : 'gzipped once up front, contentEncoding gzip',
  );
}
peakRss = process.memoryUsage.rss();
report(
  `gcs server alone: bare multipart POSTs (ifGenerationMatch=0, ${String(CONCURRENCY)} concurrent)`,
  await serverAlone(gz),
  'no client library: shows what the server itself costs',
);
clearInterval(sampler);
