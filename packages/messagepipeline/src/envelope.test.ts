import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_ATTRIBUTE,
  type EnvelopeSource,
} from './envelope.js';
import { createMessage, type Attributes, type Message } from './message.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (data: Uint8Array): string => decoder.decode(data);

let acks = 0;
let nacks = 0;
function incoming(data: Uint8Array | string, attributes: Attributes = {}): Message {
  return createMessage({
    id: 'wire-1',
    data: typeof data === 'string' ? bytes(data) : data,
    attributes,
    onAck: () => acks++,
    onNack: () => nacks++,
  });
}

/** What a consumer would receive for what a producer published. */
function overTheWire(source: EnvelopeSource): Message {
  const out = encodeEnvelope(source);
  return decodeEnvelope(incoming(out.data, out.attributes));
}

describe('encodeEnvelope', () => {
  it('sends a message without enrichment as it is: no wrapping, no envelope attribute', () => {
    const data = bytes('{"device":"d1","temp":21.5}');
    const out = encodeEnvelope({ data, attributes: { device: 'd1' }, orderingKey: 'd1' });
    expect(out.data).toBe(data);
    expect(out.attributes).toEqual({ device: 'd1' });
    expect(out.orderingKey).toBe('d1');
  });

  it('wraps a JSON payload with enrichment as readable JSON and marks it', () => {
    const out = encodeEnvelope({
      data: bytes('{"device": "d1", "temp": 21.5}'),
      attributes: { device: 'd1' },
      enrichment: { site: 'north', floor: 2 },
    });
    expect(JSON.parse(text(out.data))).toEqual({
      v: 1,
      payload: { device: 'd1', temp: 21.5 },
      enrichment: { site: 'north', floor: 2 },
    });
    expect(out.attributes).toEqual({ device: 'd1', [ENVELOPE_ATTRIBUTE]: '1' });
  });

  it('carries a payload that is not JSON as payloadBase64', () => {
    const data = new Uint8Array([0xff, 0x00, 0x10, 0x80]);
    const out = encodeEnvelope({ data, enrichment: { site: 'north' } });
    expect(JSON.parse(text(out.data))).toEqual({
      v: 1,
      payloadBase64: '/wAQgA==',
      enrichment: { site: 'north' },
    });
  });

  it.each([
    ['a big integer', '{"id":12345678901234567890}'],
    ['a trailing zero', '{"t":1.0}'],
    ['a unicode escape', '"caf\\u00e9"'],
    ['a duplicate key', '{"a":1,"a":2}'],
  ])('carries JSON that would change when re-serialised (%s) as base64', (_name, json) => {
    const out = encodeEnvelope({ data: bytes(json), enrichment: { k: 1 } });
    const envelope = JSON.parse(text(out.data)) as Record<string, unknown>;
    expect(envelope).not.toHaveProperty('payload');
    expect(text(decodeEnvelope(incoming(out.data, out.attributes)).data)).toBe(json);
  });

  it('throws a permanent INVALID_PAYLOAD for enrichment that is not serialisable', () => {
    expect(() => encodeEnvelope({ data: bytes('1'), enrichment: { n: 1n } })).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD', retriable: false }),
    );
  });
});

describe('round trip', () => {
  it.each([
    ['a JSON object', '{"device":"d1","readings":[1,2.5,-3],"ok":true,"note":null}'],
    ['JSON with insignificant whitespace', '{ "device" : "d 1",\n  "x": [ 1, 2 ] }'],
    ['a JSON string', '"just text"'],
    ['JSON null', 'null'],
    ['an empty payload', ''],
    ['plain text', 'not json at all'],
  ])('keeps %s and the enrichment', (_name, payload) => {
    const source = {
      data: bytes(payload),
      attributes: { device: 'd1', 'error.code': 'NONE' },
      enrichment: { site: 'north', tags: ['a', 'b'], meta: { floor: 2 } },
    };
    const received = overTheWire(source);
    // JSON comes back re-serialised (the same value); anything else byte for byte.
    let expected = payload;
    try {
      expected = JSON.stringify(JSON.parse(payload));
    } catch {
      // not JSON
    }
    expect(text(received.data)).toBe(expected);
    expect(received.enrichment).toEqual(source.enrichment);
    expect(received.attributes).toEqual(source.attributes);
  });

  it('keeps binary payloads byte for byte', () => {
    const data = new Uint8Array(256).map((_, i) => i);
    const received = overTheWire({ data, enrichment: { k: 'v' } });
    expect([...received.data]).toEqual([...data]);
  });

  it('keeps a message without enrichment untouched', () => {
    const data = bytes('{"device":"d1"}');
    const received = overTheWire({ data, attributes: { a: 'b' } });
    expect(received.data).toEqual(data);
    expect(received.enrichment).toEqual({});
    expect(received.attributes).toEqual({ a: 'b' });
  });
});

