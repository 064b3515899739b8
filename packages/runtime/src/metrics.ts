import type {
  PipelineEvent,
  PipelineObserver,
  StatDescription,
  StatsSource,
} from '@tributary/messagepipeline';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Options for {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Collect the standard process and Node.js metrics (CPU, memory, event loop, GC). @defaultValue true */
  readonly defaultMetrics?: boolean | undefined;
  /** Labels added to every metric of the registry, for example `{ service: 'ingestion' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>> | undefined;
}

/**
 * A Prometheus registry for one app. Not prom-client's global default, so tests (and several
 * apps in one process) stay isolated.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels({ ...options.defaultLabels });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Options for {@link createPipelineMetrics}. Used by the first call per registry only. */
export interface PipelineMetricsOptions {
  /** Buckets of `tributary_processing_latency_seconds`. @defaultValue 1 ms to 60 s */
  readonly latencyBucketsSeconds?: readonly number[] | undefined;
  /** Buckets of `tributary_batch_size_items`. @defaultValue 1 to 10_000 */
  readonly batchItemsBuckets?: readonly number[] | undefined;
  /** Buckets of `tributary_batch_size_bytes`. @defaultValue 1 KiB to 16 MiB */
  readonly batchBytesBuckets?: readonly number[] | undefined;
}

/** Default buckets, in one place. */
export const DEFAULT_PIPELINE_METRICS_OPTIONS = Object.freeze({
  latencyBucketsSeconds: Object.freeze([
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  ]),
  batchItemsBuckets: Object.freeze([1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000]),
  batchBytesBuckets: Object.freeze([
    1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 10_000_000, 16_777_216,
  ]),
}) satisfies Required<PipelineMetricsOptions>;

/** Every metric {@link createPipelineMetrics} registers, with its labels. */
export const pipelineMetricNames = Object.freeze({
  received: 'tributary_messages_received_total',
  acked: 'tributary_messages_acked_total',
  nacked: 'tributary_messages_nacked_total',
  deadLettered: 'tributary_messages_dead_lettered_total',
  held: 'tributary_messages_held_total',
  retried: 'tributary_messages_retried_total',
  skipped: 'tributary_messages_skipped_total',
  inflightMessages: 'tributary_inflight_messages',
  inflightBytes: 'tributary_inflight_bytes',
  latency: 'tributary_processing_latency_seconds',
  batchItems: 'tributary_batch_size_items',
  batchBytes: 'tributary_batch_size_bytes',
  batchFlushes: 'tributary_batch_flushes_total',
  batchFlushDuration: 'tributary_batch_flush_duration_seconds',
} as const);

interface Instruments {
  readonly received: Counter<'stage'>;
  readonly acked: Counter<'stage'>;
  readonly nacked: Counter<'stage'>;
  readonly deadLettered: Counter<'stage' | 'code'>;
  readonly held: Counter<'stage' | 'code'>;
  readonly retried: Counter<'stage'>;
  readonly skipped: Counter<'stage'>;
  readonly inflightMessages: Gauge<'stage'>;
  readonly inflightBytes: Gauge<'stage'>;
  readonly latency: Histogram<'stage' | 'outcome'>;
  readonly batchItems: Histogram<'stage'>;
  readonly batchBytes: Histogram<'stage'>;
  readonly batchFlushes: Counter<'stage' | 'reason'>;
  readonly batchFlushDuration: Histogram<'stage'>;
}

/** The children of one stage, bound once so the hot path does no label lookups. */
interface StageInstruments {
  readonly received: Counter.Internal;
  readonly acked: Counter.Internal;
  readonly nacked: Counter.Internal;
  readonly retried: Counter.Internal;
  readonly skipped: Counter.Internal;
  readonly inflightMessages: Gauge.Internal<'stage'>;
  readonly inflightBytes: Gauge.Internal<'stage'>;
  readonly latencyAcked: Histogram.Internal<'stage' | 'outcome'>;
  readonly latencyNacked: Histogram.Internal<'stage' | 'outcome'>;
  readonly batchItems: Histogram.Internal<'stage'>;
  readonly batchBytes: Histogram.Internal<'stage'>;
  readonly batchFlushDuration: Histogram.Internal<'stage'>;
  readonly deadLettered: Map<string, Counter.Internal>;
  readonly held: Map<string, Counter.Internal>;
  readonly batchFlushes: Map<string, Counter.Internal>;
}

const instrumentsByRegistry = new WeakMap<Registry, Instruments>();

function createInstruments(registry: Registry, options: PipelineMetricsOptions): Instruments {
  const defaults = DEFAULT_PIPELINE_METRICS_OPTIONS;
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = (name: string, help: string) =>
    new Gauge<'stage'>({ name, help, labelNames: ['stage'], registers });
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers });
  const n = pipelineMetricNames;
  return {
    received: counter(n.received, 'Messages received by a stage.', ['stage']),
    acked: counter(n.acked, 'Messages acked after their effect was durable.', ['stage']),
    nacked: counter(n.nacked, 'Messages nacked for redelivery.', ['stage']),
    deadLettered: counter(
      n.deadLettered,
      'Messages sent to the dead-letter topic, by error code.',
      ['stage', 'code'],
    ),
    held: counter(
      n.held,
      'Messages nacked because their destination is missing or refuses access, by error code.',
      ['stage', 'code'],
    ),
    retried: counter(n.retried, 'Retry attempts after a transient failure.', ['stage']),
    skipped: counter(n.skipped, 'Messages a transformer chose to skip (acked, no output).', [
      'stage',
    ]),
    inflightMessages: gauge(n.inflightMessages, 'Messages received but not yet settled.'),
    inflightBytes: gauge(n.inflightBytes, 'Bytes of messages received but not yet settled.'),
    latency: histogram(
      n.latency,
      'Time from receipt to ack or nack, in seconds.',
      ['stage', 'outcome'],
      options.latencyBucketsSeconds ?? defaults.latencyBucketsSeconds,
    ),
    batchItems: histogram(
      n.batchItems,
      'Items per flushed batch.',
      ['stage'],
      options.batchItemsBuckets ?? defaults.batchItemsBuckets,
    ),
    batchBytes: histogram(
      n.batchBytes,
      'Bytes per flushed batch.',
      ['stage'],
      options.batchBytesBuckets ?? defaults.batchBytesBuckets,
    ),
    batchFlushes: counter(n.batchFlushes, 'Batch flushes, by reason.', ['stage', 'reason']),
    batchFlushDuration: histogram(
      n.batchFlushDuration,
      'Time a batch flush took, in seconds.',
      ['stage'],
      defaults.latencyBucketsSeconds,
    ),
  };
}

