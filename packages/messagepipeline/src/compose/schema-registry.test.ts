import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { DeadLetterSink } from '../dead-letter.js';
import type { TributaryError } from '../errors.js';
import { deferred } from '../kernel/deferred.js';
import { createMessage, type Attributes, type Message } from '../message.js';
import {
  createSchemaRegistry,
  validateSchemas,
  type StandardValidator,
} from './schema-registry.js';
import { collect, settle } from './test-support/streams.js';

const ReadingV1 = z.object({ device: z.string(), celsius: z.number().min(-50).max(150) });
const ReadingV2 = z.object({ device: z.string(), kelvin: z.number().nonnegative() });
const Alarm = z.object({ device: z.string(), level: z.enum(['low', 'high']) });

const registry = () =>
  createSchemaRegistry()
    .register('reading', '1', ReadingV1)
    .register('reading', '2', ReadingV2)
    .register('alarm', '1', Alarm);

let counter = 0;
function message(payload: unknown, attributes: Attributes): Message {
  counter += 1;
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return createMessage({ id: `m${counter}`, data: new TextEncoder().encode(text), attributes });
}

interface Routed {
  readonly message: Message;
  readonly error: TributaryError;
  readonly stage: string;
}

function errorRoute(): DeadLetterSink & { readonly routed: Routed[] } {
  const routed: Routed[] = [];
  return {
    routed,
    deadLetter: (message, error, stage) => {
      routed.push({ message, error, stage });
      return Promise.resolve(undefined);
    },
  };
}

describe('schema registry', () => {
  it('accepts zod 4 schemas through the Standard Schema interface', () => {
    expectTypeOf(ReadingV1).toExtend<StandardValidator<{ device: string; celsius: number }>>();
  });

  it('passes valid messages on, typed by (schema, version)', async () => {
    const errors = errorRoute();
    const input = [
      message({ device: 'd1', celsius: 21.5 }, { schema: 'reading', schemaVersion: '1' }),
      message({ device: 'd1', kelvin: 290 }, { schema: 'reading', schemaVersion: '2' }),
      message({ device: 'd2', level: 'high' }, { schema: 'alarm', schemaVersion: '1' }),
    ];
    const matches = await collect(validateSchemas(input, registry(), { errors }));
    expect(errors.routed).toEqual([]);
    const described = matches.map((match) => {
      switch (match.schema) {
        case 'alarm':
          return `alarm ${match.value.level}`;
        case 'reading':
          return match.version === '1'
            ? `reading ${match.value.celsius} C`
            : `reading ${match.value.kelvin} K`;
      }
    });
    expect(described).toEqual(['reading 21.5 C', 'reading 290 K', 'alarm high']);
    expect(matches.map((match) => match.message)).toEqual(input);
    // Valid messages are the consumer's to settle.
    expect(input.map((m) => m.outcome)).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    [{}, /has no 'schema' attribute/],
    [{ schema: 'reading' }, /has no 'schemaVersion' attribute/],
    [{ schema: 'weather', schemaVersion: '1' }, /unknown schema 'weather' \(version '1'\)/],
    [
      { schema: 'reading', schemaVersion: '3' },
      /unknown version '3' of schema 'reading' \(known: '1', '2'\)/,
    ],
  ])('routes %o as a permanent SCHEMA_MISMATCH', async (attributes, reason) => {
    const errors = errorRoute();
    const bad = message({ device: 'd1', celsius: 1 }, attributes);
    expect(await collect(validateSchemas([bad], registry(), { errors }))).toEqual([]);
    expect(errors.routed).toHaveLength(1);
    const [routed] = errors.routed;
    expect(routed!.error.code).toBe('SCHEMA_MISMATCH');
    expect(routed!.error.retriable).toBe(false);
    expect(routed!.error.message).toMatch(reason);
    expect(routed!.stage).toBe('schema-registry');
    expect(bad.outcome).toBe('acked');
  });

  it('routes a payload that is not JSON as INVALID_PAYLOAD', async () => {
    const result = await registry().validate(
      message('{"device": "d1", celsius', { schema: 'reading', schemaVersion: '1' }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_PAYLOAD');
    expect(result.error.message).toMatch(/\(reading v1\) is not JSON/);
  });

  it('routes a payload the validator rejects as INVALID_PAYLOAD, naming each issue and its path', async () => {
    const result = await registry().validate(
      message({ device: 7, celsius: 500 }, { schema: 'reading', schemaVersion: '1' }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_PAYLOAD');
    expect(result.error.retriable).toBe(false);
    expect(result.error.message).toMatch(/does not match reading v1: device: .*; celsius: .*150/);
  });

  it('uses configurable attribute names', async () => {
    const custom = createSchemaRegistry({
      schemaAttribute: 'type',
      versionAttribute: 'v',
    }).register('alarm', '1', Alarm);
    const ok = await custom.validate(
      message({ device: 'd', level: 'low' }, { type: 'alarm', v: '1' }),
    );
    expect(ok.ok).toBe(true);
    expect(custom.has('alarm', '1')).toBe(true);
    expect(custom.has('alarm', '2')).toBe(false);
  });

  it('refuses to register a pair twice', () => {
    expect(() => registry().register('alarm', '1', Alarm)).toThrow(/registered already/);
  });

  it('acks an invalid message only after the error route resolved', async () => {
    const written = deferred<undefined>();
    const bad = message({}, { schema: 'nope', schemaVersion: '1' });
    const run = collect(
      validateSchemas([bad], registry(), {
        stage: 'ingest-validate',
        errors: {
          deadLetter: async (_message, _error, stage) => {
            expect(stage).toBe('ingest-validate');
            await written.promise;
          },
        },
      }),
    );
    await settle();
    expect(bad.outcome).toBeUndefined();
    written.resolve(undefined);
    await run;
    expect(bad.outcome).toBe('acked');
  });

  it('nacks the message and fails when the error route fails', async () => {
    const bad = message({}, { schema: 'nope', schemaVersion: '1' });
    const run = collect(
      validateSchemas([bad], registry(), {
        errors: { deadLetter: () => Promise.reject(new Error('disk full')) },
      }),
    );
    await expect(run).rejects.toThrow('disk full');
    expect(bad.outcome).toBe('nacked');
  });

  it('nacks, without routing, when a validator throws (not the message’s fault)', async () => {
    const flaky: StandardValidator = {
      '~standard': {
        validate: () => {
          throw new Error('validator backend down');
        },
      },
    };
    const errors = errorRoute();
    const m = message({}, { schema: 'flaky', schemaVersion: '1' });
    const out = await collect(
      validateSchemas([m], createSchemaRegistry().register('flaky', '1', flaky), {
        errors,
      }),
    );
    expect(out).toEqual([]);
    expect(errors.routed).toEqual([]);
    expect(m.outcome).toBe('nacked');
  });
});
