import { parseArgs } from 'node:util';

/** The sensor pipeline's settings, from the command line and the environment. */
export interface SensorConfig {
  readonly records: number;
  readonly workers: number;
  readonly outputDir: string;
  readonly seed: number;
}

/** A command-line flag or variable had a bad value; the message names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const USAGE = `Usage: sensor-pipeline [--records N] [--workers N] [--output DIR] [--seed N]

  --records N   records to produce            (env SENSOR_RECORDS,    default 1000)
  --workers N   validator and transformer workers (env SENSOR_WORKERS, default 4)
  --output DIR  directory for the JSONL files (env SENSOR_OUTPUT_DIR, default ./output)
  --seed N      seed of the generated values  (env SENSOR_SEED,       default 42)`;

/**
 * Reads the settings: a flag wins over its environment variable, which wins over the default.
 * @throws {@link ConfigError} naming the flag or variable whose value is invalid
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SensorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        records: { type: 'string' },
        workers: { type: 'string' },
        output: { type: 'string' },
        seed: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  const pick = (flag: string, variable: string): { value: string; source: string } | undefined => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return { value: fromFlag, source: `--${flag}` };
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, source: variable };
    return undefined;
  };
  const integer = (flag: string, variable: string, fallback: number, min: number): number => {
    const given = pick(flag, variable);
    if (given === undefined) return fallback;
    const value = Number(given.value);
    if (!/^\d+$/.test(given.value.trim()) || !Number.isSafeInteger(value) || value < min) {
      throw new ConfigError(
        `${given.source} must be an integer >= ${min}, got ${JSON.stringify(given.value)}`,
      );
    }
    return value;
  };
  return {
    records: integer('records', 'SENSOR_RECORDS', 1_000, 0),
    workers: integer('workers', 'SENSOR_WORKERS', 4, 1),
    outputDir: pick('output', 'SENSOR_OUTPUT_DIR')?.value ?? './output',
    seed: integer('seed', 'SENSOR_SEED', 42, 0),
  };
}
