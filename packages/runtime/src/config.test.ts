import { isTributaryError } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  CONFIG_EXIT_CODE,
  ConfigInvalidError,
  REDACTED,
  configField,
  configMarkdownTable,
  describeConfig,
  loadConfig,
  loadConfigOrExit,
  parseBytes,
  parseDurationMs,
  redactConfig,
  secret,
  standardConfigShape,
} from './config.js';

const AppEnv = z.object({
  ...standardConfigShape(),
  GOOGLE_CLOUD_PROJECT: configField.googleCloudProject(),
  MQTT_URL: z.url().describe('Broker URL'),
  MQTT_PASSWORD: secret(z.string()).optional().describe('Broker password'),
  BATCH_MAX_BYTES: configField.bytes(5 * 1024 * 1024, { min: 1 }),
  BATCH_MAX_WAIT_MS: configField.durationMs(5_000),
  ENABLE_TRACING: configField.boolean(false),
});

const valid = {
  GOOGLE_CLOUD_PROJECT: 'tributary-dev',
  MQTT_URL: 'mqtt://localhost:1883',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(AppEnv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigInvalidError);
    return (error as ConfigInvalidError).problems.map((p) => `${p.variable}: ${p.problem}`);
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('applies the standard defaults', () => {
    const config = loadConfig(AppEnv, valid);
    expect(config).toEqual({
      PORT: 8080,
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      SHUTDOWN_TIMEOUT_MS: 8000,
      GOOGLE_CLOUD_PROJECT: 'tributary-dev',
      MQTT_URL: 'mqtt://localhost:1883',
      BATCH_MAX_BYTES: 5 * 1024 * 1024,
      BATCH_MAX_WAIT_MS: 5000,
      ENABLE_TRACING: false,
    });
  });

  it('coerces every kind of field from strings', () => {
    const config = loadConfig(AppEnv, {
      ...valid,
      PORT: '9090',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'yes',
      SHUTDOWN_TIMEOUT_MS: '9s',
      MQTT_PASSWORD: 'hunter2',
      BATCH_MAX_BYTES: '512KiB',
      BATCH_MAX_WAIT_MS: '250ms',
      ENABLE_TRACING: 'true',
    });
    expect(config.PORT).toBe(9090);
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.LOG_PRETTY).toBe(true);
    expect(config.SHUTDOWN_TIMEOUT_MS).toBe(9000);
    expect(config.MQTT_PASSWORD).toBe('hunter2');
    expect(config.BATCH_MAX_BYTES).toBe(512 * 1024);
    expect(config.BATCH_MAX_WAIT_MS).toBe(250);
    expect(config.ENABLE_TRACING).toBe(true);
  });

  it('treats an empty variable as unset and ignores variables outside the schema', () => {
    const config = loadConfig(AppEnv, { ...valid, PORT: '', UNRELATED: 'x' });
    expect(config.PORT).toBe(8080);
    expect(config).not.toHaveProperty('UNRELATED');
  });

  it('fails fast naming every bad variable and why, in one CONFIG_INVALID error', () => {
    let caught: unknown;
    try {
      loadConfig(AppEnv, {
        PORT: '70000',
        LOG_LEVEL: 'loud',
        SHUTDOWN_TIMEOUT_MS: 'soon',
        MQTT_URL: 'not a url',
        ENABLE_TRACING: 'maybe',
        BATCH_MAX_BYTES: '0',
      });
    } catch (error) {
      caught = error;
    }
    expect(isTributaryError(caught)).toBe(true);
    const error = caught as ConfigInvalidError;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retriable).toBe(false);
    const variables = error.problems.map((p) => p.variable);
    expect(variables).toEqual([
      'PORT',
      'LOG_LEVEL',
      'SHUTDOWN_TIMEOUT_MS',
      'GOOGLE_CLOUD_PROJECT',
      'MQTT_URL',
      'BATCH_MAX_BYTES',
      'ENABLE_TRACING',
    ]);
    expect(error.message).toMatch(/^invalid configuration \(7 problems\):\n {2}PORT: /);
    for (const variable of variables) expect(error.message).toContain(`\n  ${variable}: `);
    expect(error.message).toContain('GOOGLE_CLOUD_PROJECT: required but not set');
    expect(error.message).toContain('SHUTDOWN_TIMEOUT_MS: expected a duration');
    expect(error.message).toContain('BATCH_MAX_BYTES: must be between 1 and');
  });

  it('never echoes a value into the error', () => {
    const problems = problemsOf({ ...valid, MQTT_URL: 'hunter2-secret-value' });
    expect(problems.join('\n')).not.toContain('hunter2-secret-value');
  });

  it('reports a cross-field check under (environment)', () => {
    const Schema = z
      .object({ MIN: configField.integer(1), MAX: configField.integer(2) })
      .refine((c) => c.MIN <= c.MAX, 'MIN must not exceed MAX');
    expect(() => loadConfig(Schema, { MIN: '5' })).toThrow(
      '(environment): MIN must not exceed MAX',
    );
  });

  it('rejects bad project ids and ports', () => {
    expect(problemsOf({ ...valid, GOOGLE_CLOUD_PROJECT: 'Bad_Project' })).toEqual([
      'GOOGLE_CLOUD_PROJECT: expected a Google Cloud project id',
    ]);
    expect(problemsOf({ ...valid, PORT: 'eighty' })[0]).toMatch(/^PORT: /);
    expect(problemsOf({ ...valid, PORT: '80.5' })[0]).toMatch(/^PORT: /);
  });
});

