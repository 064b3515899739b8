/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logging port libraries accept. pino's logger satisfies it; libraries never log unless
 * given one (the default is {@link silentLogger}).
 */
export interface Logger {
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  child(bindings: LogFields): Logger;
}

const noop = (): void => undefined;

/** A logger that discards everything; the default for every library component. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
