import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError } from '../errors.js';
import type { HealthReporter } from '../lifecycle.js';
import type { MessageProducer } from '../ports.js';

/** A producer under test and a way to read what reached its destination. */
export interface ProducerSubject {
  readonly producer: MessageProducer & HealthReporter;
  /** The payloads of the first `count` messages the destination holds, as text, any order. */
  readonly received: (count: number) => Promise<string[]>;
}

/**
 * A producer with room for `bound` unconfirmed publishes whose confirmations are held back (a
 * long batching window, a full subscription backlog), so the bound is reached on purpose.
 */
export interface BoundedProducerSubject extends ProducerSubject {
  /** Publishes waiting for room now. */
  readonly waiting: () => number;
  /** Lets the held confirmations through. */
  readonly release: () => Promise<void>;
}

/** How an adapter's tests hand the contract suite fresh producers. */
export interface ProducerContractOptions {
  /** A fresh producer on a fresh destination with unique names, not started. */
  create(): Promise<ProducerSubject>;
  /** A fresh producer bounded at `bound` outstanding publishes (see {@link BoundedProducerSubject}). */
  createBounded(bound: number): Promise<BoundedProducerSubject>;
  /** Removes what the factories made; runs after each test, once the producer was stopped. */
  cleanup?: (() => Promise<void>) | undefined;
}

const encoder = new TextEncoder();

function outgoing(text: string): { data: Uint8Array } {
  return { data: encoder.encode(text) };
}

/** Tracks whether a promise has settled, without waiting for it. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  promise.then(done, done);
  return { promise, settled: () => settled };
}

/**
 * The semantics every {@link MessageProducer} keeps, as one vitest suite:
 *
 * - `publish()` resolves with an id only once the destination holds the message;
 * - `flush()` resolves once every publish accepted so far is confirmed or failed;
 * - at the outstanding bound, `publish()` waits (it never buffers without limit);
 * - `stop()` rejects, with a retriable error, what is still waiting at its deadline, and every
 *   later publish is refused with `CLOSED`;
 * - `health()` is not ready before start or after stop, and ready once running.
 */
export function describeProducerContract(name: string, options: ProducerContractOptions): void {
  describe(`${name}: MessageProducer contract`, () => {
    const subjects: ProducerSubject[] = [];
    const remember = <S extends ProducerSubject>(subject: S): S => {
      subjects.push(subject);
      return subject;
    };

    afterEach(async () => {
      for (const { producer } of subjects.splice(0)) await producer.stop({ timeoutMs: 1_000 });
      await options.cleanup?.();
    });

    it('resolves publish() with an id once the destination holds the message', async () => {
      const { producer, received } = remember(await options.create());
      await producer.start();
      const id = await producer.publish(outgoing('confirmed'));
      expect(typeof id).toBe('string');
      expect(id).not.toBe('');
      expect(await received(1)).toEqual(['confirmed']);
    });

    it('resolves flush() once every accepted publish is settled', async () => {
      const { producer, received } = remember(await options.create());
      await producer.start();
      const publishes = ['a', 'b', 'c', 'd'].map((text) => track(producer.publish(outgoing(text))));
      await producer.flush();
      expect(publishes.every((publish) => publish.settled())).toBe(true);
      expect((await received(4)).sort()).toEqual(['a', 'b', 'c', 'd']);
    });

    it('waits at the outstanding bound instead of buffering', async () => {
      const subject = remember(await options.createBounded(2));
      const { producer } = subject;
      await producer.start();
      const publishes = ['1', '2', '3'].map((text) => track(producer.publish(outgoing(text))));
      await vi.waitFor(
        () => {
          expect(subject.waiting()).toBe(1);
        },
        { timeout: 5_000, interval: 5 },
      );
      expect(publishes[2]?.settled()).toBe(false);
      await subject.release();
      const ids = await Promise.all(publishes.map((publish) => publish.promise));
      expect(ids).toHaveLength(3);
      expect((await subject.received(3)).sort()).toEqual(['1', '2', '3']);
    });

    it('rejects what still waits at the stop deadline, then refuses new publishes', async () => {
      const subject = remember(await options.createBounded(1));
      const { producer } = subject;
      await producer.start();
      const first = producer.publish(outgoing('first'));
      first.catch(() => undefined);
      const waiting = producer.publish(outgoing('waiting'));
      waiting.catch(() => undefined);
      await vi.waitFor(
        () => {
          expect(subject.waiting()).toBe(1);
        },
        { timeout: 5_000, interval: 5 },
      );
      await producer.stop({ timeoutMs: 50 });
      const error: unknown = await waiting.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isTributaryError(error)).toBe(true);
      expect(error).toMatchObject({ retriable: true });
      await expect(producer.publish(outgoing('late'))).rejects.toMatchObject({ code: 'CLOSED' });
      await subject.release();
    });

    it('is not ready before start, ready once running, not ready after stop', async () => {
      const { producer } = remember(await options.create());
      expect(producer.health()).toEqual({ ready: false, detail: 'not started' });
      await producer.start();
      expect(producer.health().ready).toBe(true);
      await producer.stop();
      expect(producer.health().ready).toBe(false);
    });
  });
}
