import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ANOMALY_THRESHOLD,
  OUTPUT_FILES,
  runSensorPipeline,
  VALID_RANGE,
  type FailedRecord,
  type ProcessedRecord,
} from './pipeline.js';
import { INVALID_UNIT, injection, produceRecords, type DataRecord } from './records.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sensor-pipeline-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readJsonl<T>(name: string): Promise<T[]> {
  const text = await readFile(join(dir, name), 'utf8');
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as T);
}

function generated(count: number, seed: number): DataRecord[] {
  return [...produceRecords({ count, seed, startTimeMs: 0 })];
}

const byId = <T extends { readonly id: string }>(a: T, b: T): number => a.id.localeCompare(b.id);

describe('produceRecords', () => {
  it('numbers records and injects faults by the rules', () => {
    const records = generated(110, 7);
    expect(records.map((r) => r.id).slice(0, 2)).toEqual(['rec-0001', 'rec-0002']);
    records.forEach((record, index) => {
      const n = index + 1;
      const inRange = record.value >= VALID_RANGE.min && record.value <= VALID_RANGE.max;
      expect(inRange).toBe(n % injection.invalidValueEvery !== 0);
      if (inRange) expect(record.value).toBeLessThanOrEqual(100);
      expect(record.unit === INVALID_UNIT).toBe(n % injection.invalidUnitEvery === 0);
    });
    expect(generated(110, 7)).toEqual(records);
  });
});

describe('runSensorPipeline', () => {
  it.each([
    [1_000, 4],
    [237, 1],
    [0, 3],
  ])(
    'routes %i records through %i workers as the injection rules imply',
    async (count, workers) => {
      const seed = 1234;
      const { metrics, processedFile, failedFile } = await runSensorPipeline({
        records: count,
        workers,
        seed,
        startTimeMs: 0,
        outputDir: dir,
        bufferSize: 8,
      });

      // Expected outcome of each record, derived from the rules: a bad value fails validation
      // (first), otherwise INVALID_UNIT fails transformation; the rest are processed.
      const records = generated(count, seed);
      const invalidValue = (n: number): boolean => n % injection.invalidValueEvery === 0;
      const invalidUnit = (n: number): boolean => n % injection.invalidUnitEvery === 0;
      const validationFailures = records.filter((_, i) => invalidValue(i + 1));
      const transformationFailures = records.filter(
        (_, i) => !invalidValue(i + 1) && invalidUnit(i + 1),
      );
      const processed = records.filter((_, i) => !invalidValue(i + 1) && !invalidUnit(i + 1));
      // Closed forms of the same counts: multiples of 10, multiples of 11 that are not of 110.
      expect(validationFailures).toHaveLength(Math.floor(count / 10));
      expect(transformationFailures).toHaveLength(Math.floor(count / 11) - Math.floor(count / 110));

      const anomalies = processed.filter((r) => r.value * 0.1 > ANOMALY_THRESHOLD);
      expect(metrics).toEqual({
        records: count,
        processed: processed.length,
        errors: validationFailures.length + transformationFailures.length,
        errorsByStage: {
          validation: validationFailures.length,
          transformation: transformationFailures.length,
        },
        anomalies: anomalies.length,
        totalValue: expect.closeTo(
          processed.reduce((sum, r) => sum + r.value, 0),
          6,
        ) as number,
      });

      const processedLines = await readJsonl<ProcessedRecord>(OUTPUT_FILES.processed);
      expect(processedFile.lines).toBe(processed.length);
      expect(processedLines.sort(byId)).toEqual(
        processed.map((r) => ({
          ...r,
          status: 'processed',
          anomalyScore: r.value * 0.1,
          isAnomaly: r.value * 0.1 > ANOMALY_THRESHOLD,
        })),
      );

      const failedLines = await readJsonl<FailedRecord>(OUTPUT_FILES.failed);
      expect(failedFile.lines).toBe(metrics.errors);
      const failedById = new Map(failedLines.map((f) => [f.record.id, f]));
      expect(failedById.size).toBe(failedLines.length);
      for (const record of validationFailures) {
        expect(failedById.get(record.id)).toEqual({
          record,
          stage: 'validation',
          code: 'INVALID_PAYLOAD',
          error: `value ${record.value} is outside 0..1000`,
        });
      }
      for (const record of transformationFailures) {
        expect(failedById.get(record.id)).toEqual({
          record,
          stage: 'transformation',
          code: 'TRANSFORM_FAILED',
          error: 'unit INVALID_UNIT cannot be transformed',
        });
      }
    },
  );

  it('rewrites the output files on every run', async () => {
    await runSensorPipeline({ records: 50, outputDir: dir, startTimeMs: 0 });
    const { metrics } = await runSensorPipeline({ records: 20, outputDir: dir, startTimeMs: 0 });
    expect((await readJsonl(OUTPUT_FILES.processed)).length).toBe(metrics.processed);
    expect((await readJsonl(OUTPUT_FILES.failed)).length).toBe(metrics.errors);
  });

  it('creates a missing output directory', async () => {
    const nested = join(dir, 'a', 'b');
    const { processedFile } = await runSensorPipeline({
      records: 5,
      outputDir: nested,
      startTimeMs: 0,
    });
    expect(processedFile.path).toBe(join(nested, OUTPUT_FILES.processed));
  });

  it('validates its options', async () => {
    await expect(runSensorPipeline({ outputDir: dir, workers: 0 })).rejects.toThrow(/'workers'/);
    await expect(runSensorPipeline({ outputDir: dir, records: -1 })).rejects.toThrow(/'records'/);
  });
});
