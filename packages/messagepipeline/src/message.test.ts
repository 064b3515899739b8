import { describe, expect, it } from 'vitest';
import { createMessage, deriveMessage } from './message.js';

const data = new TextEncoder().encode('{"a":1}');

describe('Message', () => {
  it('settles once: the first of ack/nack wins and the hooks run once', async () => {
    let acks = 0;
    let nacks = 0;
    const message = createMessage({
      id: 'm1',
      data,
      onAck: () => acks++,
      onNack: () => nacks++,
    });
    expect(message.outcome).toBeUndefined();
    message.ack();
    message.nack();
    message.ack();
    expect(message.outcome).toBe('acked');
    expect(acks).toBe(1);
    expect(nacks).toBe(0);
    await expect(message.settled).resolves.toBe('acked');
  });

  it('resolves settled for a waiter that subscribed before settlement', async () => {
    const message = createMessage({ id: 'm2', data });
    const waiting = message.settled;
    message.nack();
    await expect(waiting).resolves.toBe('nacked');
  });

  it('derived messages share the settlement of their source', () => {
    let acks = 0;
    const message = createMessage({ id: 'm3', data, onAck: () => acks++ });
    const derived = deriveMessage(message, { enrichment: { site: 'north' } });
    expect(derived.enrichment).toEqual({ site: 'north' });
    expect(derived.data).toBe(data);
    derived.ack();
    message.nack();
    expect(message.outcome).toBe('acked');
    expect(acks).toBe(1);
  });

  it('counts data and attribute bytes as its size', () => {
    const message = createMessage({ id: 'm4', data, attributes: { k: 'vv' } });
    expect(message.size).toBe(data.byteLength + 3);
  });
});
