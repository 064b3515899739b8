import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  exitWithConfigProblems,
  loadConfig,
  loadConfigOrExit,
  parseBytes,
  parseDurationMs,
  publishBatchingConfigShape,
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

  it('rejects bad project ids and ports, saying what it got', () => {
    expect(problemsOf({ ...valid, GOOGLE_CLOUD_PROJECT: 'Bad_Project' })).toEqual([
      "GOOGLE_CLOUD_PROJECT: expected a Google Cloud project id: 'Bad_Project' must start with a lowercase letter and have only lowercase letters, digits and hyphens",
    ]);
    expect(problemsOf({ ...valid, GOOGLE_CLOUD_PROJECT: 'proj' })[0]).toContain(
      "'proj' has 4 characters",
    );
    expect(problemsOf({ ...valid, PORT: 'abc' })).toEqual([
      "PORT: expected an integer port, got 'abc'",
    ]);
    expect(problemsOf({ ...valid, PORT: '80.5' })).toEqual([
      "PORT: expected an integer port, got '80.5'",
    ]);
    expect(problemsOf({ ...valid, PORT: '70000' })).toEqual([
      'PORT: must be between 0 and 65535, got 70000',
    ]);
  });

  it('says what an integer field got', () => {
    const Schema = z.object({ IN_FLIGHT: configField.integer(5, { min: 1 }) });
    expect(loadConfig(Schema, { IN_FLIGHT: ' 7 ' }).IN_FLIGHT).toBe(7);
    expect(() => loadConfig(Schema, { IN_FLIGHT: 'lots' })).toThrow(
      "IN_FLIGHT: expected an integer, got 'lots'",
    );
    expect(() => loadConfig(Schema, { IN_FLIGHT: '0' })).toThrow(
      'IN_FLIGHT: must be between 1 and 9007199254740991, got 0',
    );
    expect(() => loadConfig(Schema, { IN_FLIGHT: 'x'.repeat(100) })).toThrow(
      `got '${'x'.repeat(40)}…'`,
    );
  });

  it('replaces the value of a secret field in its problem', () => {
    const Schema = z.object({ TOKEN_COUNT: secret(configField.integer(1)) });
    expect(() => loadConfig(Schema, { TOKEN_COUNT: 'hunter2' })).toThrow(
      `TOKEN_COUNT: expected an integer, got '${REDACTED}'`,
    );
    const long = 'hunter2'.repeat(10);
    expect(() => loadConfig(Schema, { TOKEN_COUNT: long })).toThrow(
      `TOKEN_COUNT: expected an integer, got '${REDACTED}'`,
    );
  });

  it('checks Pub/Sub topic and subscription names by the rules the service enforces', () => {
    const Schema = z.object({
      TOPIC: configField.pubsubTopic(),
      SUBSCRIPTION: configField.pubsubSubscription().optional(),
    });
    expect(loadConfig(Schema, { TOPIC: 'projects/test-proj/topics/raw' }).TOPIC).toBe(
      'projects/test-proj/topics/raw',
    );
    expect(loadConfig(Schema, { TOPIC: 'raw', SUBSCRIPTION: 'enrich' }).SUBSCRIPTION).toBe(
      'enrich',
    );
    try {
      loadConfig(Schema, { TOPIC: 'dl', SUBSCRIPTION: 'projects/p/topics/enrich' });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigInvalidError).problems).toEqual([
        {
          variable: 'TOPIC',
          problem:
            "expected a Pub/Sub topic id or full name: 'dl' has 2 characters; a Pub/Sub id has 3 to 255",
        },
        {
          variable: 'SUBSCRIPTION',
          problem:
            "expected a Pub/Sub subscription id or full name: 'projects/p/topics/enrich' is neither an id nor a full name projects/<project>/subscriptions/<id>",
        },
      ]);
    }
  });

  it('gives publishing apps the Pub/Sub batching variables, with their defaults and bounds', () => {
    const PublisherEnv = z.object({ ...publishBatchingConfigShape() });
    expect(loadConfig(PublisherEnv, {})).toEqual({
      PUBSUB_BATCH_MAX_MESSAGES: 100,
      PUBSUB_BATCH_MAX_MS: 10,
    });
    expect(
      loadConfig(PublisherEnv, { PUBSUB_BATCH_MAX_MESSAGES: '1000', PUBSUB_BATCH_MAX_MS: '0' }),
    ).toEqual({ PUBSUB_BATCH_MAX_MESSAGES: 1000, PUBSUB_BATCH_MAX_MS: 0 });
    expect(() => loadConfig(PublisherEnv, { PUBSUB_BATCH_MAX_MESSAGES: '1001' })).toThrow(
      /PUBSUB_BATCH_MAX_MESSAGES/,
    );
  });

  it('checks that a file variable names a readable, non-empty regular file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'runtime-config-'));
    const pem = join(dir, 'cert.pem');
    const empty = join(dir, 'empty.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\n');
    await writeFile(empty, '');
    const Schema = z.object({
      A: configField.readableFile().optional(),
      B: configField.readableFile().optional(),
      C: configField.readableFile().optional(),
      D: configField.readableFile().optional(),
    });
    expect(loadConfig(Schema, { A: pem }).A).toBe(pem);
    try {
      loadConfig(Schema, { A: join(dir, 'missing.pem'), B: dir, C: empty, D: pem });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigInvalidError).problems).toEqual([
        { variable: 'A', problem: `expected a readable file: '${dir}/missing.pem' does not exist` },
        { variable: 'B', problem: `expected a readable file: '${dir}' is a directory, not a file` },
        { variable: 'C', problem: `expected a readable file: '${empty}' is empty` },
      ]);
    }
    if (process.getuid?.() !== 0) {
      await chmod(pem, 0o000);
      expect(() => loadConfig(Schema, { A: pem })).toThrow(`'${pem}' cannot be read (EACCES)`);
    }
  });
});

