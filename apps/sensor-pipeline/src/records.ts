/** The record the seed-001 producer emits. */
export interface DataRecord {
  /** `rec-NNNN`, numbered from 1. */
  readonly id: string;
  /** A reading, normally in 0..100; an injected fault puts it outside 0..1000. */
  readonly value: number;
  readonly unit: string;
  /** ISO 8601 time of the reading. */
  readonly timestamp: string;
  readonly status: string;
}

/** The fault-injection rules of the producer, shared with the tests. */
export const injection = {
  /** Every `invalidValueEvery`-th record (1-based) gets a value outside the valid range. */
  invalidValueEvery: 10,
  /** Every `invalidUnitEvery`-th record (1-based) gets the unit {@link INVALID_UNIT}. */
  invalidUnitEvery: 11,
} as const;

/** The unit the transformers refuse. */
export const INVALID_UNIT = 'INVALID_UNIT';

const UNITS = ['celsius', 'percent', 'kPa'] as const;

/** Options for {@link produceRecords}. */
export interface ProduceOptions {
  /** How many records to emit. */
  readonly count: number;
  /** Seed of the value generator; the same seed gives the same records. @defaultValue 42 */
  readonly seed?: number | undefined;
  /** Timestamp of record 0, in epoch milliseconds. @defaultValue `Date.now()` */
  readonly startTimeMs?: number | undefined;
  /** Milliseconds between consecutive records' timestamps. @defaultValue 1_000 */
  readonly intervalMs?: number | undefined;
}

/**
 * The producer: `count` records with values in 0..100 (two decimals, from a seeded generator),
 * injecting an out-of-range value into every 10th record and the unit `INVALID_UNIT` into every
 * 11th. Lazy: each record is made when it is pulled, so the pipeline's backpressure reaches it.
 */
export function* produceRecords(options: ProduceOptions): Generator<DataRecord, void, undefined> {
  const random = mulberry32(options.seed ?? 42);
  const startTimeMs = options.startTimeMs ?? Date.now();
  const intervalMs = options.intervalMs ?? 1_000;
  for (let n = 1; n <= options.count; n += 1) {
    let value = Math.round(random() * 10_000) / 100;
    let unit: string = UNITS[n % UNITS.length] ?? 'celsius';
    if (n % injection.invalidValueEvery === 0) value = n % 20 === 0 ? -1 - value : 1_001 + value;
    if (n % injection.invalidUnitEvery === 0) unit = INVALID_UNIT;
    yield {
      id: `rec-${String(n).padStart(4, '0')}`,
      value,
      unit,
      timestamp: new Date(startTimeMs + n * intervalMs).toISOString(),
      status: 'active',
    };
  }
}

/** A small, fast, seeded PRNG (mulberry32): deterministic test data, not cryptography. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