describe('decodeEnvelope', () => {
  it('passes a plain JSON object payload through untouched (the same message)', () => {
    for (const payload of [
      '{"id":"x","payload":"aGVsbG8=","kind":"not an envelope"}',
      '{"id":"x","payload":"aGVsbG8="}',
      '{"device":"d1","publishTime":"2024-01-01T00:00:00Z"}',
      '{"v":1,"payload":{"a":1},"enrichment":{}}',
      '[1,2,3]',
    ]) {
      const message = incoming(payload);
      expect(decodeEnvelope(message)).toBe(message);
    }
  });

  it('unwraps and shares settlement with the original', () => {
    const out = encodeEnvelope({ data: bytes('{"a":1}'), enrichment: { k: 1 } });
    const original = incoming(out.data, out.attributes);
    const unwrapped = decodeEnvelope(original);
    expect(unwrapped).not.toBe(original);
    expect(unwrapped.id).toBe(original.id);
    acks = 0;
    unwrapped.ack();
    expect(original.outcome).toBe('acked');
    expect(acks).toBe(1);
  });

  it.each([
    ['data that is not JSON', 'not json'],
    ['a JSON array', '[1]'],
    ['a wrong version field', '{"v":2,"payload":1,"enrichment":{}}'],
    ['no enrichment', '{"v":1,"payload":1}'],
    ['no payload', '{"v":1,"enrichment":{}}'],
    ['both payloads', '{"v":1,"payload":1,"payloadBase64":"AA==","enrichment":{}}'],
    ['invalid base64', '{"v":1,"payloadBase64":"***","enrichment":{}}'],
  ])('throws a permanent INVALID_PAYLOAD for a marked message with %s', (_name, data) => {
    expect(() => decodeEnvelope(incoming(data, { [ENVELOPE_ATTRIBUTE]: '1' }))).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD', retriable: false }),
    );
  });

  it('refuses an envelope version it does not know', () => {
    expect(() => decodeEnvelope(incoming('{"v":2}', { [ENVELOPE_ATTRIBUTE]: '2' }))).toThrow(
      /unsupported envelope version '2'/,
    );
  });
});

describe('Go go-dataflow envelopes', () => {
  // What Go's json.Marshal(MessageData{...}) produces: []byte as base64, the zero time, and
  // enrichmentData left out when empty (omitempty).
  const goJson = (fields: Record<string, unknown>): string => JSON.stringify(fields);

  it('unwraps a Go envelope without enrichmentData', () => {
    const payload = '{"device_id":"dev-1","temperature":21.5}';
    const message = incoming(
      goJson({
        id: '1',
        payload: Buffer.from(payload).toString('base64'),
        publishTime: '0001-01-01T00:00:00Z',
      }),
      { mqtt_topic: 'devices/dev-1/data', route_name: 'telemetry' },
    );
    const unwrapped = decodeEnvelope(message);
    expect(text(unwrapped.data)).toBe(payload);
    expect(unwrapped.enrichment).toEqual({});
    expect(unwrapped.attributes).toEqual({
      mqtt_topic: 'devices/dev-1/data',
      route_name: 'telemetry',
    });
    unwrapped.nack();
    expect(message.outcome).toBe('nacked');
  });

  it('unwraps a Go envelope with enrichmentData and a nanosecond publishTime', () => {
    const message = incoming(
      goJson({
        id: '12345678901',
        payload: Buffer.from([0, 1, 2, 254, 255]).toString('base64'),
        publishTime: '2024-05-01T12:34:56.123456789+02:00',
        enrichmentData: { name: 'Boiler', location: 'Basement' },
      }),
    );
    const unwrapped = decodeEnvelope(message);
    expect([...unwrapped.data]).toEqual([0, 1, 2, 254, 255]);
    expect(unwrapped.enrichment).toEqual({ name: 'Boiler', location: 'Basement' });
  });

  it('reads a nil Go payload (null) as empty data', () => {
    const message = incoming(
      goJson({ id: '1', payload: null, publishTime: '0001-01-01T00:00:00Z' }),
    );
    expect(decodeEnvelope(message).data).toHaveLength(0);
  });

  it.each([
    [
      'an extra key',
      { id: '1', payload: 'AA==', publishTime: '0001-01-01T00:00:00Z', device: 'd' },
    ],
    ['a numeric id', { id: 1, payload: 'AA==', publishTime: '0001-01-01T00:00:00Z' }],
    [
      'a payload that is not base64',
      { id: '1', payload: 'hello world', publishTime: '0001-01-01T00:00:00Z' },
    ],
    ['a payload object', { id: '1', payload: { a: 1 }, publishTime: '0001-01-01T00:00:00Z' }],
    ['a publishTime that is not RFC 3339', { id: '1', payload: 'AA==', publishTime: 'yesterday' }],
    ['no publishTime', { id: '1', payload: 'AA==' }],
    [
      'enrichmentData that is not an object',
      { id: '1', payload: 'AA==', publishTime: '0001-01-01T00:00:00Z', enrichmentData: [1] },
    ],
  ])('does not mistake JSON with %s for a Go envelope', (_name, fields) => {
    const message = incoming(goJson(fields));
    expect(decodeEnvelope(message)).toBe(message);
  });
});
