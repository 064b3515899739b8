import { BigQueryApiError } from './errors.js';
import { normalizeScalar } from './row-validation.js';
import { quoteIdent, type FieldKind } from './schema-mapping.js';

/** `QueryParameterType` of the REST API. */
interface ParameterType {
  readonly type?: string;
  readonly arrayType?: ParameterType;
  readonly structTypes?: readonly { readonly name?: string; readonly type?: ParameterType }[];
}

/** `QueryParameterValue` of the REST API. */
interface ParameterValue {
  readonly value?: string | null;
  readonly arrayValues?: readonly ParameterValue[];
  readonly structValues?: Readonly<Record<string, ParameterValue>>;
}

/**
 * Query parameters ready for DuckDB: each becomes `$n` bound to text, wrapped in a CAST to its
 * type (arrays and structs travel as JSON text).
 */
export interface BoundParameters {
  readonly values: (string | null)[];
  named(name: string): string | undefined;
  positional(index: number): string | undefined;
}

const scalarKinds: Readonly<Record<string, FieldKind>> = {
  INT64: 'INTEGER',
  INTEGER: 'INTEGER',
  FLOAT64: 'FLOAT',
  FLOAT: 'FLOAT',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  STRING: 'STRING',
  BYTES: 'BYTES',
  NUMERIC: 'NUMERIC',
  BIGNUMERIC: 'NUMERIC',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  JSON: 'JSON',
  GEOGRAPHY: 'GEOGRAPHY',
};

const duckScalar: Readonly<Record<FieldKind, string>> = {
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  STRING: 'VARCHAR',
  BYTES: 'VARCHAR',
  NUMERIC: 'DECIMAL(38,9)',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'TIMESTAMP',
  JSON: 'JSON',
  GEOGRAPHY: 'VARCHAR',
  RECORD: 'VARCHAR',
};

/** Binds `queryParameters` for `parameterMode` NAMED or POSITIONAL. */
export function bindParameters(mode: unknown, parameters: unknown): BoundParameters {
  const list = Array.isArray(parameters) ? (parameters as unknown[]) : [];
  const values: (string | null)[] = [];
  const byName = new Map<string, string>();
  const byIndex: string[] = [];
  const named = typeof mode === 'string' && mode.toUpperCase() === 'NAMED';
  for (const raw of list) {
    const parameter = (raw ?? {}) as {
      name?: unknown;
      parameterType?: ParameterType;
      parameterValue?: ParameterValue;
    };
    const type = parameter.parameterType ?? {};
    const label = typeof parameter.name === 'string' ? parameter.name : `#${byIndex.length + 1}`;
    values.push(encodeValue(type, parameter.parameterValue, label));
    const sql = placeholder(type, values.length, label);
    if (named || typeof parameter.name === 'string') byName.set(label.toLowerCase(), sql);
    byIndex.push(sql);
  }
  return {
    values,
    named: (name) => byName.get(name.toLowerCase()),
    positional: (index) => byIndex[index],
  };
}

function placeholder(type: ParameterType, index: number, label: string): string {
  const name = (type.type ?? 'STRING').toUpperCase();
  if (name === 'ARRAY' || name === 'STRUCT')
    return `CAST(CAST($${index} AS JSON) AS ${duckType(type, label)})`;
  if (name === 'BYTES') return `from_base64(CAST($${index} AS VARCHAR))`;
  return `CAST($${index} AS ${duckType(type, label)})`;
}

function duckType(type: ParameterType, label: string): string {
  const name = (type.type ?? 'STRING').toUpperCase();
  if (name === 'ARRAY') {
    if (type.arrayType === undefined)
      throw BigQueryApiError.invalidQuery(`Query parameter ${label}: ARRAY without arrayType`);
    return `${duckType(type.arrayType, label)}[]`;
  }
  if (name === 'STRUCT') {
    const members = (type.structTypes ?? []).map(
      (member, index) =>
        `${quoteIdent(member.name ?? `_field_${index + 1}`)} ${duckType(member.type ?? {}, label)}`,
    );
    return `STRUCT(${members.join(', ')})`;
  }
  const kind = scalarKinds[name];
  if (kind === undefined)
    throw BigQueryApiError.invalidQuery(`Query parameter ${label}: unsupported type ${name}`);
  return kind === 'BYTES' ? 'BLOB' : duckScalar[kind];
}

/** The text bound for a parameter: the scalar's normalised text, or JSON for arrays and structs. */
function encodeValue(
  type: ParameterType,
  value: ParameterValue | undefined,
  label: string,
): string | null {
  const name = (type.type ?? 'STRING').toUpperCase();
  if (name === 'ARRAY' || name === 'STRUCT') {
    const json = toJson(type, value, label);
    return json === null ? null : JSON.stringify(json);
  }
  const scalar = scalarValue(type, value, label);
  return scalar === null ? null : typeof scalar === 'string' ? scalar : JSON.stringify(scalar);
}

function toJson(type: ParameterType, value: ParameterValue | undefined, label: string): unknown {
  const name = (type.type ?? 'STRING').toUpperCase();
  if (value === undefined) return null;
  if (name === 'ARRAY') {
    if (value.arrayValues === undefined) return value.value === null ? null : [];
    return value.arrayValues.map((item) => toJson(type.arrayType ?? {}, item, label));
  }
  if (name === 'STRUCT') {
    if (value.structValues === undefined) return null;
    const record: Record<string, unknown> = {};
    for (const [index, member] of (type.structTypes ?? []).entries()) {
      const memberName = member.name ?? `_field_${index + 1}`;
      record[memberName] = toJson(member.type ?? {}, value.structValues[memberName], label);
    }
    return record;
  }
  const scalar = scalarValue(type, value, label);
  if (name === 'BYTES' && typeof scalar === 'string') {
    return Buffer.from(scalar, 'base64').toString('latin1');
  }
  return scalar;
}

function scalarValue(
  type: ParameterType,
  value: ParameterValue | undefined,
  label: string,
): unknown {
  const raw = value?.value;
  if (raw === undefined || raw === null) return null;
  const kind = scalarKinds[(type.type ?? 'STRING').toUpperCase()];
  if (kind === undefined)
    throw BigQueryApiError.invalidQuery(
      `Query parameter ${label}: unsupported type ${String(type.type)}`,
    );
  if (kind === 'STRING' || kind === 'GEOGRAPHY') return raw;
  if (kind === 'JSON') return raw;
  const normalized = normalizeScalar(kind, raw);
  if (normalized === undefined) {
    throw BigQueryApiError.invalidQuery(
      `Invalid value for query parameter ${label} of type ${kind}: ${raw}`,
    );
  }
  return normalized;
}