describe('loadConfigOrExit', () => {
  it('returns the config when the environment is valid', () => {
    expect(loadConfigOrExit(AppEnv, { env: valid }).PORT).toBe(8080);
  });

  it('writes one ERROR JSON line per problem and a CRITICAL summary, then exits 78', () => {
    const written: string[] = [];
    const exits: number[] = [];
    expect(() =>
      loadConfigOrExit(AppEnv, {
        env: { MQTT_URL: 'mqtt://x', PORT: 'abc' },
        write: (text) => written.push(text),
        exit: (code) => exits.push(code),
      }),
    ).toThrow(ConfigInvalidError);
    expect(exits).toEqual([CONFIG_EXIT_CODE]);
    expect(written.join('').endsWith('\n')).toBe(true);
    const lines = written
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        severity: 'ERROR',
        message: "invalid configuration: PORT: expected an integer port, got 'abc'",
        code: 'CONFIG_INVALID',
        variable: 'PORT',
        problem: "expected an integer port, got 'abc'",
      },
      {
        severity: 'ERROR',
        message: 'invalid configuration: GOOGLE_CLOUD_PROJECT: required but not set',
        code: 'CONFIG_INVALID',
        variable: 'GOOGLE_CLOUD_PROJECT',
        problem: 'required but not set',
      },
      {
        severity: 'CRITICAL',
        message: 'invalid configuration (2 problems: PORT, GOOGLE_CLOUD_PROJECT); exiting with 78',
        code: 'CONFIG_INVALID',
        variables: ['PORT', 'GOOGLE_CLOUD_PROJECT'],
      },
    ]);
  });

  it('reports problems found beyond the schema the same way', () => {
    const written: string[] = [];
    const exits: number[] = [];
    expect(() =>
      exitWithConfigProblems([{ variable: 'ROUTES_FILE', problem: "route 'a': qos: bad" }], {
        write: (text) => written.push(text),
        exit: (code) => exits.push(code),
      }),
    ).toThrow(ConfigInvalidError);
    expect(exits).toEqual([78]);
    expect(written.join('')).toContain('"variable":"ROUTES_FILE"');
    expect(written.join('')).toContain('(1 problem: ROUTES_FILE)');
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
