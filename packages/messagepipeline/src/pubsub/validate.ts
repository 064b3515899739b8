import { InvalidArgumentError } from '../errors.js';

/** Returns `value` when it is an integer of at least `min`; throws naming the option otherwise. */
export function positiveInteger(option: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw InvalidArgumentError.for(option, `must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** Checks a Pub/Sub resource id or full name (ids have at least 3 characters). */
export function resolveName(option: string, value: string | undefined): string {
  if (value === undefined || value === '') throw InvalidArgumentError.for(option, 'is required');
  const id = value.slice(value.lastIndexOf('/') + 1);
  if (id.length < 3 || id.length > 255) {
    throw InvalidArgumentError.for(
      option,
      `must name an id of 3 to 255 characters, got '${value}'`,
    );
  }
  return value;
}
