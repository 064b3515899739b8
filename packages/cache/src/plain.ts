import { DocumentReference, GeoPoint, Timestamp } from '@google-cloud/firestore';

/**
 * Firestore values as plain JSON: Timestamps become ISO strings, GeoPoints
 * `{ latitude, longitude }`, references their path, bytes base64; the rest as it is.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Timestamp) return value.toDate().toISOString();
  if (value instanceof GeoPoint) return { latitude: value.latitude, longitude: value.longitude };
  if (value instanceof DocumentReference) return value.path;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = toPlain(field);
  return out;
}
