import { badRequest } from './errors.js';
import { stringObjectFields, type ObjectFields } from './model.js';
import type { ObjectPatch } from './store.js';

/** Reads the settable fields of an object resource sent by a client (upload metadata). */
export function readObjectFields(json: Record<string, unknown>): ObjectFields {
  const fields: Record<string, unknown> = {};
  for (const field of stringObjectFields) {
    const value = json[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw badRequest(`Invalid value for ${field}`);
    fields[field] = value;
  }
  const metadata = readMetadata(json['metadata']);
  if (metadata !== undefined && metadata !== null) {
    const clean: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata)) if (value !== null) clean[key] = value;
    fields['metadata'] = clean;
  }
  return fields;
}

/** Reads a `patch`/`update` body: fields present change, `null` removes. */
export function readObjectPatch(json: Record<string, unknown>): ObjectPatch {
  const patch: Record<string, unknown> = {};
  for (const field of stringObjectFields) {
    const value = json[field];
    if (value === undefined) continue;
    if (value !== null && typeof value !== 'string') throw badRequest(`Invalid value for ${field}`);
    patch[field] = value;
  }
  const metadata = readMetadata(json['metadata']);
  if (metadata !== undefined) patch['metadata'] = metadata;
  return patch;
}

/** Reads a `labels`-style map of strings (values may be `null` to delete). */
export function readStringMap(
  value: unknown,
  name: string,
): Record<string, string | null> | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || Array.isArray(value))
    throw badRequest(`Invalid value for ${name}`);
  const result: Record<string, string | null> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (entry === null) result[key] = null;
    else if (typeof entry === 'string' || typeof entry === 'number' || typeof entry === 'boolean') {
      result[key] = String(entry);
    } else {
      throw badRequest(`Invalid value for ${name}.${key}`);
    }
  }
  return result;
}

function readMetadata(value: unknown): Record<string, string | null> | null | undefined {
  return readStringMap(value, 'metadata');
}