function bindStage(instruments: Instruments, stage: string): StageInstruments {
  return {
    received: instruments.received.labels(stage),
    acked: instruments.acked.labels(stage),
    nacked: instruments.nacked.labels(stage),
    retried: instruments.retried.labels(stage),
    skipped: instruments.skipped.labels(stage),
    inflightMessages: instruments.inflightMessages.labels(stage),
    inflightBytes: instruments.inflightBytes.labels(stage),
    latencyAcked: instruments.latency.labels(stage, 'acked'),
    latencyNacked: instruments.latency.labels(stage, 'nacked'),
    batchItems: instruments.batchItems.labels(stage),
    batchBytes: instruments.batchBytes.labels(stage),
    batchFlushDuration: instruments.batchFlushDuration.labels(stage),
    deadLettered: new Map(),
    held: new Map(),
    batchFlushes: new Map(),
  };
}

function child(
  cache: Map<string, Counter.Internal>,
  key: string,
  make: () => Counter.Internal,
): Counter.Internal {
  let found = cache.get(key);
  if (found === undefined) {
    found = make();
    cache.set(key, found);
  }
  return found;
}

/**
 * Returns a {@link PipelineObserver} that turns pipeline events into the `tributary_*` metrics
 * (see {@link pipelineMetricNames}), every one labelled by `stage`. Label-bound children are
 * cached per stage, so an event costs a map lookup and an increment. Calling it again with the
 * same registry shares the same metrics.
 */
export function createPipelineMetrics(
  registry: Registry,
  options: PipelineMetricsOptions = {},
): PipelineObserver {
  let instruments = instrumentsByRegistry.get(registry);
  if (instruments === undefined) {
    instruments = createInstruments(registry, options);
    instrumentsByRegistry.set(registry, instruments);
  }
  const all = instruments;
  const stages = new Map<string, StageInstruments>();
  const forStage = (stage: string): StageInstruments => {
    let bound = stages.get(stage);
    if (bound === undefined) {
      bound = bindStage(all, stage);
      stages.set(stage, bound);
    }
    return bound;
  };

  return (event: PipelineEvent): void => {
    const stage = forStage(event.stage);
    switch (event.type) {
      case 'received':
        stage.received.inc();
        break;
      case 'acked':
        stage.acked.inc();
        stage.latencyAcked.observe(event.latencyMs / 1000);
        break;
      case 'nacked':
        stage.nacked.inc();
        stage.latencyNacked.observe(event.latencyMs / 1000);
        break;
      case 'dead-lettered': {
        const code = event.error.code;
        child(stage.deadLettered, code, () => all.deadLettered.labels(event.stage, code)).inc();
        break;
      }
      case 'held': {
        const code = event.error.code;
        child(stage.held, code, () => all.held.labels(event.stage, code)).inc();
        break;
      }
      case 'retried':
        stage.retried.inc();
        break;
      case 'skipped':
        stage.skipped.inc();
        break;
      case 'in-flight':
        stage.inflightMessages.set(event.count);
        stage.inflightBytes.set(event.bytes);
        break;
      case 'batch-flushed': {
        const reason = event.reason;
        stage.batchItems.observe(event.items);
        stage.batchBytes.observe(event.bytes);
        stage.batchFlushDuration.observe(event.durationMs / 1000);
        child(stage.batchFlushes, reason, () => all.batchFlushes.labels(event.stage, reason)).inc();
        break;
      }
    }
  };
}