describe('loadConfigOrExit', () => {
  it('returns the config when the environment is valid', () => {
    expect(loadConfigOrExit(AppEnv, { env: valid }).PORT).toBe(8080);
  });

  it('writes one CRITICAL JSON line naming each variable and exits 78', () => {
    const written: string[] = [];
    const exits: number[] = [];
    expect(() =>
      loadConfigOrExit(AppEnv, {
        env: { MQTT_URL: 'mqtt://x', PORT: '-1' },
        write: (text) => written.push(text),
        exit: (code) => exits.push(code),
      }),
    ).toThrow(ConfigInvalidError);
    expect(exits).toEqual([CONFIG_EXIT_CODE]);
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith('\n')).toBe(true);
    const line = JSON.parse(written[0]!) as { severity: string; message: string; code: string };
    expect(line.severity).toBe('CRITICAL');
    expect(line.code).toBe('CONFIG_INVALID');
    expect(line.message).toMatch(/PORT: .*; GOOGLE_CLOUD_PROJECT: required but not set/);
  });
});

describe('parseDurationMs and parseBytes', () => {
  it.each([
    ['1500', 1500],
    ['1500ms', 1500],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 10s ', 10_000],
  ])('duration %j is %i ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', 'soon', '-5', '5 days', '1e3'])('duration %j is invalid', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it.each([
    ['1048576', 1_048_576],
    ['512KiB', 524_288],
    ['5MiB', 5_242_880],
    ['10MB', 10_000_000],
    ['1g', 1_073_741_824],
    ['2kb', 2000],
  ])('size %j is %i bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(['', 'big', '5 TB', '-1'])('size %j is invalid', (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });
});

describe('secrets', () => {
  it('redactConfig replaces secret fields, however they are wrapped', () => {
    const Schema = z.object({
      USER: z.string(),
      PASSWORD: secret(z.string()).describe('db password'),
      TOKEN: secret(z.string()).optional(),
      API_KEY: secret(z.string().optional()),
      UNSET_SECRET: secret(z.string()).optional(),
    });
    const config = loadConfig(Schema, { USER: 'u', PASSWORD: 'p', TOKEN: 't', API_KEY: 'k' });
    expect(redactConfig(Schema, config)).toEqual({
      USER: 'u',
      PASSWORD: REDACTED,
      TOKEN: REDACTED,
      API_KEY: REDACTED,
      UNSET_SECRET: undefined,
    });
    expect(config.PASSWORD).toBe('p');
  });
});

describe('describeConfig and configMarkdownTable', () => {
  it('lists variables with format, default, required and description', () => {
    const byName = new Map(describeConfig(AppEnv).map((v) => [v.name, v]));
    expect(byName.get('PORT')).toMatchObject({
      format: 'integer 0-65535',
      defaultValue: 8080,
      required: false,
      secret: false,
    });
    expect(byName.get('LOG_LEVEL')?.format).toBe(
      'fatal | error | warn | info | debug | trace | silent',
    );
    expect(byName.get('SHUTDOWN_TIMEOUT_MS')).toMatchObject({ defaultValue: 8000 });
    expect(byName.get('LOG_PRETTY')).toMatchObject({ format: 'boolean', defaultValue: false });
    expect(byName.get('MQTT_URL')).toMatchObject({
      format: 'url',
      required: true,
      description: 'Broker URL',
    });
    expect(byName.get('MQTT_PASSWORD')).toMatchObject({ secret: true, required: false });
  });

  it('renders a Markdown table', () => {
    const table = configMarkdownTable(AppEnv);
    const rows = table.split('\n');
    expect(rows[0]).toBe('| Variable | Format | Default | Description |');
    expect(rows).toHaveLength(2 + Object.keys(AppEnv.shape).length);
    expect(table).toContain(
      '| `PORT` | integer 0-65535 | `8080` | HTTP port for /healthz, /readyz and /metrics (Cloud Run sets it) |',
    );
    expect(table).toContain(
      '| `LOG_LEVEL` | fatal \\| error \\| warn \\| info \\| debug \\| trace \\| silent | `"info"` |',
    );
    expect(table).toContain('| `MQTT_URL` | url | **required** | Broker URL |');
    expect(table).toContain('| `MQTT_PASSWORD` | string | (secret) | Broker password (secret) |');
    expect(table).toContain(
      '| `SHUTDOWN_TIMEOUT_MS` | duration (ms; or 500ms, 10s, 5m, 1h) | `8000` |',
    );
  });
});
