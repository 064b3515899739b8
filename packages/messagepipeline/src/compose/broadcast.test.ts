import { describe, expect, expectTypeOf, it } from 'vitest';
import { deferred } from '../kernel/deferred.js';
import { createMessage, type Message } from '../message.js';
import { broadcast, broadcastMessages, forkMessage, type Sink } from './broadcast.js';
import { collect, controlledSource, countingSource, settle } from './test-support/streams.js';

const sum: Sink<number, number> = async (items) => {
  let total = 0;
  for await (const n of items) total += n;
  return total;
};

function message(id: string): Message {
  return createMessage({ id, data: new TextEncoder().encode(`"${id}"`) });
}

describe('broadcast', () => {
  it('gives every sink every item and resolves with their results in sink order', async () => {
    const results = await broadcast(
      [1, 2, 3, 4],
      [sum, collect<number>, async (items) => (await collect(items)).length],
    );
    expect(results).toEqual([10, [1, 2, 3, 4], 4]);
    expectTypeOf(results).toEqualTypeOf<[number, number[], number]>();
  });

  it('lets the slowest sink govern: the source waits for its buffer', async () => {
    const source = countingSource(1_000);
    const gate = deferred<undefined>();
    const run = broadcast(
      source.iterable,
      [
        sum,
        async (items) => {
          await gate.promise;
          return (await collect(items)).length;
        },
      ],
      { bufferSize: 3 },
    );
    await settle(20);
    // The slow sink's buffer (3) plus the item waiting to be sent to it.
    expect(source.state.pulled).toBe(4);
    gate.resolve(undefined);
    expect(await run).toEqual([499_500, 1_000]);
  });

  it('rejects, stops the source and fails the other sinks when a sink fails', async () => {
    const source = controlledSource<number>();
    const otherSaw: unknown[] = [];
    const run = broadcast(source.iterable, [
      async (items) => {
        for await (const n of items) if (n === 2) throw new Error('sink broke');
      },
      async (items) => {
        try {
          for await (const n of items) otherSaw.push(n);
        } catch (error) {
          otherSaw.push(error);
          throw error;
        }
      },
    ]);
    await source.push(1);
    await source.push(2);
    await expect(run).rejects.toThrow('sink broke');
    expect(otherSaw[0]).toBe(1);
    expect(String(otherSaw.at(-1))).toMatch(/sink broke/);
    expect(source.state.returned).toBe(true);
  });

  it('does not wait for a quiet source once a sink failed', async () => {
    const source = controlledSource<number>();
    const run = broadcast(source.iterable, [
      () => Promise.reject(new Error('sink refused to start')),
      sum,
    ]);
    await expect(run).rejects.toThrow('sink refused to start');
  });

  it('passes a source error to every sink and rejects with it', async () => {
    function* broken(): Generator<number> {
      yield 1;
      throw new Error('source broke');
    }
    const seen: string[] = [];
    const sink: Sink<number> = async (items) => {
      try {
        await collect(items);
      } catch (error) {
        seen.push(String(error));
        throw error;
      }
    };
    await expect(broadcast(broken(), [sink, sink])).rejects.toThrow('source broke');
    expect(seen).toHaveLength(2);
  });

  it('keeps feeding the others when one sink finishes early', async () => {
    const discarded: number[] = [];
    const results = await broadcast(
      [1, 2, 3, 4, 5],
      [
        async (items) => {
          for await (const n of items) if (n === 2) return n;
          return 0;
        },
        sum,
      ],
      { onDiscard: (n) => discarded.push(n) },
    );
    expect(results).toEqual([2, 15]);
    expect(discarded.sort()).toEqual([3, 4, 5]);
  });
});

describe('forkMessage', () => {
  it('acks the original only when every copy is acked', async () => {
    const original = message('m1');
    const [a, b] = forkMessage(original, 2);
    a!.ack();
    expect(original.outcome).toBeUndefined();
    b!.ack();
    expect(await original.settled).toBe('acked');
  });

  it('nacks the original as soon as one copy is nacked', () => {
    const original = message('m2');
    const [a, b] = forkMessage(original, 2);
    b!.nack();
    expect(original.outcome).toBe('nacked');
    a!.ack();
    expect(original.outcome).toBe('nacked');
  });
});

describe('broadcastMessages', () => {
  it('acks each original after every sink acked its copy', async () => {
    const originals = ['a', 'b', 'c'].map(message);
    const gate = deferred<undefined>();
    const acking: Sink<Message> = async (items) => {
      for await (const m of items) m.ack();
    };
    const slowAcking: Sink<Message> = async (items) => {
      await gate.promise;
      for await (const m of items) m.ack();
    };
    const run = broadcastMessages(originals, [acking, slowAcking]);
    await settle(10);
    expect(originals.map((m) => m.outcome)).toEqual([undefined, undefined, undefined]);
    gate.resolve(undefined);
    await run;
    expect(originals.map((m) => m.outcome)).toEqual(['acked', 'acked', 'acked']);
  });

  it('nacks the originals a sink never saw', async () => {
    const originals = ['a', 'b', 'c'].map(message);
    await broadcastMessages(originals, [
      async (items) => {
        for await (const m of items) m.ack();
      },
      async (items) => {
        for await (const m of items) {
          m.ack();
          return;
        }
      },
    ]);
    expect(originals.map((m) => m.outcome)).toEqual(['acked', 'nacked', 'nacked']);
  });
});
