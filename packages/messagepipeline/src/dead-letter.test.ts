import { describe, expect, it } from 'vitest';
import { buildDeadLetter, deadLetterAttributes, type DeadLetterWrapper } from './dead-letter.js';
import { TributaryError } from './errors.js';
import { messageLimitProblem, PUBSUB_LIMITS } from './limits.js';
import { createMessage } from './message.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const error = TributaryError.permanent('INVALID_ATTRIBUTES', 'too long');
const at = () => new Date('2026-12-01T00:00:00Z');

describe('messageLimitProblem (Pub/Sub limits)', () => {
  it('accepts what fits and names what does not', () => {
    const data = encoder.encode('{}');
    expect(messageLimitProblem({ data, attributes: { a: 'x'.repeat(1024) } }, PUBSUB_LIMITS)).toBe(
      undefined,
    );
    expect(messageLimitProblem({ data, attributes: { a: 'x'.repeat(1025) } }, PUBSUB_LIMITS)).toBe(
      "attribute 'a' has a value of 1025 bytes; at most 1024 are allowed",
    );
    // 342 three-byte characters: 1,026 bytes in 342 UTF-16 units.
    expect(
      messageLimitProblem({ data, attributes: { a: '€'.repeat(342) } }, PUBSUB_LIMITS),
    ).toContain('1026 bytes');
    expect(
      messageLimitProblem({ data, attributes: { ['k'.repeat(257)]: 'v' } }, PUBSUB_LIMITS),
    ).toMatch(/key .* has 257 bytes; at most 256/);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, 'v']));
    expect(messageLimitProblem({ data, attributes: many }, PUBSUB_LIMITS)).toBe(
      '101 attributes; at most 100 are allowed',
    );
    expect(messageLimitProblem({ data, orderingKey: 'o'.repeat(1025) }, PUBSUB_LIMITS)).toBe(
      'ordering key of 1025 bytes exceeds 1024 bytes',
    );
    expect(messageLimitProblem({ data: new Uint8Array(10_000_001) }, PUBSUB_LIMITS)).toBe(
      'data of 10000001 bytes exceeds 10000000 bytes',
    );
  });
});

describe('buildDeadLetter', () => {
  it('keeps the payload and the attributes that fit, and adds the error attributes', () => {
    const message = createMessage({
      id: 'm',
      data: encoder.encode('{"id":1}'),
      attributes: { deviceId: 'd1' },
      orderingKey: 'k',
    });
    const letter = buildDeadLetter(message, error, 'ingestion', {
      now: at,
      sourceSubscription: 'sub',
    });
    expect(decoder.decode(letter.data)).toBe('{"id":1}');
    expect(letter.orderingKey).toBe('k');
    expect(letter.attributes).toEqual({
      deviceId: 'd1',
      'error.code': 'INVALID_ATTRIBUTES',
      'error.message': 'too long',
      'error.stage': 'ingestion',
      'error.at': '2026-12-01T00:00:00.000Z',
      'source.subscription': 'sub',
    });
  });

  it('moves attributes over the limits into a JSON wrapper, so the dead letter always fits', () => {
    const long = 'x'.repeat(2_000);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, String(i)]));
    const message = createMessage({
      id: 'm',
      data: encoder.encode('{"id":2}'),
      attributes: { ...many, deviceId: long },
      orderingKey: 'o'.repeat(2_000),
    });
    const letter = buildDeadLetter(message, error, 'ingestion', { now: at });
    expect(messageLimitProblem(letter, PUBSUB_LIMITS)).toBeUndefined();
    expect(letter.attributes?.[deadLetterAttributes.wrapped]).toBe('true');
    expect(letter.orderingKey).toBeUndefined();
    const wrapper = JSON.parse(decoder.decode(letter.data)) as DeadLetterWrapper;
    expect(wrapper.payload).toEqual({ id: 2 });
    expect(wrapper.orderingKey).toBe('o'.repeat(2_000));
    expect(wrapper.attributes['deviceId']).toBe(long);
    // Nothing lost: every original attribute is either kept or in the wrapper.
    const kept = Object.keys(letter.attributes ?? {}).filter((key) => key in message.attributes);
    expect(kept.length + Object.keys(wrapper.attributes).length).toBe(102);
  });

  it('cuts an oversized payload and says so; a cut payload travels as base64 when wrapped', () => {
    const message = createMessage({
      id: 'm',
      data: encoder.encode('{"pad":"' + 'p'.repeat(100) + '"}'),
      attributes: { big: 'y'.repeat(1_500) },
    });
    const letter = buildDeadLetter(message, error, 'ingestion', { maxPayloadBytes: 16 });
    expect(letter.attributes).toMatchObject({
      'payload.truncated': 'true',
      'payload.bytes': '110',
    });
    const wrapper = JSON.parse(decoder.decode(letter.data)) as DeadLetterWrapper;
    expect(Buffer.from(wrapper.payloadBase64 ?? '', 'base64').toString()).toBe('{"pad":"pppppppp');
  });

  it('cuts a long error message to the attribute limit without splitting a character', () => {
    const message = createMessage({ id: 'm', data: encoder.encode('x') });
    const letter = buildDeadLetter(
      message,
      TributaryError.permanent('INVALID_PAYLOAD', '€'.repeat(600)),
      'stage',
    );
    const text = letter.attributes?.['error.message'] ?? '';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024);
    expect(text).toBe('€'.repeat(341));
  });
});
