import type { Logger } from '@tributary/messagepipeline';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createLogger, type AppLogger } from './logger.js';
import { captureLogger } from './test-support/capture-logger.js';

describe('createLogger', () => {
  it("satisfies messagepipeline's Logger port, children included", () => {
    const { logger } = captureLogger();
    const port: Logger = logger;
    const child: Logger = port.child({ component: 'x' });
    expectTypeOf<AppLogger>().toExtend<Logger>();
    expect(typeof child.info).toBe('function');
  });

  it('writes one JSON line per entry with Cloud Logging keys', () => {
    const { logger, lines } = captureLogger();
    logger.info({ topic: 'raw' }, 'published');
    const [line] = lines;
    expect(line).toMatchObject({
      severity: 'INFO',
      message: 'published',
      service: 'test',
      topic: 'raw',
    });
    expect(line).not.toHaveProperty('level');
    expect(line).not.toHaveProperty('msg');
    expect(new Date(String(line?.['time'])).toISOString()).toBe(line?.['time']);
  });

  it('maps every level to a Cloud Logging severity', () => {
    const { logger, lines } = captureLogger('trace');
    logger.trace({}, 't');
    logger.debug({}, 'd');
    logger.info({}, 'i');
    logger.warn({}, 'w');
    logger.error({}, 'e');
    logger.fatal({}, 'f');
    expect(lines.map((l) => l.severity)).toEqual([
      'DEBUG',
      'DEBUG',
      'INFO',
      'WARNING',
      'ERROR',
      'CRITICAL',
    ]);
  });

  it('drops entries below the level', () => {
    const { logger, lines } = captureLogger('warn');
    logger.info({}, 'hidden');
    logger.warn({}, 'shown');
    expect(lines.map((l) => l.message)).toEqual(['shown']);
  });

  it('serializes errors under err with message and stack', () => {
    const { logger, lines } = captureLogger();
    logger.error({ err: new Error('boom') }, 'failed');
    const err = lines[0]?.['err'] as { message: string; stack: string; type: string };
    expect(err.message).toBe('boom');
    expect(err.type).toBe('Error');
    expect(err.stack).toContain('boom');
  });

  it('redacts secret fields at the top level, one level down and in headers', () => {
    const { logger, text } = captureLogger();
    logger.child({ component: 'db' }).info(
      {
        password: 'p4ss',
        token: 't0k',
        db: { password: 'p4ss2', host: 'localhost' },
        config: { apiKey: 'k3y', credentials: 'c' },
        req: { headers: { authorization: 'Bearer abc', accept: '*/*' } },
      },
      'connected',
    );
    const out = text();
    for (const value of ['p4ss', 't0k', 'k3y', 'Bearer abc', '"credentials":"c"']) {
      expect(out).not.toContain(value);
    }
    expect(out).toContain('"host":"localhost"');
    expect(out).toContain('"accept":"*/*"');
    expect(out).toContain('[REDACTED]');
  });

  it('redacts extra paths the app names', () => {
    const chunks: string[] = [];
    const logger = createLogger({
      service: 'svc',
      redactPaths: ['config.MQTT_URL'],
      destination: { write: (chunk: string) => void chunks.push(chunk) },
    });
    logger.info({ config: { MQTT_URL: 'mqtt://user:pw@host', PORT: 8080 } }, 'config');
    expect(chunks.join('')).not.toContain('user:pw');
    expect(chunks.join('')).toContain('"PORT":8080');
  });

  it('writes readable, non-JSON lines when pretty (pino-pretty is a devDependency)', () => {
    const chunks: string[] = [];
    const logger = createLogger({
      service: 'svc',
      pretty: true,
      destination: { write: (chunk: string) => void chunks.push(chunk) },
    });
    logger.info({ password: 'secret-pw' }, 'hello there');
    const out = chunks.join('');
    expect(out).toContain('hello there');
    expect(out).toContain('INFO');
    expect(out).not.toContain('secret-pw');
    expect(() => JSON.parse(out) as unknown).toThrow();
  });
});
