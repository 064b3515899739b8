import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test, worker or run uses at the same time: `prefix`, then the process id, a
 * counter and random characters, lowercase and joined by `separator`. With the default `-` it
 * suits Pub/Sub topics and subscriptions, GCS buckets (keep `prefix` short: 63 characters at
 * most), Firestore collections and MQTT topics; pass `_` for BigQuery datasets and tables.
 */
export function uniqueName(prefix: string, separator: '-' | '_' = '-'): string {
  counter += 1;
  return [prefix, process.pid.toString(36), counter.toString(36), randomBytes(3).toString('hex')]
    .join(separator)
    .toLowerCase();
}
