import type { DecimalBounds, Field, FieldKind } from './schema-mapping.js';
import { civilToMicros, fractionToMicros, microsToTimestampLiteral } from './time-format.js';

/** Why a row was refused, in insertAll's terms (`errors[].location`, `errors[].message`). */
export interface RowProblem {
  readonly location: string;
  readonly message: string;
}

/** A validated row in the form the DuckDB writer reads, or the first problem found. */
export type RowCheck =
  | { readonly ok: true; readonly row: Record<string, unknown> }
  | { readonly ok: false; readonly problem: RowProblem };

/** Checks one insertAll row (`rows[].json`) against a schema and normalises its values. */
export type RowValidator = (json: unknown, ignoreUnknownValues: boolean) => RowCheck;

class RowError extends Error {
  readonly location: string;
  constructor(location: string, message: string) {
    super(message);
    this.location = location;
  }
}

interface CompiledField {
  readonly field: Field;
  readonly path: string;
  readonly children: ReadonlyMap<string, CompiledField>;
  readonly required: readonly CompiledField[];
}

/** Compiles a validator for a table's schema (names match case-insensitively, like BigQuery). */
export function compileRowValidator(fields: readonly Field[]): RowValidator {
  const root = compileLevel(fields, '');
  return (json, ignoreUnknownValues) => {
    try {
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new RowError('', 'Row is not a JSON object.');
      }
      return {
        ok: true,
        row: normalizeRecord(json as Record<string, unknown>, root, ignoreUnknownValues),
      };
    } catch (error) {
      if (error instanceof RowError) {
        return { ok: false, problem: { location: error.location, message: error.message } };
      }
      throw error;
    }
  };
}

interface Level {
  /** Exact names first (the common case), then lower-cased ones. */
  readonly byName: ReadonlyMap<string, CompiledField>;
  readonly required: readonly CompiledField[];
  readonly prefix: string;
}

function compileLevel(fields: readonly Field[], prefix: string): Level {
  const byName = new Map<string, CompiledField>();
  const required: CompiledField[] = [];
  for (const field of fields) {
    const path = `${prefix}${field.name}`;
    const level = compileLevel(field.fields, `${path}.`);
    const compiled: CompiledField = {
      field,
      path,
      children: level.byName,
      required: level.required,
    };
    byName.set(field.name, compiled);
    if (!byName.has(field.name.toLowerCase())) byName.set(field.name.toLowerCase(), compiled);
    if (field.mode === 'REQUIRED') required.push(compiled);
  }
  return { byName, required, prefix };
}

function normalizeRecord(
  input: Record<string, unknown>,
  level: Level,
  ignoreUnknownValues: boolean,
): Record<string, unknown> {
  const output: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const compiled = level.byName.get(key) ?? level.byName.get(key.toLowerCase());
    if (compiled === undefined) {
      if (ignoreUnknownValues) continue;
      throw new RowError(`${level.prefix}${key}`, `no such field: ${level.prefix}${key}.`);
    }
    const value = input[key];
    if (value === undefined || value === null) continue;
    output[compiled.field.name] = normalizeField(value, compiled, ignoreUnknownValues);
  }
  for (const compiled of level.required) {
    if (output[compiled.field.name] === undefined) {
      throw new RowError(compiled.path, `Missing required field: ${compiled.path}.`);
    }
  }
  return output;
}

function normalizeField(
  value: unknown,
  compiled: CompiledField,
  ignoreUnknownValues: boolean,
): unknown {
  const { field, path } = compiled;
  if (field.mode === 'REPEATED') {
    if (!Array.isArray(value)) {
      throw new RowError(path, `Value specified for repeated field ${path} is not an array.`);
    }
    return value.map((item: unknown) => {
      if (item === null || item === undefined) {
        throw new RowError(path, `Null value in repeated field: ${path}.`);
      }
      if (Array.isArray(item)) throw new RowError(path, `Nested arrays are not allowed: ${path}.`);
      return normalizeElement(item, compiled, ignoreUnknownValues);
    });
  }
  if (Array.isArray(value) && field.kind !== 'JSON') {
    throw new RowError(path, `Array specified for non-repeated field: ${path}.`);
  }
  return normalizeElement(value, compiled, ignoreUnknownValues);
}

