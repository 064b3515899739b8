/** Calendar and clock helpers shared by row validation and value encoding; all UTC, microseconds. */

const MICROS_PER_MS = 1000n;
const MICROS_PER_DAY = 86_400_000_000n;

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Microseconds since the epoch of a calendar date and time, or undefined if it does not exist. */
export function civilToMicros(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  micros: number,
): bigint | undefined {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, 0);
  return BigInt(date.getTime()) * MICROS_PER_MS + BigInt(micros);
}

/** Six fractional digits from a fraction written with up to 12 digits (`"5"` gives 500000). */
export function fractionToMicros(fraction: string | undefined): number {
  if (fraction === undefined || fraction === '') return 0;
  return Number(fraction.slice(0, 6).padEnd(6, '0'));
}

function split(micros: bigint): { date: Date; fraction: number } {
  let ms = micros / MICROS_PER_MS;
  let fraction = Number(micros % 1_000_000n);
  if (fraction < 0) fraction += 1_000_000;
  if (micros < 0n && micros % MICROS_PER_MS !== 0n) ms -= 1n;
  const date = new Date(Number(ms));
  date.setUTCMilliseconds(0);
  return { date, fraction };
}

function datePart(date: Date): string {
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

function timePart(hours: number, minutes: number, seconds: number, fraction: number): string {
  const base = `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}`;
  return fraction === 0 ? base : `${base}.${pad(fraction, 6)}`;
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, a TIMESTAMPTZ literal DuckDB reads. */
export function microsToTimestampLiteral(micros: bigint): string {
  const { date, fraction } = split(micros);
  return `${datePart(date)} ${timePart(date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), fraction)}+00`;
}

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]`: BigQuery's DATETIME text. */
export function microsToDatetime(micros: bigint): string {
  const { date, fraction } = split(micros);
  return `${datePart(date)}T${timePart(date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), fraction)}`;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`: the ISO form of a TIMESTAMP. */
export function microsToIso(micros: bigint): string {
  const { date, fraction } = split(micros);
  return `${datePart(date)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(fraction, 6)}Z`;
}

/** Float seconds since the epoch as exact decimal text, such as `1767225600.123456`. */
export function microsToSeconds(micros: bigint): string {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  const whole = magnitude / 1_000_000n;
  const fraction = (magnitude % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole.toString()}${fraction === '' ? '' : `.${fraction}`}`;
}

/** `HH:MM:SS[.ffffff]` of microseconds since midnight. */
export function microsToTime(micros: bigint): string {
  const total = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const seconds = Number(total / 1_000_000n);
  return timePart(
    Math.floor(seconds / 3600),
    Math.floor(seconds / 60) % 60,
    seconds % 60,
    Number(total % 1_000_000n),
  );
}
