import { createRequire } from 'node:module';
import type { LogFields } from '@tributary/messagepipeline';
import { pino } from 'pino';
import type { LogLevel } from './config.js';

/** The logger an app gets: pino, which also satisfies messagepipeline's `Logger` port. */
export type AppLogger = pino.Logger;

/** A stream pino can write formatted lines to (tests pass one to capture output). */
export type LogDestination = pino.DestinationStream;

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Names the app on every line (`service` field). */
  readonly service: string;
  /** @defaultValue `'info'` */
  readonly level?: LogLevel | undefined;
  /**
   * Human-readable lines through pino-pretty (a devDependency: local runs only). Falls back to
   * JSON, with one warning, when pino-pretty is not installed. @defaultValue false
   */
  readonly pretty?: boolean | undefined;
  /** Paths redacted on top of {@link DEFAULT_REDACT_PATHS} (pino/fast-redact syntax). */
  readonly redactPaths?: readonly string[] | undefined;
  /** Fields added to every line. */
  readonly base?: LogFields | undefined;
  /** Where lines go. @defaultValue stdout, written synchronously (nothing lost on exit) */
  readonly destination?: LogDestination | undefined;
}

const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'Authorization',
  'cookie',
  'credentials',
  'privateKey',
  'private_key',
] as const;

/**
 * Field names redacted wherever they appear at the top level or one level down
 * (`password`, `*.password`, and so on), plus request headers.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
]);

/** pino level name to Cloud Logging `severity`. */
const SEVERITY: Readonly<Record<string, string>> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

const require = createRequire(import.meta.url);

/** pino-pretty's `prettyFactory`: turns one JSON line into one readable line, synchronously. */
type PrettyFactory = (options: Record<string, unknown>) => (line: string) => string;

function loadPrettifier(): ((line: string) => string) | undefined {
  try {
    const { prettyFactory } = require('pino-pretty') as { prettyFactory: PrettyFactory };
    return prettyFactory({ messageKey: 'message', ignore: 'pid,hostname,service' });
  } catch {
    return undefined;
  }
}

/**
 * Creates the app's logger. In production: one JSON object per line on stdout, with the keys
 * Cloud Logging understands (`severity`, `message`, `time`), secret fields redacted. With
 * `pretty: true`: coloured, readable lines for a terminal.
 */
export function createLogger(options: CreateLoggerOptions): AppLogger {
  const pretty = options.pretty === true ? loadPrettifier() : undefined;
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    messageKey: 'message',
    errorKey: 'err',
    base: { service: options.service, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [...DEFAULT_REDACT_PATHS, ...(options.redactPaths ?? [])],
      censor: '[REDACTED]',
    },
    ...(pretty === undefined
      ? { formatters: { level: (label: string) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) } }
      : {}),
  };
  const target = options.destination ?? pino.destination({ dest: 1, sync: true });
  const destination: LogDestination =
    pretty === undefined
      ? target
      : {
          write(line: string) {
            target.write(pretty(line));
          },
        };
  const logger = pino(loggerOptions, destination);
  if (options.pretty === true && pretty === undefined) {
    logger.warn({}, 'pino-pretty is not installed; logging JSON');
  }
  return logger;
}
