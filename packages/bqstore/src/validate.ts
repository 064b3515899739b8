import { columnType, isRecord, type ColumnType, type TableField } from './schema.js';

/** A field the row has and the table does not. */
export interface UnknownField {
  /** Where it is, such as `extra` or `loc.alt` or `samples[2].note`. */
  readonly path: string;
  /** The names of the RECORD columns it sits in (`[]` at the top level, `['loc']` for `loc.alt`). */
  readonly parents: readonly string[];
  readonly name: string;
  readonly value: unknown;
}

/** Why a row does not fit the table: the first problem found. */
export interface RowViolation {
  /** The field path, such as `readings[3].value` (`''` for the row itself). */
  readonly path: string;
  /** `<path>: <what is wrong>`, for example `readings[3].value: expected FLOAT64, got "abc"`. */
  readonly message: string;
}

/** The verdict on one row. */
export type RowCheck =
  | { readonly ok: true; readonly unknown: readonly UnknownField[] }
  | { readonly ok: false; readonly violation: RowViolation };

/**
 * A compiled check of rows against one table schema. It accepts exactly the JSON values BigQuery's
 * insertAll converts without loss and refuses the rest, naming the field path.
 */
export interface RowValidator {
  /** Checks a row; fields the table lacks are reported in `unknown`, never refused here. */
  check(row: unknown): RowCheck;
  /** A copy of `row` without the fields the table lacks (nested ones too). */
  strip(row: Record<string, unknown>): Record<string, unknown>;
}

interface Node {
  readonly name: string;
  readonly type: ColumnType;
  readonly mode: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  readonly children: Level | undefined;
  readonly check: ScalarCheck;
}

interface Level {
  /** Exact names, then lower-cased ones (BigQuery column names are case-insensitive). */
  readonly byName: ReadonlyMap<string, Node>;
  readonly required: readonly Node[];
}

/** Returns a problem (without the path) or `undefined` when the value fits. */
type ScalarCheck = (value: unknown) => string | undefined;

class Violation extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(path === '' ? problem : `${path}: ${problem}`);
    this.path = path;
  }
}

/**
 * Compiles a validator for `fields`. Checks types, REQUIRED fields (missing or null), INT64
 * range, NUMERIC / BIGNUMERIC precision and scale, TIMESTAMP / DATE / TIME / DATETIME formats,
 * base64 BYTES, STRING / BYTES `maxLength`, JSON text, and nested RECORD / REPEATED fields (no
 * null elements, no nested arrays).
 */
export function compileRowValidator(fields: readonly TableField[]): RowValidator {
  const root = compileLevel(fields);
  return {
    check(row) {
      if (!isRecord(row)) {
        return {
          ok: false,
          violation: { path: '', message: `a row must be a JSON object, got ${describe(row)}` },
        };
      }
      const unknown: UnknownField[] = [];
      try {
        checkRecord(row, root, '', [], unknown);
      } catch (error) {
        if (error instanceof Violation) {
          return { ok: false, violation: { path: error.path, message: error.message } };
        }
        throw error;
      }
      return { ok: true, unknown };
    },
    strip: (row) => stripRecord(row, root),
  };
}

function compileLevel(fields: readonly TableField[]): Level {
  const byName = new Map<string, Node>();
  const required: Node[] = [];
  for (const field of fields) {
    const type = columnType(field.type);
    if (type === undefined) throw new TypeError(`unknown column type ${field.type}`);
    const node: Node = {
      name: field.name,
      type,
      mode: field.mode ?? 'NULLABLE',
      children: type === 'RECORD' ? compileLevel(field.fields ?? []) : undefined,
      check: scalarCheck(type, field),
    };
    byName.set(field.name, node);
    if (!byName.has(field.name.toLowerCase())) byName.set(field.name.toLowerCase(), node);
    if (node.mode === 'REQUIRED') required.push(node);
  }
  return { byName, required };
}

function lookup(level: Level, key: string): Node | undefined {
  return level.byName.get(key) ?? level.byName.get(key.toLowerCase());
}

function checkRecord(
  record: Record<string, unknown>,
  level: Level,
  prefix: string,
  parents: readonly string[],
  unknown: UnknownField[],
): void {
  for (const key in record) {
    const value = record[key];
    const path = `${prefix}${key}`;
    const node = lookup(level, key);
    if (node === undefined) {
      if (value !== undefined) unknown.push({ path, parents, name: key, value });
      continue;
    }
    if (value === null || value === undefined) {
      if (node.mode === 'REQUIRED') throw new Violation(path, 'REQUIRED field is null');
      continue;
    }
    checkField(value, node, path, parents, unknown);
  }
  for (const node of level.required) {
    if (!hasField(record, node.name)) {
      throw new Violation(`${prefix}${node.name}`, 'REQUIRED field is missing');
    }
  }
}

function hasField(record: Record<string, unknown>, name: string): boolean {
  if (record[name] !== undefined && record[name] !== null) return true;
  const lower = name.toLowerCase();
  for (const key in record) {
    if (key.toLowerCase() === lower && record[key] !== undefined && record[key] !== null) {
      return true;
    }
  }
  return false;
}