function normalizeElement(
  value: unknown,
  compiled: CompiledField,
  ignoreUnknownValues: boolean,
): unknown {
  const { field, path } = compiled;
  if (field.kind === 'RECORD') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RowError(path, `This field: ${path} is not a record.`);
    }
    return normalizeRecord(
      value as Record<string, unknown>,
      { byName: compiled.children, required: compiled.required, prefix: `${path}.` },
      ignoreUnknownValues,
    );
  }
  const normalized = normalizeScalar(field.kind, value);
  if (normalized === undefined) throw new RowError(path, scalarMessage(field.kind, path, value));
  if (field.maxLength !== undefined && typeof normalized === 'string') {
    const length =
      field.kind === 'BYTES'
        ? Buffer.byteLength(normalized, 'base64')
        : normalized.replace(SURROGATE_PAIR, '_').length;
    if (length > field.maxLength) {
      throw new RowError(
        path,
        `Value of length ${length} exceeds maxLength ${field.maxLength} of ${field.kind} field ${path}.`,
      );
    }
  }
  if (field.decimal !== undefined && typeof normalized === 'string') {
    const fitted = fitDecimal(normalized, field.decimal);
    if (fitted === undefined) {
      const { precision, scale } = field.decimal;
      throw new RowError(
        path,
        `Value ${normalized} is out of range for NUMERIC(${precision}, ${scale}) field ${path}.`,
      );
    }
    return fitted;
  }
  return normalized;
}

/** A character outside the BMP, counted as one (BigQuery counts STRING length in characters). */
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMERIC_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const DATE_TEXT = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const TIME_TEXT = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,12}))?)?$/;
const DATETIME_TEXT =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,12}))?)?)?$/;
const TIMESTAMP_TEXT =
  /^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,12}))?)?)?\s*(?:([Zz]|UTC|utc)|([+-])(\d{1,2})(?::?(\d{2}))?)?\s*$/;
const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;

/**
 * A scalar in the form DuckDB reads (see {@link compileRowValidator}), or undefined when it does
 * not convert. The JSON types each column type accepts follow BigQuery's insertAll:
 *
 * | column                     | JSON string                  | JSON number            | JSON boolean |
 * | -------------------------- | ---------------------------- | ---------------------- | ------------ |
 * | STRING, GEOGRAPHY          | yes                          | no                     | no           |
 * | BYTES                      | base64                       | no                     | no           |
 * | INTEGER                    | integer text in int64 range  | integral, in range     | no           |
 * | FLOAT                      | number text, NaN, ±Infinity  | yes                    | no           |
 * | NUMERIC                    | decimal text                 | yes                    | no           |
 * | BOOLEAN                    | `true` / `false` (any case)  | no                     | yes          |
 * | TIMESTAMP                  | date-time text               | epoch seconds          | no           |
 * | DATE, TIME, DATETIME       | their canonical text         | no                     | no           |
 * | JSON                       | JSON text                    | yes                    | yes          |
 */
