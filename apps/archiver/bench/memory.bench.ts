// Memory: a flood of FLOOD messages over KEYS keys through the archiver's real pipeline, in a
// child process of its own (memory.child.ts) whose RSS (VmRSS from /proc, every 100 ms) is sampled from here.
//   ours:      the child runs the app's composition (composeArchiver, as main.ts builds it) over
//              the in-memory broker transport (what `npm start` runs), its subscription bounded as
//              the local flow bounds it (100,000 messages / 256 MiB, a 10-minute ack deadline),
//              and publishes FLOOD messages of ~200 B, each with one of KEYS `device` attributes
//              in turn, as fast as the archiver takes them (at most PENDING published and not yet
//              delivered: Pub/Sub would hold that backlog on its servers, not in this process).
//              The archiver writes them to our local GCS server, which runs here, outside the
//              measured process. Sampled from the first publish until every message is acked
//              (each one only after its object is written). Four runs (VARIANTS): node's
//              defaults at the app's default window, a wider window, and the default window
//              in a 1 GiB and a 512 MiB memory cgroup (a container's limit; skipped, saying so,
//              where this process may not create one).
//   baselines: (1) the same child, archiver composed and started, idle for IDLE_SECONDS before
//              the flood: what the process costs before any message; (2) a child with the same
//              broker, subscription and publisher but no archiver: a consumer that acks each
//              message as it arrives, over the same flood: what the flood costs without the
//              archiver's batches.
// The archiver's variables are ARCHIVER_ENV and the variant's MAX_IN_FLIGHT_MESSAGES: every key
// open at once (MAX_OPEN_KEYS = KEYS), and the byte budget (128 MiB of message bytes) far from
// reached, so the consumer's in-flight window is what binds what the archiver holds.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Storage, type Bucket } from '@google-cloud/storage';
import { startGcsServer } from '@tributary/local-gcp';
import { createMemoryCgroup, rssBytesOf, type MemoryCgroup } from '@tributary/local-gcp/bench';
import {
  ARCHIVER_ENV,
  FLOOD,
  KEYS,
  PROJECT,
  SUBSCRIPTION,
  type Mode,
  type ToParent,
} from './memory.child.js';

const IDLE_SECONDS = 5;
const MB = 1024 * 1024;

// ---- the sampling parent ----------------------------------------------------------------

interface Run {
  idlePeak: number;
  /** [RSS, messages acked] every 100 ms from the first publish to the last ack. */
  samples: [number, number][];
  seconds: number;
  stats: Record<string, number>;
  /** Set when the process died during the flood (a V8 heap cap too small, say). */
  died?: string;
}

async function runChild(
  mode: Mode,
  gcsUrl: string,
  variant: Variant,
  cgroup?: MemoryCgroup,
): Promise<Run> {
  // memory.child.ts, compiled beside this file by scripts/bench.mjs.
  const script = (process.argv[1] ?? '').replace(/\.bench\.mjs$/, '.child.mjs');
  const spawn = (): ChildProcess =>
    fork(script, ['child', mode, gcsUrl, variant.bucket, variant.window], {
      execArgv: variant.nodeArgs,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  const proc = cgroup === undefined ? spawn() : cgroup.spawnInside(spawn);
  try {
    return await measureChild(proc, mode);
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve(undefined);
      else proc.once('exit', resolve);
    });
    cgroup?.remove();
  }
}

