import { readFile } from 'node:fs/promises';
import { TributaryError } from '@tributary/messagepipeline';

/** A column mode; a field without one is `NULLABLE`. */
export type FieldMode = 'NULLABLE' | 'REQUIRED' | 'REPEATED';

/**
 * One column of a BigQuery table schema, as the REST API and `bq show --schema` write it. Legacy
 * type names (`INTEGER`, `FLOAT`, `BOOLEAN`, `STRUCT`) are accepted and mean the same as the
 * standard ones.
 */
export interface TableField {
  readonly name: string;
  readonly type: string;
  /** @defaultValue `NULLABLE` */
  readonly mode?: FieldMode | undefined;
  /** The fields of a `RECORD`. */
  readonly fields?: readonly TableField[] | undefined;
  readonly description?: string | undefined;
  /** NUMERIC / BIGNUMERIC precision (decimal digits), as BigQuery's string. */
  readonly precision?: string | undefined;
  /** NUMERIC / BIGNUMERIC scale (fraction digits), as BigQuery's string. */
  readonly scale?: string | undefined;
  /** Longest STRING (characters) or BYTES (bytes), as BigQuery's string. */
  readonly maxLength?: string | undefined;
}

/** A table schema: its top-level fields. */
export interface TableSchema {
  readonly fields: readonly TableField[];
}

/** The standard name of every column type this package handles. */
export type ColumnType =
  | 'STRING'
  | 'BYTES'
  | 'INT64'
  | 'FLOAT64'
  | 'NUMERIC'
  | 'BIGNUMERIC'
  | 'BOOL'
  | 'TIMESTAMP'
  | 'DATE'
  | 'TIME'
  | 'DATETIME'
  | 'GEOGRAPHY'
  | 'JSON'
  | 'RECORD';

const TYPE_ALIASES: Readonly<Record<string, ColumnType>> = {
  STRING: 'STRING',
  BYTES: 'BYTES',
  INTEGER: 'INT64',
  INT64: 'INT64',
  FLOAT: 'FLOAT64',
  FLOAT64: 'FLOAT64',
  NUMERIC: 'NUMERIC',
  DECIMAL: 'NUMERIC',
  BIGNUMERIC: 'BIGNUMERIC',
  BIGDECIMAL: 'BIGNUMERIC',
  BOOLEAN: 'BOOL',
  BOOL: 'BOOL',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  TIME: 'TIME',
  DATETIME: 'DATETIME',
  GEOGRAPHY: 'GEOGRAPHY',
  JSON: 'JSON',
  RECORD: 'RECORD',
  STRUCT: 'RECORD',
};

/** The standard name of a BigQuery type name (legacy or standard); `undefined` if unknown. */
export function columnType(type: string): ColumnType | undefined {
  return TYPE_ALIASES[type.toUpperCase()];
}

/** BigQuery's column name rule: letters, digits and underscores, not starting with a digit. */
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;
const MODES: ReadonlySet<string> = new Set(['NULLABLE', 'REQUIRED', 'REPEATED']);

/**
 * Checks a value read from a BigQuery JSON schema file: an array of fields, or an object with
 * `fields` (a table resource's `schema`). Every problem is listed, each with its field path.
 * @throws `TributaryError` `CONFIG_INVALID` listing the problems.
 */
export function parseTableSchema(value: unknown, source = 'schema'): TableSchema {
  const fields = Array.isArray(value)
    ? (value as unknown[])
    : isRecord(value) && Array.isArray(value['fields'])
      ? (value['fields'] as unknown[])
      : undefined;
  if (fields === undefined) {
    throw configInvalid(source, ['expected an array of fields or an object with "fields"']);
  }
  const problems: string[] = [];
  const parsed = parseFields(fields, '', problems);
  if (parsed.length === 0 && problems.length === 0) problems.push('the schema has no fields');
  if (problems.length > 0) throw configInvalid(source, problems);
  return { fields: parsed };
}

