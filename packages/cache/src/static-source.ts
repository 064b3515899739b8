import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { TributaryError, type StatsDescription } from '@tributary/messagepipeline';
import type { Fetcher } from './ports.js';
import { parseCsv } from './csv.js';

/** Options for {@link loadStaticSource}. */
export interface StaticSourceOptions {
  /**
   * The field of each record that is its key (JSON arrays, NDJSON and CSV). A JSON object file
   * maps keys to records and needs none. @defaultValue 'id'
   */
  readonly keyField?: string | undefined;
  /** @defaultValue from the extension: `.json`, `.ndjson`/`.jsonl`, `.csv` */
  readonly format?: 'json' | 'ndjson' | 'csv' | undefined;
  /** @defaultValue 'static:<file>' */
  readonly name?: string | undefined;
}

/** Counters of a static source. */
export interface StaticSourceStats {
  readonly hits: number;
  readonly misses: number;
  readonly records: number;
}

/** What each {@link StaticSourceStats} field measures. */
export const staticSourceStatsDescription: StatsDescription<StaticSourceStats> = {
  hits: { kind: 'counter', help: 'Keys found' },
  misses: { kind: 'counter', help: 'Keys not in the file' },
  records: { kind: 'gauge', help: 'Records loaded' },
};

/** Reference data loaded from a file into memory. */
export interface StaticSource<V> extends Fetcher<string, V> {
  stats(): StaticSourceStats;
}

/**
 * Loads a JSON, NDJSON or CSV file into memory as a source, for local runs and tests without
 * Firestore. JSON: an object of key to record, or an array of records with `keyField`. NDJSON:
 * one record per line. CSV: a header row, then one record per row (values stay strings).
 * @throws `TributaryError` `CONFIG_INVALID` naming the file (and the line) when it is unreadable,
 * malformed, or a record has no key or a duplicate one.
 */
export async function loadStaticSource<V = Record<string, unknown>>(
  file: string,
  options: StaticSourceOptions = {},
): Promise<StaticSource<V>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw invalid(file, error instanceof Error ? error.message : String(error), error);
  }
  const records = parseStaticRecords(text, file, options);
  return createStaticSource<V>(records as Map<string, V>, options.name ?? `static:${file}`);
}

/** A source over records already in memory. */
export function createStaticSource<V>(
  records: ReadonlyMap<string, V>,
  name = 'static',
): StaticSource<V> {
  let hits = 0;
  let misses = 0;
  const lookup = (key: string): V | undefined => {
    const value = records.get(key);
    if (value === undefined) misses++;
    else hits++;
    return value;
  };
  return {
    name,
    get: (key) => Promise.resolve(lookup(key)),
    getMany: (keys) => Promise.resolve(keys.map(lookup)),
    stats: () => ({ hits, misses, records: records.size }),
  };
}

/** Parses the text of a static file into a map of key to record. Pure. */
export function parseStaticRecords(
  text: string,
  file: string,
  options: StaticSourceOptions = {},
): Map<string, unknown> {
  const keyField = options.keyField ?? 'id';
  const format = options.format ?? formatOf(file);
  const records = new Map<string, unknown>();
  const add = (record: unknown, where: string): void => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw invalid(file, `${where}: a record must be an object`);
    }
    const key = (record as Record<string, unknown>)[keyField];
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw invalid(file, `${where}: no '${keyField}' (string or number)`);
    }
    const id = String(key);
    if (records.has(id)) throw invalid(file, `${where}: duplicate key '${id}'`);
    records.set(id, record);
  };
  if (format === 'csv') {
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(text);
    } catch (error) {
      throw invalid(file, error instanceof Error ? error.message : String(error), error);
    }
    rows.forEach((row, i) => {
      add(row, `line ${i + 2}`);
    });
    return records;
  }
  if (format === 'ndjson') {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      add(parseJson(line, file, `line ${i + 1}`), `line ${i + 1}`);
    });
    return records;
  }
  const parsed = parseJson(text, file, 'JSON');
  if (Array.isArray(parsed)) {
    parsed.forEach((record, i) => {
      add(record, `[${i}]`);
    });
  } else if (typeof parsed === 'object' && parsed !== null) {
    for (const [key, record] of Object.entries(parsed)) {
      if (typeof record !== 'object' || record === null) {
        throw invalid(file, `'${key}': a record must be an object`);
      }
      records.set(key, record);
    }
  } else {
    throw invalid(file, 'must be an object of records or an array of records');
  }
  return records;
}

function formatOf(file: string): 'json' | 'ndjson' | 'csv' {
  const extension = extname(file).toLowerCase();
  if (extension === '.csv') return 'csv';
  if (extension === '.ndjson' || extension === '.jsonl') return 'ndjson';
  return 'json';
}

function parseJson(text: string, file: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(file, `${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function invalid(file: string, problem: string, cause?: unknown): TributaryError {
  return new TributaryError('CONFIG_INVALID', `${file}: ${problem}`, { cause });
}