async function measureChild(proc: ChildProcess, mode: Mode): Promise<Run> {
  const exit = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  let acked = 0;
  let done: Extract<ToParent, { type: 'done' }> | undefined;
  let ready = false as boolean;
  let heap = { heapMb: 0, externalMb: 0 };
  proc.on('message', (message: ToParent) => {
    if (message.type === 'ready') ready = true;
    else if (message.type === 'progress') {
      acked = message.acked;
      heap = message;
    } else done = message;
  });
  const pid = proc.pid ?? 0;
  const failIfExited = (): void => {
    if (proc.exitCode !== null) throw new Error(`${mode} child exited ${String(proc.exitCode)}`);
  };
  while (!ready) {
    failIfExited();
    await sleep(20);
  }
  let idlePeak = 0;
  const idleStarted = performance.now();
  while (performance.now() - idleStarted < IDLE_SECONDS * 1000) {
    idlePeak = Math.max(idlePeak, rssBytesOf(pid));
    await sleep(100);
  }
  const samples: [number, number][] = [];
  const started = performance.now();
  proc.send('go');
  while (done === undefined) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const died = `the process died (exit ${String(proc.exitCode ?? proc.signalCode)}) after ${String(acked)} of ${String(FLOOD)} acked`;
      return { idlePeak, samples, seconds: (performance.now() - started) / 1000, stats: {}, died };
    }
    if (performance.now() - started > 1_800_000)
      throw new Error(`${mode}: ${acked} acked in 30 min`);
    let rss: number;
    try {
      rss = rssBytesOf(pid);
    } catch {
      await sleep(10); // it exited between the check and the read
      continue;
    }
    samples.push([rss, acked]);
    if (process.env['BENCH_DEBUG'] !== undefined && samples.length % 50 === 0) {
      process.stderr.write(
        `${mode} ${String(acked)} acked, ${String(Math.round(rssBytesOf(pid) / MB))} MB, heap ${String(heap.heapMb)} MB, external ${String(heap.externalMb)} MB\n`,
      );
    }
    await sleep(100);
  }
  const seconds = (performance.now() - started) / 1000;
  const code = await exit;
  if (code !== 0) throw new Error(`${mode} child exited ${String(code)}`);
  if (done.acked < FLOOD) throw new Error(`${mode}: only ${done.acked} acked`);
  return { idlePeak, samples, seconds, stats: done.stats };
}

/** RSS in MB when `fraction` of the flood had been acked. */
function rssAt(run: Run, fraction: number): number {
  const sample = run.samples.find(([, acked]) => acked >= FLOOD * fraction) ?? run.samples.at(-1);
  return Math.round((sample?.[0] ?? 0) / MB);
}

const peakOf = (run: Run): number => Math.round(Math.max(...run.samples.map(([rss]) => rss)) / MB);

/** One archiver run: its MAX_IN_FLIGHT_MESSAGES and the node options of its process. */
interface Variant {
  readonly label: string;
  readonly bucket: string;
  readonly window: string;
  readonly nodeArgs: string[];
  /** Run the process under a memory limit of this many MB, as a container would. */
  readonly containerMb?: number;
}

/**
 * The app's defaults (a 20,000-message window; on this machine V8 sizes the heap from its 24 GB
 * and collects lazily), then a window 2.5 times wider (bigger objects, more held), then the
 * default window in a 1 GiB container (what infra/ deploys the archiver with) and in a 512 MiB
 * one (Cloud Run's default): node sizes its heap from the container's limit, as it would there.
 */
const VARIANTS: Variant[] = [
  { label: 'node defaults', bucket: 'bench-defaults', window: '20000', nodeArgs: [] },
  { label: 'node defaults', bucket: 'bench-wide', window: '50000', nodeArgs: [] },
  {
    label: 'node defaults in a 1 GiB container (as infra/ deploys it)',
    bucket: 'bench-container-1024',
    window: '20000',
    nodeArgs: [],
    containerMb: 1024,
  },
  {
    label: "node defaults in a 512 MiB container (Cloud Run's default)",
    bucket: 'bench-container-512',
    window: '20000',
    nodeArgs: [],
    containerMb: 512,
  },
];

