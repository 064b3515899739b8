import { badRequest, conditionNotMet, GcsError } from './errors.js';
import type { StoredObject } from './model.js';

/** The `if*Match` query parameters of one request, as decimal strings. */
export interface Preconditions {
  readonly ifGenerationMatch?: string | undefined;
  readonly ifGenerationNotMatch?: string | undefined;
  readonly ifMetagenerationMatch?: string | undefined;
  readonly ifMetagenerationNotMatch?: string | undefined;
}

const names = [
  'ifGenerationMatch',
  'ifGenerationNotMatch',
  'ifMetagenerationMatch',
  'ifMetagenerationNotMatch',
] as const;

/**
 * Reads the preconditions from a query. `source` reads the `ifSource*` variants that copy and
 * rewrite apply to their source object.
 */
export function readPreconditions(query: URLSearchParams, source = false): Preconditions {
  const result: Record<string, string> = {};
  for (const name of names) {
    const key = source ? name.replace(/^if/, 'ifSource') : name;
    const value = query.get(key);
    if (value === null || value === '') continue;
    if (!/^\d+$/.test(value)) throw badRequest(`Invalid value for ${key}: ${value}`);
    result[name] = BigInt(value).toString();
  }
  return result;
}

/** Whether any precondition is present. */
export function hasPreconditions(conditions: Preconditions): boolean {
  return names.some((name) => conditions[name] !== undefined);
}

/**
 * Throws a 412 `conditionNotMet` (or, for reads, a 304 when only a `NotMatch` condition fails,
 * as GCS does) unless `current` satisfies every condition. A missing object has generation 0
 * and fails every metageneration condition.
 */
export function checkPreconditions(
  current: StoredObject | undefined,
  conditions: Preconditions,
  read = false,
): void {
  const generation = current?.generation ?? '0';
  const metageneration = current === undefined ? undefined : String(current.metageneration);
  const {
    ifGenerationMatch,
    ifGenerationNotMatch,
    ifMetagenerationMatch,
    ifMetagenerationNotMatch,
  } = conditions;
  if (ifGenerationMatch !== undefined && ifGenerationMatch !== generation) throw conditionNotMet();
  if (ifMetagenerationMatch !== undefined && ifMetagenerationMatch !== metageneration) {
    throw conditionNotMet();
  }
  const notMatchFailed =
    (ifGenerationNotMatch !== undefined && ifGenerationNotMatch === generation) ||
    (ifMetagenerationNotMatch !== undefined &&
      (metageneration === undefined || ifMetagenerationNotMatch === metageneration));
  if (notMatchFailed) {
    throw read ? new GcsError(304, 'notModified', 'Not Modified') : conditionNotMet();
  }
}