export function normalizeScalar(kind: FieldKind, value: unknown): unknown {
  switch (kind) {
    case 'STRING':
    case 'GEOGRAPHY':
      return typeof value === 'string' ? value : undefined;
    case 'INTEGER':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
      if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) {
        const big = BigInt(value.trim());
        return big <= INT64_MAX && big >= INT64_MIN ? big.toString() : undefined;
      }
      return undefined;
    case 'FLOAT':
      if (typeof value === 'number') return value;
      if (typeof value === 'string') {
        const text = value.trim();
        if (text === 'NaN' || text === 'Infinity' || text === '-Infinity' || text === '+Infinity') {
          return text.replace('+', '');
        }
        return text !== '' && Number.isFinite(Number(text)) ? Number(text) : undefined;
      }
      return undefined;
    case 'NUMERIC': {
      const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      if (typeof text !== 'string' || !NUMERIC_TEXT.test(text.trim())) return undefined;
      const trimmed = text.trim();
      const integerDigits = /^[+-]?0*(\d*)/.exec(trimmed)?.[1]?.length ?? 0;
      if (!/[eE]/.test(trimmed) && integerDigits > 29) return undefined;
      return trimmed;
    }
    case 'BOOLEAN':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const lower = value.trim().toLowerCase();
        if (lower === 'true') return true;
        if (lower === 'false') return false;
      }
      return undefined;
    case 'BYTES':
      if (typeof value !== 'string' || !BASE64.test(value)) return undefined;
      return value
        .replaceAll('-', '+')
        .replaceAll('_', '/')
        .padEnd(Math.ceil(value.length / 4) * 4, '=');
    case 'TIMESTAMP':
      return normalizeTimestamp(value);
    case 'DATE': {
      if (typeof value !== 'string') return undefined;
      const match = DATE_TEXT.exec(value.trim());
      if (match === null) return undefined;
      const [, y, m, d] = match.map(Number) as [number, number, number, number];
      if (civilToMicros(y, m, d, 0, 0, 0, 0) === undefined) return undefined;
      return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    }
    case 'TIME': {
      if (typeof value !== 'string') return undefined;
      const match = TIME_TEXT.exec(value.trim());
      if (match === null) return undefined;
      const h = Number(match[1]);
      const min = Number(match[2]);
      const s = Number(match[3] ?? 0);
      if (h > 23 || min > 59 || s > 59) return undefined;
      const micros = fractionToMicros(match[4]);
      return `${pad2(h)}:${pad2(min)}:${pad2(s)}.${String(micros).padStart(6, '0')}`;
    }
    case 'DATETIME': {
      if (typeof value !== 'string') return undefined;
      const match = DATETIME_TEXT.exec(value.trim());
      if (match === null) return undefined;
      const micros = civilToMicros(
        Number(match[1]),
        Number(match[2]),
        Number(match[3]),
        Number(match[4] ?? 0),
        Number(match[5] ?? 0),
        Number(match[6] ?? 0),
        fractionToMicros(match[7]),
      );
      return micros === undefined ? undefined : microsToTimestampLiteral(micros).slice(0, -3);
    }
    case 'JSON':
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        return undefined;
      }
    case 'RECORD':
      return undefined;
  }
}

/** The common ISO shape, checked without building a Date (see {@link normalizeTimestamp}). */
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value === 'string') {
    // Fast path: a well-formed ISO timestamp DuckDB reads as is (offset or Z, else UTC).
    const iso = ISO_TIMESTAMP.exec(value);
    if (iso !== null) {
      const year = Number(iso[1]);
      const month = Number(iso[2]);
      const day = Number(iso[3]);
      const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
      const maxDay = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
      if (
        year >= 1 &&
        month >= 1 &&
        day >= 1 &&
        day <= maxDay &&
        Number(iso[4]) <= 23 &&
        Number(iso[5]) <= 59 &&
        Number(iso[6]) <= 59 &&
        ((year > 1 && year < 9999) || iso[8] === undefined || iso[8] === 'Z')
      ) {
        return iso[8] === undefined ? `${value}+00` : value;
      }
    }
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    const micros = BigInt(Math.round(value * 1e6));
    return inTimestampRange(micros) ? microsToTimestampLiteral(micros) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = TIMESTAMP_TEXT.exec(value);
  if (match === null) {
    const text = value.trim();
    if (text !== '' && Number.isFinite(Number(text))) return normalizeTimestamp(Number(text));
    return undefined;
  }
  const local = civilToMicros(
    Number(match[1]),
    Number(match[2]),
    Number(match[3]),
    Number(match[4] ?? 0),
    Number(match[5] ?? 0),
    Number(match[6] ?? 0),
    fractionToMicros(match[7]),
  );
  if (local === undefined) return undefined;
  let offsetMinutes = 0;
  if (match[9] !== undefined) {
    offsetMinutes = Number(match[10]) * 60 + Number(match[11] ?? 0);
    if (match[9] === '-') offsetMinutes = -offsetMinutes;
  }
  const micros = local - BigInt(offsetMinutes) * 60_000_000n;
  return inTimestampRange(micros) ? microsToTimestampLiteral(micros) : undefined;
}

