import {
  DuckDBArrayType,
  DuckDBListType,
  DuckDBStructType,
  DuckDBTypeId,
  type DuckDBType,
} from '@duckdb/node-api';
import { BigQueryApiError } from './errors.js';

/** BigQuery column types, in the legacy names the REST API answers with. */
export type FieldKind =
  | 'STRING'
  | 'BYTES'
  | 'INTEGER'
  | 'FLOAT'
  | 'NUMERIC'
  | 'BOOLEAN'
  | 'TIMESTAMP'
  | 'DATE'
  | 'TIME'
  | 'DATETIME'
  | 'JSON'
  | 'GEOGRAPHY'
  | 'RECORD';

export type FieldMode = 'NULLABLE' | 'REQUIRED' | 'REPEATED';

/** A validated schema field. */
export interface Field {
  readonly name: string;
  readonly kind: FieldKind;
  readonly mode: FieldMode;
  /** Sub-fields of a RECORD; empty otherwise. */
  readonly fields: readonly Field[];
  /** NUMERIC precision and scale (`NUMERIC(P, S)`), when the schema set them. */
  readonly decimal?: DecimalBounds | undefined;
  /** Longest STRING (characters) or BYTES (bytes) value (`STRING(L)`), when the schema set it. */
  readonly maxLength?: number | undefined;
}

/** The precision and scale of a parameterized NUMERIC column. */
export interface DecimalBounds {
  readonly precision: number;
  readonly scale: number;
}

/** A schema field as the REST API shows it (`TableFieldSchema`). */
export interface FieldResource {
  readonly name: string;
  readonly type: string;
  readonly mode?: string | undefined;
  readonly fields?: readonly FieldResource[] | undefined;
  readonly description?: string | undefined;
  readonly precision?: string | undefined;
  readonly scale?: string | undefined;
  readonly maxLength?: string | undefined;
}

const kindAliases: Readonly<Record<string, FieldKind>> = {
  STRING: 'STRING',
  BYTES: 'BYTES',
  INTEGER: 'INTEGER',
  INT64: 'INTEGER',
  FLOAT: 'FLOAT',
  FLOAT64: 'FLOAT',
  NUMERIC: 'NUMERIC',
  DECIMAL: 'NUMERIC',
  BOOLEAN: 'BOOLEAN',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  JSON: 'JSON',
  GEOGRAPHY: 'GEOGRAPHY',
  RECORD: 'RECORD',
  STRUCT: 'RECORD',
};

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

/** The DuckDB column type of each BigQuery type (without REPEATED). */
const duckTypes: Readonly<Record<Exclude<FieldKind, 'RECORD'>, string>> = {
  STRING: 'VARCHAR',
  BYTES: 'BLOB',
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'TIMESTAMP',
  JSON: 'JSON',
  GEOGRAPHY: 'VARCHAR',
};

/**
 * Validates a REST schema (`{fields:[…]}`) and returns the fields.
 * @throws {@link BigQueryApiError} `invalid` for unknown types, bad names, duplicates, empty RECORDs.
 */
export function parseSchema(schema: unknown): Field[] {
  if (schema === undefined || schema === null) return [];
  if (typeof schema !== 'object') throw BigQueryApiError.invalid('Invalid schema');
  const fields = (schema as { fields?: unknown }).fields;
  if (fields === undefined) return [];
  return parseFields(fields, '');
}

function parseFields(raw: unknown, parent: string): Field[] {
  if (!Array.isArray(raw)) throw BigQueryApiError.invalid('Schema fields must be an array');
  const seen = new Set<string>();
  return raw.map((item: unknown) => {
    const field = parseField(item, parent);
    const key = field.name.toLowerCase();
    if (seen.has(key)) {
      throw BigQueryApiError.invalid(`Field ${parent}${field.name} already exists in schema`);
    }
    seen.add(key);
    return field;
  });
}