/**
 * One observer that forwards every event to each of `observers` (for example metrics and a
 * progress monitor). An observer that throws is skipped for that event; the others still run.
 */
export function combineObservers(...observers: readonly PipelineObserver[]): PipelineObserver {
  const list = [...observers];
  return (event) => {
    for (const observe of list) {
      try {
        observe(event);
      } catch {
        // Observers must not throw; one that does cannot break the pipeline.
      }
    }
  };
}

/** Options for {@link exposeStats}: a component's stats source. */
export type ExposeStatsOptions<S> = StatsSource<S>;

/**
 * Exposes a component's `stats()` on `registry`, read at scrape time: one metric per described
 * field, named `tributary_<prefix>_<field in snake_case>` (or the description's `name`, with its
 * `scale` applied), with `_total` on counters. Booleans
 * export as 0 and 1. Calling it again for the same prefix (another producer, with other labels)
 * shares the metrics.
 */
export function exposeStats<S>(registry: Registry, options: ExposeStatsOptions<S>): void {
  const labels = options.labels ?? {};
  const labelNames = Object.keys(labels);
  const description = options.description as Readonly<Record<string, StatDescription>>;
  for (const [field, stat] of Object.entries(description)) {
    const { kind, help } = stat;
    const scale = stat.scale ?? 1;
    const base = stat.name ?? snakeCase(field);
    const name = `tributary_${options.prefix}_${base}${kind === 'counter' ? '_total' : ''}`;
    const existing = registry.getSingleMetric(name) as Gauge | Counter | undefined;
    const read = (): number => {
      const value = (options.stats() as Record<string, unknown>)[field];
      return (typeof value === 'boolean' ? Number(value) : Number(value ?? 0)) * scale;
    };
    const sources = statSources.get(existing ?? {}) ?? [];
    sources.push({ labels, read });
    if (existing !== undefined) continue;
    const collect = (metric: Gauge | Counter): void => {
      if (metric instanceof Counter) metric.reset(); // a counter cannot be set, only re-added
      for (const source of sources) {
        if (metric instanceof Gauge) metric.set(source.labels, source.read());
        else metric.inc(source.labels, source.read());
      }
    };
    const metric: Gauge | Counter =
      kind === 'gauge'
        ? new Gauge({
            name,
            help,
            labelNames,
            registers: [registry],
            collect() {
              collect(this);
            },
          })
        : new Counter({
            name,
            help,
            labelNames,
            registers: [registry],
            collect() {
              collect(this);
            },
          });
    statSources.set(metric, sources);
  }
}

interface StatSource {
  readonly labels: Readonly<Record<string, string>>;
  readonly read: () => number;
}

/** The components behind each stats metric (several producers share one metric by label). */
const statSources = new WeakMap<object, StatSource[]>();

function snakeCase(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Options for {@link createDurationHistogram}. */
export interface DurationHistogramOptions<L extends string> {
  /** The full metric name, such as `tributary_cache_operation_duration_ms`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  /** Bucket upper bounds in milliseconds. @defaultValue 0.1 ms to 10 s */
  readonly buckets?: readonly number[] | undefined;
}

/**
 * A histogram of durations in milliseconds on `registry`, fed through the returned function,
 * for components that report timings through a callback (a cache layer's observer).
 */
export function createDurationHistogram<L extends string>(
  registry: Registry,
  options: DurationHistogramOptions<L>,
): (labels: Readonly<Record<L, string>>, durationMs: number) => void {
  const histogram = new Histogram<L>({
    name: options.name,
    help: options.help,
    labelNames: [...options.labelNames],
    buckets: [...(options.buckets ?? [0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1_000, 10_000])],
    registers: [registry],
  });
  return (labels, durationMs) => {
    histogram.observe(labels as Partial<Record<L, string>>, durationMs);
  };
}
