import { isRecord, type TableField } from './schema.js';

/**
 * The NULLABLE column a value suggests, for the `evolve` policy: boolean → BOOL, an integer →
 * INT64, another number → FLOAT64, a string → STRING, an object → RECORD of its inferable
 * fields, an array → REPEATED of its first element's type. `undefined` when nothing can be
 * inferred (null, an empty array or object, nested arrays); such a field is dropped from the row
 * until a value shows its type.
 */
export function inferField(name: string, value: unknown): TableField | undefined {
  if (Array.isArray(value)) {
    const first: unknown = value.find((item) => item !== null && item !== undefined);
    if (first === undefined || Array.isArray(first)) return undefined;
    const element = inferField(name, first);
    return element === undefined ? undefined : { ...element, mode: 'REPEATED' };
  }
  switch (typeof value) {
    case 'boolean':
      return { name, type: 'BOOL', mode: 'NULLABLE' };
    case 'number':
      return { name, type: Number.isInteger(value) ? 'INT64' : 'FLOAT64', mode: 'NULLABLE' };
    case 'string':
      return { name, type: 'STRING', mode: 'NULLABLE' };
    case 'bigint':
    case 'function':
    case 'object':
    case 'symbol':
    case 'undefined':
      break;
  }
  if (!isRecord(value)) return undefined;
  const fields: TableField[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(key)) continue;
    const field = inferField(key, child);
    if (field !== undefined) fields.push(field);
  }
  return fields.length === 0 ? undefined : { name, type: 'RECORD', mode: 'NULLABLE', fields };
}