function parseField(raw: unknown, parent: string): Field {
  if (typeof raw !== 'object' || raw === null) throw BigQueryApiError.invalid('Invalid field');
  const { name, type, mode, fields, precision, scale, maxLength } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || !FIELD_NAME.test(name)) {
    throw BigQueryApiError.invalid(
      `Invalid field name "${String(name)}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`,
    );
  }
  const path = `${parent}${name}`;
  const kind = typeof type === 'string' ? kindAliases[type.toUpperCase()] : undefined;
  if (kind === undefined) {
    throw BigQueryApiError.invalid(`Invalid value for type: ${String(type)} is not a valid value`);
  }
  const modeName =
    mode === undefined || mode === null
      ? 'NULLABLE'
      : typeof mode === 'string'
        ? mode.toUpperCase()
        : '';
  if (modeName !== 'NULLABLE' && modeName !== 'REQUIRED' && modeName !== 'REPEATED') {
    throw BigQueryApiError.invalid(
      `Invalid value for mode: ${JSON.stringify(mode)} is not a valid value`,
    );
  }
  let children: Field[] = [];
  if (kind === 'RECORD') {
    children = fields === undefined ? [] : parseFields(fields, `${path}.`);
    if (children.length === 0) {
      throw BigQueryApiError.invalid(`Field ${path} is type RECORD but has no schema`);
    }
  }
  const decimal = parseDecimalBounds(path, kind, precision, scale);
  const length = parseMaxLength(path, kind, maxLength);
  return {
    name,
    kind,
    mode: modeName,
    fields: children,
    ...(decimal === undefined ? {} : { decimal }),
    ...(length === undefined ? {} : { maxLength: length }),
  };
}

/**
 * `precision` and `scale` of a field, checked as the REST reference (`TableFieldSchema`) states:
 * only for NUMERIC; scale needs precision; with both, 1 ≤ precision − scale ≤ 29 and
 * 0 ≤ scale ≤ 9; precision alone (scale 0) is 1 to 29.
 */
function parseDecimalBounds(
  path: string,
  kind: FieldKind,
  precision: unknown,
  scale: unknown,
): DecimalBounds | undefined {
  if (precision === undefined && scale === undefined) return undefined;
  const p = int64Of(precision);
  const s = scale === undefined ? 0 : int64Of(scale);
  if (kind !== 'NUMERIC') {
    throw BigQueryApiError.invalid(
      `Field ${path}: precision and scale are only allowed for NUMERIC and BIGNUMERIC fields.`,
    );
  }
  if (p === undefined || s === undefined) {
    throw BigQueryApiError.invalid(
      `Field ${path}: scale cannot be specified without precision, and both must be integers.`,
    );
  }
  if (s < 0 || s > 9 || p - s < 1 || p - s > 29) {
    throw BigQueryApiError.invalid(
      `Field ${path}: invalid NUMERIC precision ${p} and scale ${s}; 1 <= precision - scale <= 29 and 0 <= scale <= 9 are required.`,
    );
  }
  return { precision: p, scale: s };
}

/**
 * `maxLength` of a field, as the REST reference (`TableFieldSchema`) states: only for STRING
 * (characters) and BYTES (bytes), a positive integer.
 */
function parseMaxLength(path: string, kind: FieldKind, maxLength: unknown): number | undefined {
  if (maxLength === undefined) return undefined;
  if (kind !== 'STRING' && kind !== 'BYTES') {
    throw BigQueryApiError.invalid(
      `Field ${path}: maxLength is only allowed for STRING and BYTES fields.`,
    );
  }
  const length = int64Of(maxLength);
  if (length === undefined || length < 1) {
    throw BigQueryApiError.invalid(`Field ${path}: maxLength must be a positive integer.`);
  }
  return length;
}

/** An int64 field of a REST body, sent as a JSON number or a decimal string. */
function int64Of(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) ? number : undefined;
}

interface FieldSource {
  readonly name?: unknown;
  readonly mode?: unknown;
  readonly description?: unknown;
  readonly fields?: unknown;
}

