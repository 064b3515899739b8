import { InvalidArgumentError } from '../errors.js';
import { pubsubNameProblem } from './resource-names.js';

/**
 * Checks a Pub/Sub topic or subscription id, or full name (`projects/<p>/topics/<id>`), against
 * the rules the service enforces ({@link pubsubNameProblem}); throws naming the option otherwise.
 */
export function resolveName(option: string, value: string | undefined): string {
  if (value === undefined || value === '') throw InvalidArgumentError.for(option, 'is required');
  const problem = pubsubNameProblem(value);
  if (problem !== undefined) {
    throw InvalidArgumentError.for(option, `is not a valid Pub/Sub name: ${problem}`);
  }
  return value;
}
