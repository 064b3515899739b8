import { createLogger, type AppLogger } from '../logger.js';
import type { LogLevel } from '../config.js';

/** A parsed JSON log line. */
export type LogLine = Record<string, unknown> & {
  readonly message?: string;
  readonly severity?: string;
};

/** A real pino logger (JSON, Cloud Logging keys) writing into an array. */
export function captureLogger(level: LogLevel = 'debug'): {
  logger: AppLogger;
  lines: LogLine[];
  text: () => string;
} {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'test',
    level,
    destination: {
      write(chunk: string) {
        raw.push(chunk);
        for (const line of chunk.split('\n')) {
          if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
        }
      },
    },
  });
  return { logger, lines, text: () => raw.join('') };
}
