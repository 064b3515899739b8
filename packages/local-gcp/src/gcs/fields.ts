import { badRequest } from './errors.js';
import { stringObjectFields, type ObjectFields } from './model.js';
import { refuseEncryptionFields } from './refusals.js';
import type { ObjectPatch } from './store.js';

/** GCS's limit on the total size of an object's custom metadata keys and values ("Quotas & limits"). */
export const MAX_CUSTOM_METADATA_BYTES = 8 * 1024;

/** Reads the settable fields of an object resource sent by a client (upload metadata). */
export function readObjectFields(json: Record<string, unknown>): ObjectFields {
  refuseEncryptionFields(json);
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
  refuseEncryptionFields(json);
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

/**
 * Reads custom `metadata`, refusing more than {@link MAX_CUSTOM_METADATA_BYTES} of keys and
 * values (UTF-8) with 400, as GCS does. A patch is checked on what it sends.
 */
function readMetadata(value: unknown): Record<string, string | null> | null | undefined {
  const metadata = readStringMap(value, 'metadata');
  if (metadata === null || metadata === undefined) return metadata;
  let bytes = 0;
  for (const [key, entry] of Object.entries(metadata)) {
    bytes += Buffer.byteLength(key) + (entry === null ? 0 : Buffer.byteLength(entry));
  }
  if (bytes > MAX_CUSTOM_METADATA_BYTES) {
    throw badRequest(
      `The total size of custom metadata keys and values (${bytes} bytes) exceeds the limit of ${MAX_CUSTOM_METADATA_BYTES} bytes.`,
    );
  }
  return metadata;
}