/** BENCH_VARIANTS: the buckets of the runs to make, comma-separated (all when unset). */
function selectedVariants(): Variant[] {
  const wanted = process.env['BENCH_VARIANTS']?.split(',').map((name) => name.trim());
  if (wanted === undefined) return VARIANTS;
  const unknown = wanted.filter((name) => !VARIANTS.some((v) => v.bucket === name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_VARIANTS: no run named ${unknown.join(', ')} (runs: ${VARIANTS.map((v) => v.bucket).join(', ')})`,
    );
  }
  return VARIANTS.filter((variant) => wanted.includes(variant.bucket));
}

async function parent(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const results: { variant: Variant; run: Run; files: number }[] = [];
  for (const variant of selectedVariants()) {
    let cgroup: MemoryCgroup | undefined;
    if (variant.containerMb !== undefined) {
      try {
        cgroup = createMemoryCgroup(variant.containerMb);
      } catch (error) {
        process.stderr.write(
          `${variant.label}: not run, no memory cgroup here (${String(error)})\n`,
        );
        continue;
      }
    }
    // A server per run: it keeps every object in memory, and a run can write 500,000.
    const gcsServer = await startGcsServer({ port: 0 });
    try {
      const storage = new Storage({ apiEndpoint: gcsServer.url, projectId: PROJECT });
      await storage.createBucket(variant.bucket);
      const run = await runChild('archiver', gcsServer.url, variant, cgroup);
      results.push({ variant, run, files: await countObjects(storage.bucket(variant.bucket)) });
    } finally {
      await gcsServer.stop();
    }
  }
  {
    const plain = await runChild('ack-only', 'http://127.0.0.1:9', {
      label: 'ack-only',
      bucket: 'unused',
      window: '1',
      nodeArgs: [],
    });
    const describe = ({ run, files }: { run: Run; files: number }): string => {
      const s = run.stats;
      if (run.died !== undefined) {
        return `${run.died}; RSS before the flood ${String(Math.round(run.idlePeak / MB))} MB, peak until then ${String(peakOf(run))} MB`;
      }
      return `RSS before the flood ${String(Math.round(run.idlePeak / MB))} MB (the same process idle ${String(IDLE_SECONDS)} s), at 10/50/90 % of the messages acked ${String(rssAt(run, 0.1))}/${String(rssAt(run, 0.5))}/${String(rssAt(run, 0.9))} MB, peak ${String(peakOf(run))} MB; ${String(FLOOD)} msgs in ${run.seconds.toFixed(0)} s (${String(Math.round(FLOOD / run.seconds))} msg/s); ${String(s['objectsWritten'])} objects (${String(files)} in the bucket), ${String(s['recordsWritten'])} records, ${String(s['pressureFlushes'])} pressure flushes, ${((s['bytesUncompressed'] ?? 0) / MB).toFixed(0)} MB of JSON Lines -> ${((s['bytesCompressed'] ?? 0) / MB).toFixed(0)} MB gzip`;
    };
    const common = `archiver variables ${Object.entries(ARCHIVER_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ' ',
      )}, the rest default; subscription bound ${String(SUBSCRIPTION.maxBacklogMessages)} msgs / 256 MiB; baseline 2, the same flood through the same broker to a consumer acking on arrival (no archiver): before ${String(Math.round(plain.idlePeak / MB))} MB, 10/50/90 % ${String(rssAt(plain, 0.1))}/${String(rssAt(plain, 0.5))}/${String(rssAt(plain, 0.9))} MB, peak ${String(peakOf(plain))} MB, ${plain.seconds.toFixed(0)} s; load avg ${loadBefore.toFixed(2)} before, ${loadavg()[0]?.toFixed(2) ?? '?'} after, on ${String(availableParallelism())} cores`;
    for (const result of results) {
      const label = `${result.variant.label}, MAX_IN_FLIGHT_MESSAGES=${result.variant.window}`;
      const peak = peakOf(result.run);
      const idle = Math.round(result.run.idlePeak / MB);
      process.stdout.write(
        `BENCH ${JSON.stringify({
          name: `archiver RSS, ${String(FLOOD)} messages over ${String(KEYS)} keys (composition over the in-memory broker, child process, ${label})`,
          value: peak,
          unit: 'MB',
          baseline: idle,
          ratio: Number((peak / idle).toFixed(2)),
          target: 'peak <= 256 MB, flat',
          peakRssMb: peak,
          notes: `${describe(result)}; ${common}`,
        })}\n`,
      );
    }
  }
}

/** Objects in `bucket`, a page at a time (a listing of 500,000 File objects would not fit). */
async function countObjects(bucket: Bucket): Promise<number> {
  let count = 0;
  let pageToken: string | undefined;
  do {
    const [files, next] = await bucket.getFiles({
      autoPaginate: false,
      maxResults: 5_000,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    count += files.length;
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken !== undefined);
  return count;
}

// The client prefers STORAGE_EMULATOR_HOST to apiEndpoint: the private server is meant.
delete process.env['STORAGE_EMULATOR_HOST'];
await parent();
process.exit(0);