function checkField(
  value: unknown,
  node: Node,
  path: string,
  parents: readonly string[],
  unknown: UnknownField[],
): void {
  if (node.mode === 'REPEATED') {
    if (!Array.isArray(value)) {
      throw new Violation(
        path,
        `expected an array (REPEATED ${node.type}), got ${describe(value)}`,
      );
    }
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const at = `${path}[${i}]`;
      if (item === null || item === undefined) {
        throw new Violation(at, 'null is not allowed in a REPEATED field');
      }
      if (Array.isArray(item)) throw new Violation(at, 'nested arrays are not allowed');
      checkElement(item, node, at, parents, unknown);
    }
    return;
  }
  if (Array.isArray(value) && node.type !== 'JSON') {
    throw new Violation(path, `expected ${node.type}, got an array`);
  }
  checkElement(value, node, path, parents, unknown);
}

function checkElement(
  value: unknown,
  node: Node,
  path: string,
  parents: readonly string[],
  unknown: UnknownField[],
): void {
  if (node.children !== undefined) {
    if (!isRecord(value)) throw new Violation(path, `expected RECORD, got ${describe(value)}`);
    checkRecord(value, node.children, `${path}.`, [...parents, node.name], unknown);
    return;
  }
  const problem = node.check(value);
  if (problem !== undefined) throw new Violation(path, problem);
}