/**
 * The REST shape of validated fields, in BigQuery's legacy type names. With `raw` (the fields of
 * the request that made the schema) a mode is shown only where the request gave one, as
 * BigQuery echoes schemas; descriptions come from `raw` too. Without `raw` (query results)
 * every field shows its mode.
 */
export function toFieldResources(fields: readonly Field[], raw?: unknown): FieldResource[] {
  const sources = new Map<string, FieldSource>();
  if (Array.isArray(raw)) {
    for (const item of raw as unknown[]) {
      const source = item as FieldSource | null;
      if (typeof source?.name === 'string') sources.set(source.name.toLowerCase(), source);
    }
  }
  return fields.map((field) => {
    const source = sources.get(field.name.toLowerCase());
    const description = typeof source?.description === 'string' ? source.description : undefined;
    const showMode = source === undefined || (source.mode !== undefined && source.mode !== null);
    return {
      name: field.name,
      type: field.kind,
      ...(showMode ? { mode: field.mode } : {}),
      ...(field.kind === 'RECORD'
        ? { fields: toFieldResources(field.fields, source?.fields) }
        : {}),
      ...(description === undefined ? {} : { description }),
      ...(field.decimal === undefined
        ? {}
        : { precision: String(field.decimal.precision), scale: String(field.decimal.scale) }),
      ...(field.maxLength === undefined ? {} : { maxLength: String(field.maxLength) }),
    };
  });
}

/** Double-quotes a DuckDB identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Single-quotes a DuckDB string literal. */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The DuckDB column type of a field, REPEATED as a LIST. */
export function duckColumnType(field: Field): string {
  const element =
    field.kind === 'RECORD'
      ? `STRUCT(${field.fields.map((child) => `${quoteIdent(child.name)} ${duckColumnType(child)}`).join(', ')})`
      : duckScalarType(field);
  return field.mode === 'REPEATED' ? `${element}[]` : element;
}

function duckScalarType(field: Field): string {
  if (field.kind === 'RECORD') return 'VARCHAR';
  const { decimal } = field;
  return decimal === undefined
    ? duckTypes[field.kind]
    : `DECIMAL(${decimal.precision},${decimal.scale})`;
}

/**
 * The `from_json` structure of a row: each field's DuckDB type, with BYTES read as VARCHAR (base64)
 * and decoded by {@link insertExpression}.
 */
export function jsonStructure(fields: readonly Field[]): Record<string, unknown> {
  const structure: Record<string, unknown> = {};
  for (const field of fields) structure[field.name] = fieldStructure(field);
  return structure;
}

function fieldStructure(field: Field): unknown {
  const element =
    field.kind === 'RECORD'
      ? jsonStructure(field.fields)
      : field.kind === 'BYTES'
        ? 'VARCHAR'
        : duckScalarType(field);
  return field.mode === 'REPEATED' ? [element] : element;
}

function containsBytes(field: Field): boolean {
  return field.kind === 'BYTES' || field.fields.some(containsBytes);
}

/**
 * The SQL expression that turns `source` (a value read by `from_json` with
 * {@link jsonStructure}) into the column's type: decodes base64 BYTES, anywhere in the nesting.
 */
export function insertExpression(field: Field, source: string, depth = 0): string {
  if (!containsBytes(field)) return source;
  if (field.mode === 'REPEATED') {
    const item = `x${depth}`;
    const inner = insertExpression({ ...field, mode: 'NULLABLE' }, item, depth + 1);
    return `list_transform(${source}, ${item} -> ${inner})`;
  }
  if (field.kind === 'BYTES') return `from_base64(${source})`;
  const members = field.fields.map(
    (child) =>
      `${quoteIdent(child.name)} := ${insertExpression(child, `${source}.${quoteIdent(child.name)}`, depth + 1)}`,
  );
  return `CASE WHEN ${source} IS NULL THEN NULL ELSE struct_pack(${members.join(', ')}) END`;
}