const TIMESTAMP_MIN = -62_135_596_800_000_000n;
const TIMESTAMP_MAX = 253_402_300_799_999_999n;

function inTimestampRange(micros: bigint): boolean {
  return micros >= TIMESTAMP_MIN && micros <= TIMESTAMP_MAX;
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

function scalarMessage(kind: FieldKind, path: string, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    return `This field: ${path} is a record, but its type is ${kind}.`;
  }
  switch (kind) {
    case 'INTEGER':
      return `Cannot convert value to integer (bad value): ${text}`;
    case 'FLOAT':
      return `Cannot convert value to floating point (bad value): ${text}`;
    case 'NUMERIC':
      return `Invalid NUMERIC value: ${text}`;
    case 'BOOLEAN':
      return `Cannot convert value to boolean: ${text}`;
    case 'BYTES':
      return `Could not decode base64 string to bytes. Field: ${path}; Value: ${text}`;
    case 'TIMESTAMP':
      return `Couldn't convert value to timestamp: Could not parse '${text}' as a timestamp. Required format is YYYY-MM-DD HH:MM[:SS[.SSSSSS]] or YYYY/MM/DD HH:MM[:SS[.SSSSSS]]`;
    case 'DATE':
      return `Invalid date: '${text}'`;
    case 'TIME':
      return `Invalid time string "${text}"`;
    case 'DATETIME':
      return `Invalid datetime string "${text}"`;
    case 'JSON':
      return `Invalid JSON value for field ${path}: ${text}`;
    case 'STRING':
    case 'GEOGRAPHY':
      return `Conversion from ${jsonScalarType(value)} to std::string is unsupported.`;
    case 'RECORD':
      return `Cannot convert value to ${kind.toLowerCase()}: ${text}`;
  }
}

/**
 * The C++ type name BigQuery's conversion errors give a JSON scalar. `bool` is observed (the
 * client library's system test "should return partial errors"); `int64` and `double` for
 * numbers follow the same pattern and are our inference.
 */
function jsonScalarType(value: unknown): string {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int64' : 'double';
  return typeof value;
}

/**
 * A NUMERIC(P, S) value: rounded half away from zero to S fractional digits, then checked
 * against the range the REST reference gives, [-10^(P-S) + 10^-S, 10^(P-S) - 10^-S].
 * Undefined when it is out of range. `text` is decimal text, possibly with an exponent.
 */
export function fitDecimal(text: string, { precision, scale }: DecimalBounds): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = BigInt(`${whole}${fraction}` || '0');
  // value = digits * 10^shift; we want units of 10^-scale.
  const shift = Number(exponentText) - fraction.length + scale;
  let units: bigint;
  if (shift >= 0) {
    units = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    units = digits / divisor;
    if ((digits % divisor) * 2n >= divisor) units += 1n;
  }
  if (units > 10n ** BigInt(precision) - 1n) return undefined;
  const padded = units.toString().padStart(scale + 1, '0');
  const integer = padded.slice(0, padded.length - scale);
  const decimals = padded.slice(padded.length - scale);
  const negative = sign === '-' && units !== 0n;
  return `${negative ? '-' : ''}${integer}${scale > 0 ? `.${decimals}` : ''}`;
}
