import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError, type ErrorCode } from '@tributary/messagepipeline';
import {
  broadcast,
  jsonlSink,
  mapConcurrent,
  type JsonlSinkResult,
  type Sink,
} from '@tributary/messagepipeline/compose';
import { requireInteger } from '@tributary/messagepipeline/kernel';
import { INVALID_UNIT, produceRecords, type DataRecord } from './records.js';

/** The valid range of a reading, inclusive. */
export const VALID_RANGE = { min: 0, max: 1_000 } as const;
/** A record is an anomaly when its score (value * 0.1) is above this. */
export const ANOMALY_THRESHOLD = 8;

/** A record that went through validation and transformation. */
export interface ProcessedRecord extends DataRecord {
  readonly anomalyScore: number;
  readonly isAnomaly: boolean;
}

/** The stage that refused a record. */
export type FailedStage = 'validation' | 'transformation';

/** A record that failed, as written to `failed_data.jsonl`. */
export interface FailedRecord {
  readonly record: DataRecord;
  readonly error: string;
  readonly code: ErrorCode;
  readonly stage: FailedStage;
}

/** What flows out of a stage: a record to go on with, or a failure to report. */
type Outcome<T> =
  | { readonly ok: true; readonly record: T }
  | { readonly ok: false; readonly failure: FailedRecord };

/** What the metrics collector counted. */
export interface SensorMetrics {
  /** Records that reached the fan-out (processed + errors). */
  readonly records: number;
  readonly processed: number;
  readonly errors: number;
  readonly errorsByStage: Readonly<Record<FailedStage, number>>;
  /** Processed records flagged as anomalies. */
  readonly anomalies: number;
  /** Sum of the values of the processed records. */
  readonly totalValue: number;
}

/** Options for {@link runSensorPipeline}. */
export interface SensorPipelineOptions {
  /** Where `processed_data.jsonl` and `failed_data.jsonl` go; created when missing. */
  readonly outputDir: string;
  /** Records the producer emits. @defaultValue 1_000 */
  readonly records?: number | undefined;
  /** Validator workers, and as many transformer workers. @defaultValue 4 */
  readonly workers?: number | undefined;
  /** Items buffered between stages and per fan-out branch. @defaultValue 100 */
  readonly bufferSize?: number | undefined;
  /** Seed of the producer's values. @defaultValue 42 */
  readonly seed?: number | undefined;
  /** Timestamp of record 0, in epoch milliseconds. @defaultValue `Date.now()` */
  readonly startTimeMs?: number | undefined;
}

/** What a run produced. */
export interface SensorPipelineResult {
  readonly metrics: SensorMetrics;
  readonly processedFile: JsonlSinkResult;
  readonly failedFile: JsonlSinkResult;
}

/** File names inside `outputDir`. */
export const OUTPUT_FILES = {
  processed: 'processed_data.jsonl',
  failed: 'failed_data.jsonl',
} as const;

/**
 * Seed 001's pipeline, built from the composition parts of `@tributary/messagepipeline`:
 *
 * producer → N validators → N transformers → broadcast to the loader (`processed_data.jsonl`),
 * the error handler (`failed_data.jsonl`) and the metrics collector.
 *
 * Every stage is bounded by `bufferSize`, so the producer runs only as fast as the slowest
 * sink. Failures are values flowing beside the records (the Go original's error channel), so a
 * bad record never stops the pipeline; a broken sink (say, a full disk) does, and rejects.
 * The output files are rewritten on every run.
 */