function parseFields(fields: readonly unknown[], prefix: string, problems: string[]): TableField[] {
  const out: TableField[] = [];
  const seen = new Set<string>();
  fields.forEach((raw, index) => {
    const at = `${prefix}[${index}]`;
    if (!isRecord(raw)) {
      problems.push(`${at}: expected an object`);
      return;
    }
    const name = raw['name'];
    if (typeof name !== 'string' || !COLUMN_NAME.test(name)) {
      problems.push(`${at}: name ${JSON.stringify(name)} is not a valid column name`);
      return;
    }
    const path = `${prefix}${name}`;
    if (seen.has(name.toLowerCase())) problems.push(`${path}: duplicate column name`);
    seen.add(name.toLowerCase());
    const type = typeof raw['type'] === 'string' ? columnType(raw['type']) : undefined;
    if (type === undefined) {
      problems.push(`${path}: unknown type ${JSON.stringify(raw['type'])}`);
      return;
    }
    const mode = raw['mode'] ?? 'NULLABLE';
    if (typeof mode !== 'string' || !MODES.has(mode.toUpperCase())) {
      problems.push(`${path}: unknown mode ${JSON.stringify(mode)}`);
      return;
    }
    const field: Record<string, unknown> = { ...raw, mode: mode.toUpperCase() };
    if (type === 'RECORD') {
      const children = raw['fields'];
      if (!Array.isArray(children) || children.length === 0) {
        problems.push(`${path}: a RECORD needs "fields"`);
        return;
      }
      field['fields'] = parseFields(children as unknown[], `${path}.`, problems);
    }
    out.push(field as unknown as TableField);
  });
  return out;
}

/**
 * Reads a BigQuery JSON schema file (the format of `bq show --schema --format=prettyjson`).
 * @throws `TributaryError` `CONFIG_INVALID` naming the file and every problem.
 */
