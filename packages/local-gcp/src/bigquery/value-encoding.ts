import {
  DuckDBBlobValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { BigQueryApiError } from './errors.js';
import type { Field } from './schema-mapping.js';
import { microsToDatetime, microsToIso, microsToSeconds, microsToTime } from './time-format.js';

/**
 * How TIMESTAMP cells are written: `int64` microseconds (`formatOptions.useInt64Timestamp=true`,
 * what the client asks for), `float` seconds (the API default), or `iso` (`ISO8601_STRING`).
 */
export type TimestampFormat = 'int64' | 'float' | 'iso';

/** One cell of BigQuery's row encoding: `{"v": …}`. */
export interface Cell {
  readonly v: unknown;
}

/** One row of BigQuery's row encoding: `{"f": [{"v": …}, …]}`. */
export interface EncodedRow {
  readonly f: Cell[];
}

type Encoder = (value: DuckDBValue) => unknown;

const OUTPUT_FORMATS: Readonly<Record<string, TimestampFormat | undefined>> = {
  TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED: undefined,
  FLOAT64: 'float',
  INT64: 'int64',
  ISO8601_STRING: 'iso',
};

/**
 * Picks the timestamp format from the query string or request body options the client sends
 * (`formatOptions.useInt64Timestamp`, `formatOptions.timestampOutputFormat`).
 * @throws {@link BigQueryApiError} `invalid` for an unknown format, and, as BigQuery does, for
 * `useInt64Timestamp: true` with a FLOAT64 or ISO8601_STRING format (the combinations the
 * client library's "Timestamp Output Format" system tests expect to fail).
 */
export function timestampFormatOf(useInt64: unknown, outputFormat: unknown): TimestampFormat {
  const int64 = useInt64 === true || useInt64 === 'true';
  if (outputFormat === undefined || outputFormat === null) return int64 ? 'int64' : 'float';
  const format = typeof outputFormat === 'string' ? OUTPUT_FORMATS[outputFormat] : undefined;
  if (typeof outputFormat !== 'string' || !Object.hasOwn(OUTPUT_FORMATS, outputFormat)) {
    throw BigQueryApiError.invalid(
      `Invalid value for formatOptions.timestampOutputFormat: ${JSON.stringify(outputFormat)}`,
    );
  }
  if (int64 && (format === 'float' || format === 'iso')) {
    throw BigQueryApiError.invalid(
      'Cannot specify both use_int64_timestamp and timestamp_output_format.',
    );
  }
  return format ?? (int64 ? 'int64' : 'float');
}

/** Compiles an encoder turning DuckDB result rows into BigQuery's `{"f":[{"v":…}]}` rows. */
export function compileRowEncoder(
  fields: readonly Field[],
  format: TimestampFormat,
): (row: readonly DuckDBValue[]) => EncodedRow {
  const encoders = fields.map((field) => fieldEncoder(field, format));
  return (row) => ({
    f: encoders.map((encode, index) => ({ v: encode(row[index] ?? null) })),
  });
}

function fieldEncoder(field: Field, format: TimestampFormat): Encoder {
  const element = elementEncoder(field, format);
  if (field.mode !== 'REPEATED') return (value) => (value === null ? null : element(value));
  return (value) => {
    if (value === null) return [];
    const items =
      value instanceof DuckDBListValue || value instanceof DuckDBArrayValue ? value.items : [value];
    return items.map((item) => ({ v: item === null ? null : element(item) }));
  };
}

function elementEncoder(field: Field, format: TimestampFormat): Encoder {
  switch (field.kind) {
    case 'RECORD': {
      const children = field.fields.map((child) => ({
        name: child.name,
        encode: fieldEncoder(child, format),
      }));
      return (value) => {
        const entries = value instanceof DuckDBStructValue ? value.entries : {};
        return { f: children.map(({ name, encode }) => ({ v: encode(entries[name] ?? null) })) };
      };
    }
    case 'BYTES':
      return (value) =>
        value instanceof DuckDBBlobValue
          ? Buffer.from(value.bytes).toString('base64')
          : String(value);
    case 'NUMERIC':
      return (value) =>
        value instanceof DuckDBDecimalValue ? trimDecimal(value.toString()) : String(value);
    case 'FLOAT':
      return (value) => String(value);
    case 'TIMESTAMP':
      return (value) => {
        const micros = microsOf(value);
        if (micros === undefined) return String(value);
        if (format === 'int64') return micros.toString();
        if (format === 'iso') return microsToIso(micros);
        return microsToSeconds(micros);
      };
    case 'DATETIME':
      return (value) => {
        const micros = microsOf(value);
        return micros === undefined ? String(value) : microsToDatetime(micros);
      };
    case 'TIME':
      return (value) =>
        value instanceof DuckDBTimeValue ? microsToTime(value.micros) : String(value);
    case 'STRING':
    case 'JSON':
    case 'GEOGRAPHY':
      return (value) => (typeof value === 'string' ? value : String(value));
    case 'INTEGER':
    case 'BOOLEAN':
    case 'DATE':
      return (value) => String(value);
  }
}

function microsOf(value: DuckDBValue): bigint | undefined {
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) {
    return value.micros;
  }
  if (value instanceof DuckDBTimestampMillisecondsValue) return value.millis * 1000n;
  if (value instanceof DuckDBTimestampSecondsValue) return value.seconds * 1_000_000n;
  if (value instanceof DuckDBTimestampNanosecondsValue) return value.nanos / 1000n;
  return undefined;
}

function trimDecimal(text: string): string {
  if (!text.includes('.')) return text;
  const trimmed = text.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed === '-0' ? '0' : trimmed;
}
