import { InvalidArgumentError } from '../errors.js';

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