function stripRecord(record: Record<string, unknown>, level: Level): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in record) {
    const node = lookup(level, key);
    if (node === undefined) continue;
    const value = record[key];
    const children = node.children;
    if (children === undefined || value === null || value === undefined) {
      out[key] = value;
    } else if (Array.isArray(value)) {
      out[key] = value.map((item: unknown) =>
        isRecord(item) ? stripRecord(item, children) : item,
      );
    } else {
      out[key] = isRecord(value) ? stripRecord(value, children) : value;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scalars: the JSON values insertAll converts for each column type.

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const BASE64_URL = /^[A-Za-z0-9\-_]*$/;
const DATE_TEXT = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const TIME_PART = String.raw`(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d{1,12})?)?`;
const TIME_TEXT = new RegExp(`^${TIME_PART}$`);
const DATETIME_TEXT = new RegExp(String.raw`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ]${TIME_PART})?$`);
const TIMESTAMP_TEXT = new RegExp(
  String.raw`^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[Tt ]${TIME_PART})?\s*(?:[Zz]|UTC|utc|[+-]\d{1,2}(?::?\d{2})?)?\s*$`,
);
/** A character outside the BMP counts as one (BigQuery counts STRING length in characters). */
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;
const INT64_MAX = 9_223_372_036_854_775_807n;
const INT64_MIN = -9_223_372_036_854_775_808n;
/** Seconds of 0001-01-01T00:00:00Z, and of 10000-01-01T00:00:00Z (excluded). */
const TIMESTAMP_MIN_SECONDS = -62_135_596_800;
const TIMESTAMP_MAX_SECONDS = 253_402_300_800;

const TIMESTAMP_FORMAT = 'RFC 3339 or "YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][ zone]", or epoch seconds';

function scalarCheck(type: ColumnType, field: TableField): ScalarCheck {
  switch (type) {
    case 'STRING':
      return withMaxLength(
        (v) => (typeof v === 'string' ? undefined : expected('STRING', v)),
        field,
        (v) => v.replace(SURROGATE_PAIR, '_').length,
      );
    case 'GEOGRAPHY':
      return (v) =>
        typeof v === 'string' ? undefined : expected('GEOGRAPHY (WKT or GeoJSON text)', v);
    case 'BYTES':
      return withMaxLength(
        (v) =>
          typeof v === 'string' && (BASE64.test(v) || BASE64_URL.test(v))
            ? undefined
            : expected('BYTES (base64)', v),
        field,
        (v) => Buffer.byteLength(v, 'base64'),
      );
    case 'INT64':
      return checkInt64;
    case 'FLOAT64':
      return checkFloat64;
    case 'NUMERIC':
      return decimalCheck('NUMERIC', field, 38, 9);
    case 'BIGNUMERIC':
      return decimalCheck('BIGNUMERIC', field, 76, 38);
    case 'BOOL':
      return (v) =>
        typeof v === 'boolean' || (typeof v === 'string' && /^(true|false)$/i.test(v.trim()))
          ? undefined
          : expected('BOOL', v);
    case 'TIMESTAMP':
      return checkTimestamp;
    case 'DATE':
      return civilCheck(DATE_TEXT, 'DATE (YYYY-MM-DD)', (m) => validDate(m[1], m[2], m[3]));
    case 'TIME':
      return civilCheck(TIME_TEXT, 'TIME (HH:MM[:SS[.ffffff]])', (m) =>
        validTime(m[1], m[2], m[3]),
      );
    case 'DATETIME':
      return civilCheck(
        DATETIME_TEXT,
        'DATETIME (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]])',
        (m) => validDate(m[1], m[2], m[3]) && validTime(m[4], m[5], m[6]),
      );
    case 'JSON':
      return (v) => {
        if (typeof v !== 'string') return undefined;
        try {
          JSON.parse(v);
          return undefined;
        } catch {
          return expected('JSON (a JSON value, or JSON text)', v);
        }
      };
    case 'RECORD':
      return (v) => expected('RECORD', v);
  }
}

/** A check of civil date/time text: the pattern matches and its parts are in range. */
function civilCheck(
  pattern: RegExp,
  label: string,
  inRange: (match: RegExpExecArray) => boolean,
): ScalarCheck {
  return (v) => {
    const m = typeof v === 'string' ? pattern.exec(v.trim()) : null;
    return m !== null && inRange(m) ? undefined : expected(label, v);
  };
}

function withMaxLength(
  check: ScalarCheck,
  field: TableField,
  length: (value: string) => number,
): ScalarCheck {
  if (field.maxLength === undefined) return check;
  const max = Number(field.maxLength);
  return (v) => {
    const problem = check(v);
    if (problem !== undefined) return problem;
    const actual = length(v as string);
    return actual > max ? `length ${actual} exceeds maxLength ${max}` : undefined;
  };
}

function checkInt64(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return undefined;
    if (Number.isInteger(v)) {
      return `${describe(v)} is beyond 2^53 and lost precision as a JSON number; send INT64 values this large as strings`;
    }
    return expected('INT64', v);
  }
  if (typeof v === 'string' && INTEGER_TEXT.test(v.trim())) {
    const big = BigInt(v.trim());
    return big <= INT64_MAX && big >= INT64_MIN
      ? undefined
      : `${describe(v)} is out of INT64 range`;
  }
  return expected('INT64', v);
}

function checkFloat64(v: unknown): string | undefined {
  if (typeof v === 'number') return undefined;
  if (typeof v === 'string') {
    const text = v.trim();
    if (/^[+-]?(NaN|Infinity)$/.test(text)) return undefined;
    if (text !== '' && Number.isFinite(Number(text))) return undefined;
  }
  return expected('FLOAT64', v);
}

function decimalCheck(
  name: string,
  field: TableField,
  defaultPrecision: number,
  defaultScale: number,
): ScalarCheck {
  const scale = field.scale === undefined ? defaultScale : Number(field.scale);
  const precision = field.precision === undefined ? defaultPrecision : Number(field.precision);
  const label = field.precision === undefined ? name : `${name}(${precision}, ${scale})`;
  return (v) => {
    const text = typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
    const m = typeof text === 'string' ? DECIMAL_TEXT.exec(text.trim()) : null;
    if (m === null || (m[2] === '' && (m[3] ?? '') === '')) return expected(name, v);
    return fitsDecimal(m[2] ?? '', m[3] ?? '', Number(m[4] ?? 0), precision, scale)
      ? undefined
      : `${describe(v)} exceeds ${label} precision (at most ${precision - scale} integer digits)`;
  };
}

/**
 * Whether `whole.fraction × 10^exponent`, rounded half away from zero to `scale` fraction digits
 * (as BigQuery rounds), has at most `precision` digits in all.
 */
function fitsDecimal(
  whole: string,
  fraction: string,
  exponent: number,
  precision: number,
  scale: number,
): boolean {
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return true;
  // value = digits × 10^shift
  const shift = exponent - fraction.length;
  const magnitude = digits.length + shift; // digits left of the point
  if (magnitude > precision - scale + 1) return false;
  if (magnitude < -scale - 1) return true; // rounds to 0
  const units = shift + scale; // value in units of 10^-scale = digits × 10^units
  let n = BigInt(digits);
  if (units >= 0) n *= 10n ** BigInt(units);
  else {
    const divisor = 10n ** BigInt(-units);
    n = (n + divisor / 2n) / divisor;
  }
  return n < 10n ** BigInt(precision);
}

function checkTimestamp(v: unknown): string | undefined {
  if (typeof v === 'number') {
    return Number.isFinite(v) && v >= TIMESTAMP_MIN_SECONDS && v < TIMESTAMP_MAX_SECONDS
      ? undefined
      : `${describe(v)} is out of TIMESTAMP range`;
  }
  if (typeof v !== 'string') return expected(`TIMESTAMP (${TIMESTAMP_FORMAT})`, v);
  const m = TIMESTAMP_TEXT.exec(v);
  if (m !== null && validDate(m[1], m[2], m[3]) && validTime(m[4], m[5], m[6])) return undefined;
  const text = v.trim();
  if (m === null && text !== '' && Number.isFinite(Number(text)))
    return checkTimestamp(Number(text));
  return expected(`TIMESTAMP (${TIMESTAMP_FORMAT})`, v);
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(y: string | undefined, mo: string | undefined, d: string | undefined): boolean {
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0));
}

function validTime(h: string | undefined, m: string | undefined, s: string | undefined): boolean {
  if (h === undefined) return true;
  return Number(h) <= 23 && Number(m) <= 59 && Number(s ?? 0) <= 59;
}

function expected(type: string, value: unknown): string {
  return `expected ${type}, got ${describe(value)}`;
}

/** A short JSON rendering of a value for messages (at most about 64 characters). */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (isRecord(value)) return 'an object';
  const text = JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