const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The BigQuery fields of a DuckDB result (a query's, or a view's): BigQuery names unnamed result
 * columns f0_, f1_, …; DuckDB names them after the expression.
 */
export function fieldsOfResult(
  names: readonly string[],
  types: readonly (DuckDBType | undefined)[],
): Field[] {
  let anonymous = 0;
  return names.map((name, index) => {
    const type = types[index];
    const fieldName = PLAIN_NAME.test(name) ? name : `f${anonymous++}_`;
    if (type === undefined)
      return { name: fieldName, kind: 'STRING', mode: 'NULLABLE', fields: [] };
    return fieldFromDuckType(fieldName, type);
  });
}

/** A BigQuery result field for a DuckDB result column. */
export function fieldFromDuckType(name: string, type: DuckDBType): Field {
  if (type instanceof DuckDBListType || type instanceof DuckDBArrayType) {
    const element = fieldFromDuckType(name, type.valueType);
    // BigQuery has no arrays of arrays: nested lists come back as their text.
    if (element.mode === 'REPEATED') return { name, kind: 'STRING', mode: 'NULLABLE', fields: [] };
    return { ...element, mode: 'REPEATED' };
  }
  if (type instanceof DuckDBStructType) {
    return {
      name,
      kind: 'RECORD',
      mode: 'NULLABLE',
      fields: type.entryNames.map((entry, index) => {
        const entryType = type.entryTypes[index];
        return entryType === undefined
          ? { name: entry, kind: 'STRING', mode: 'NULLABLE', fields: [] }
          : fieldFromDuckType(entry, entryType);
      }),
    };
  }
  return { name, kind: scalarKind(type), mode: 'NULLABLE', fields: [] };
}

/** DuckDB scalar types and the BigQuery type they read as; any other reads as STRING (text). */
const kindsByDuckType: ReadonlyMap<DuckDBTypeId, FieldKind> = new Map<DuckDBTypeId, FieldKind>([
  [DuckDBTypeId.BOOLEAN, 'BOOLEAN'],
  [DuckDBTypeId.TINYINT, 'INTEGER'],
  [DuckDBTypeId.SMALLINT, 'INTEGER'],
  [DuckDBTypeId.INTEGER, 'INTEGER'],
  [DuckDBTypeId.BIGINT, 'INTEGER'],
  [DuckDBTypeId.HUGEINT, 'INTEGER'],
  [DuckDBTypeId.UTINYINT, 'INTEGER'],
  [DuckDBTypeId.USMALLINT, 'INTEGER'],
  [DuckDBTypeId.UINTEGER, 'INTEGER'],
  [DuckDBTypeId.UBIGINT, 'INTEGER'],
  [DuckDBTypeId.UHUGEINT, 'INTEGER'],
  [DuckDBTypeId.BIGNUM, 'INTEGER'],
  [DuckDBTypeId.FLOAT, 'FLOAT'],
  [DuckDBTypeId.DOUBLE, 'FLOAT'],
  [DuckDBTypeId.DECIMAL, 'NUMERIC'],
  [DuckDBTypeId.BLOB, 'BYTES'],
  [DuckDBTypeId.DATE, 'DATE'],
  [DuckDBTypeId.TIME, 'TIME'],
  [DuckDBTypeId.TIMESTAMP, 'DATETIME'],
  [DuckDBTypeId.TIMESTAMP_S, 'DATETIME'],
  [DuckDBTypeId.TIMESTAMP_MS, 'DATETIME'],
  [DuckDBTypeId.TIMESTAMP_NS, 'DATETIME'],
  [DuckDBTypeId.TIMESTAMP_TZ, 'TIMESTAMP'],
]);

function scalarKind(type: DuckDBType): FieldKind {
  if (type.alias?.toUpperCase() === 'JSON') return 'JSON';
  return kindsByDuckType.get(type.typeId) ?? 'STRING';
}
