import { InvalidArgumentError } from '../errors.js';

/**
 * Returns `value` when it is an integer in `[min, max]`; throws naming the option and the value
 * otherwise. The one integer check of every option resolver.
 * @throws {@link InvalidArgumentError}
 */
export function requireInteger(
  name: string,
  value: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw InvalidArgumentError.for(name, `must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/**
 * Returns `value` when it is a number in `[min, max]`, finite unless `allowInfinity`; throws
 * naming the option and the value otherwise. Durations in ms use it with `min` 0 or 1.
 * @throws {@link InvalidArgumentError}
 */
export function requireNumber(
  name: string,
  value: number,
  min = 0,
  options: { readonly max?: number; readonly allowInfinity?: boolean } = {},
): number {
  const max = options.max ?? Infinity;
  const finiteOk = Number.isFinite(value) || (options.allowInfinity === true && value === Infinity);
  if (!finiteOk || value < min || value > max) {
    const kind = options.allowInfinity === true ? 'number' : 'finite number';
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw InvalidArgumentError.for(name, `must be a ${kind} ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws unless `value` is a function. @throws {@link InvalidArgumentError} */
export function requireFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw InvalidArgumentError.for(name, 'must be a function');
}

/** Returns `value` when it is a non-empty string of at most `maxLength` characters. */
export function requireName(name: string, value: unknown, maxLength = 255): string {
  if (typeof value !== 'string' || value === '' || value.length > maxLength) {
    throw InvalidArgumentError.for(
      name,
      `must be a non-empty string of at most ${maxLength} characters`,
    );
  }
  return value;
}