export async function loadSchemaFile(path: string): Promise<TableSchema> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw configInvalid(path, [`cannot be read: ${(error as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw configInvalid(path, [`is not JSON: ${(error as Error).message}`]);
  }
  return parseTableSchema(value, path);
}

/** Options for {@link schemaFromJsonSchema}. */
export interface JsonSchemaOptions {
  /**
   * `nullable`: every column is NULLABLE (or REPEATED), whatever the JSON Schema's `required` says,
   * so a producer that starts omitting a field never fails its rows. `required`: a property the
   * JSON Schema lists in `required` becomes a REQUIRED column.
   * @defaultValue `nullable`
   */
  readonly required?: 'nullable' | 'required' | undefined;
}

/**
 * Derives a table schema from a JSON Schema object (for zod: `z.toJSONSchema(schema)`).
 * `string` → STRING (format `date-time` → TIMESTAMP, `date` → DATE, `time` → TIME,
 * `contentEncoding: base64` → BYTES), `integer` → INT64, `number` → FLOAT64, `boolean` → BOOL,
 * an object with `properties` → RECORD, an object without → JSON, `array` → REPEATED of its
 * `items`. `"x-bigquery-type"` on a property overrides the type; a nullable union (`anyOf` with
 * `null`, or `type: [T, "null"]`) is its non-null branch.
 * @throws `TributaryError` `CONFIG_INVALID` listing what cannot be mapped.
 */
export function schemaFromJsonSchema(
  jsonSchema: unknown,
  options: JsonSchemaOptions = {},
): TableSchema {
  const problems: string[] = [];
  const requiredMode = options.required ?? 'nullable';
  if (!isRecord(jsonSchema) || !isRecord(jsonSchema['properties'])) {
    throw configInvalid('JSON Schema', ['expected an object schema with "properties"']);
  }
  const fields = fieldsOfObject(jsonSchema, '', requiredMode, problems);
  if (problems.length > 0) throw configInvalid('JSON Schema', problems);
  return { fields };
}

function fieldsOfObject(
  schema: Record<string, unknown>,
  prefix: string,
  requiredMode: 'nullable' | 'required',
  problems: string[],
): TableField[] {
  const properties = schema['properties'] as Record<string, unknown>;
  const required = new Set(
    Array.isArray(schema['required']) ? (schema['required'] as string[]) : [],
  );
  const out: TableField[] = [];
  for (const [name, property] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if (!COLUMN_NAME.test(name)) {
      problems.push(`${path}: not a valid column name`);
      continue;
    }
    const field = fieldOf(name, property, path, requiredMode, problems);
    if (field === undefined) continue;
    const mode: FieldMode =
      field.mode === 'REPEATED'
        ? 'REPEATED'
        : requiredMode === 'required' && required.has(name)
          ? 'REQUIRED'
          : 'NULLABLE';
    out.push({ ...field, mode });
  }
  return out;
}

function fieldOf(
  name: string,
  raw: unknown,
  path: string,
  requiredMode: 'nullable' | 'required',
  problems: string[],
): TableField | undefined {
  const schema = nonNull(raw);
  if (schema === undefined) {
    problems.push(`${path}: cannot map ${JSON.stringify(raw)} to a column type`);
    return undefined;
  }
  const description = typeof schema['description'] === 'string' ? schema['description'] : undefined;
  const base = description === undefined ? { name } : { name, description };
  const override = schema['x-bigquery-type'];
  if (typeof override === 'string') {
    const type = columnType(override);
    if (type === undefined || type === 'RECORD') {
      problems.push(`${path}: unknown x-bigquery-type ${JSON.stringify(override)}`);
      return undefined;
    }
    return { ...base, type };
  }
  const type = schema['type'];
  switch (type) {
    case 'string': {
      const format = schema['format'];
      if (schema['contentEncoding'] === 'base64') return { ...base, type: 'BYTES' };
      if (format === 'date-time') return { ...base, type: 'TIMESTAMP' };
      if (format === 'date') return { ...base, type: 'DATE' };
      if (format === 'time') return { ...base, type: 'TIME' };
      return { ...base, type: 'STRING' };
    }
    case 'integer':
      return { ...base, type: 'INT64' };
    case 'number':
      return { ...base, type: 'FLOAT64' };
    case 'boolean':
      return { ...base, type: 'BOOL' };
    case 'object':
      if (!isRecord(schema['properties']) || Object.keys(schema['properties']).length === 0) {
        return { ...base, type: 'JSON' };
      }
      return {
        ...base,
        type: 'RECORD',
        fields: fieldsOfObject(schema, `${path}.`, requiredMode, problems),
      };
    case 'array': {
      const items = nonNull(schema['items']);
      if (items === undefined || items['type'] === 'array') {
        problems.push(`${path}: an array needs non-array "items" (BigQuery has no nested arrays)`);
        return undefined;
      }
      const element = fieldOf(name, items, `${path}[]`, requiredMode, problems);
      return element === undefined ? undefined : { ...element, ...base, mode: 'REPEATED' };
    }
    default:
      problems.push(`${path}: cannot map type ${JSON.stringify(type)} to a column type`);
      return undefined;
  }
}

/** The non-null branch of a nullable schema, or the schema itself. */
function nonNull(raw: unknown): Record<string, unknown> | undefined {
  if (!isRecord(raw)) return undefined;
  const type = raw['type'];
  if (Array.isArray(type)) {
    const rest = type.filter((t) => t !== 'null');
    return rest.length === 1 ? { ...raw, type: rest[0] } : undefined;
  }
  const union = raw['anyOf'] ?? raw['oneOf'];
  if (Array.isArray(union)) {
    const rest = (union as unknown[]).filter(
      (branch) => !(isRecord(branch) && branch['type'] === 'null'),
    );
    if (rest.length !== 1) return undefined;
    const branch = rest[0];
    return isRecord(branch) ? { ...branch, description: raw['description'] } : undefined;
  }
  return raw;
}

function configInvalid(source: string, problems: readonly string[]): TributaryError {
  return TributaryError.permanent('CONFIG_INVALID', `${source}: ${problems.join('; ')}`);
}

/** A plain JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