export async function runSensorPipeline(
  options: SensorPipelineOptions,
): Promise<SensorPipelineResult> {
  const records = options.records ?? 1_000;
  const workers = options.workers ?? 4;
  const bufferSize = options.bufferSize ?? 100;
  requireInteger('records', records, 0);
  requireInteger('workers', workers, 1);
  await mkdir(options.outputDir, { recursive: true });

  const produced = produceRecords({
    count: records,
    seed: options.seed,
    startTimeMs: options.startTimeMs,
  });
  const validated = mapConcurrent(produced, validate, { concurrency: workers, bufferSize });
  const transformed = mapConcurrent(validated, transform, { concurrency: workers, bufferSize });

  const loader: Sink<Outcome<ProcessedRecord>, JsonlSinkResult> = (items) =>
    jsonlSink<ProcessedRecord>({
      path: join(options.outputDir, OUTPUT_FILES.processed),
      append: false,
    })(successes(items));
  const errorHandler: Sink<Outcome<ProcessedRecord>, JsonlSinkResult> = (items) =>
    jsonlSink<FailedRecord>({
      path: join(options.outputDir, OUTPUT_FILES.failed),
      append: false,
    })(failures(items));

  const [processedFile, failedFile, metrics] = await broadcast(
    transformed,
    [loader, errorHandler, collectMetrics],
    { bufferSize },
  );
  return { metrics, processedFile, failedFile };
}

/** The validator: the value must be a finite number in {@link VALID_RANGE}. */
export function validate(record: DataRecord): Outcome<DataRecord> {
  if (
    !Number.isFinite(record.value) ||
    record.value < VALID_RANGE.min ||
    record.value > VALID_RANGE.max
  ) {
    return fail(
      record,
      'validation',
      TributaryError.permanent(
        'INVALID_PAYLOAD',
        `value ${record.value} is outside ${VALID_RANGE.min}..${VALID_RANGE.max}`,
      ),
    );
  }
  if (record.id === '') {
    return fail(record, 'validation', TributaryError.permanent('INVALID_PAYLOAD', 'id is empty'));
  }
  return { ok: true, record };
}

/**
 * The transformer: scores valid records (`anomalyScore = value * 0.1`, an anomaly above
 * {@link ANOMALY_THRESHOLD}); a record with the unit `INVALID_UNIT` is a transformation error.
 * Failures from validation pass through.
 */
export function transform(outcome: Outcome<DataRecord>): Outcome<ProcessedRecord> {
  if (!outcome.ok) return outcome;
  const { record } = outcome;
  if (record.unit === INVALID_UNIT) {
    return fail(
      record,
      'transformation',
      TributaryError.permanent('TRANSFORM_FAILED', `unit ${INVALID_UNIT} cannot be transformed`),
    );
  }
  const anomalyScore = record.value * 0.1;
  return {
    ok: true,
    record: {
      ...record,
      status: 'processed',
      anomalyScore,
      isAnomaly: anomalyScore > ANOMALY_THRESHOLD,
    },
  };
}

function fail(record: DataRecord, stage: FailedStage, error: TributaryError): Outcome<never> {
  return { ok: false, failure: { record, error: error.message, code: error.code, stage } };
}

/** The metrics collector: counts every outcome of the fan-out. */
const collectMetrics: Sink<Outcome<ProcessedRecord>, SensorMetrics> = async (items) => {
  let processed = 0;
  let anomalies = 0;
  let totalValue = 0;
  const errorsByStage: Record<FailedStage, number> = { validation: 0, transformation: 0 };
  for await (const item of items) {
    if (item.ok) {
      processed += 1;
      totalValue += item.record.value;
      if (item.record.isAnomaly) anomalies += 1;
    } else {
      errorsByStage[item.failure.stage] += 1;
    }
  }
  const errors = errorsByStage.validation + errorsByStage.transformation;
  return { records: processed + errors, processed, errors, errorsByStage, anomalies, totalValue };
};

async function* successes<T>(items: AsyncIterable<Outcome<T>>): AsyncGenerator<T> {
  for await (const item of items) if (item.ok) yield item.record;
}

async function* failures<T>(items: AsyncIterable<Outcome<T>>): AsyncGenerator<FailedRecord> {
  for await (const item of items) if (!item.ok) yield item.failure;
}
