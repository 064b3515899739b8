import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTributaryError } from '../errors.js';
import type { HealthReporter } from '../lifecycle.js';
import type { Message } from '../message.js';
import type { MessageConsumer } from '../ports.js';

/** A consumer under test and a way to feed its source. */
export interface ConsumerSubject {
  readonly consumer: MessageConsumer & HealthReporter;
  /** Puts messages with these payloads on the consumer's source; resolves once it holds them. */
  readonly send: (payloads: readonly string[]) => Promise<void>;
}

/** How an adapter's tests hand the contract suite a fresh consumer. */
export interface ConsumerContractOptions {
  /** A fresh consumer on a fresh source with unique names, not started; called once per test. */
  create(): Promise<ConsumerSubject>;
  /** Removes what `create()` made; runs after each test, once the consumer was stopped. */
  cleanup?: (() => Promise<void>) | undefined;
  /** How long the adapter may take to hand a nacked message out again. @defaultValue 10_000 */
  redeliveryTimeoutMs?: number | undefined;
}

const decoder = new TextDecoder();

/** A message's payload as text. */
export function payloadText(message: Message): string {
  return decoder.decode(message.data);
}

/** Pulls exactly `count` messages from an iterator, failing if it ends first. */
export async function pullMessages(
  iterator: AsyncIterator<Message>,
  count: number,
): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < count) {
    const result = await iterator.next();
    if (result.done === true) throw new Error(`iteration ended after ${out.length} messages`);
    out.push(result.value);
  }
  return out;
}

/**
 * The semantics every {@link MessageConsumer} keeps, as one vitest suite. An adapter's test file
 * calls it with a factory; the suite starts, iterates, settles and stops real consumers.
 *
 * - one iterator only: a second is refused with `INVALID_ARGUMENT`;
 * - `return()` on the iterator (leaving a `for await` early) stops the consumer;
 * - messages handed out before `stop()` can still be acked while it drains;
 * - `stop()` keeps its deadline when a message is never settled;
 * - a nacked message is handed out again;
 * - `health()` is not ready before start or after stop, and ready once running;
 * - iteration ends after `stop()`.
 */
export function describeConsumerContract(name: string, options: ConsumerContractOptions): void {
  const redeliveryTimeoutMs = options.redeliveryTimeoutMs ?? 10_000;

  describe(`${name}: MessageConsumer contract`, () => {
    const subjects: ConsumerSubject[] = [];
    const create = async (): Promise<ConsumerSubject> => {
      const subject = await options.create();
      subjects.push(subject);
      return subject;
    };

    afterEach(async () => {
      for (const { consumer } of subjects.splice(0)) await consumer.stop({ timeoutMs: 1_000 });
      await options.cleanup?.();
    });

    it('refuses a second iterator with a clear error', async () => {
      const { consumer } = await create();
      consumer[Symbol.asyncIterator]();
      let thrown: unknown;
      try {
        consumer[Symbol.asyncIterator]();
      } catch (error) {
        thrown = error;
      }
      expect(isTributaryError(thrown)).toBe(true);
      expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((thrown as Error).message).toMatch(/already being iterated/);
    });

    it('is not ready before start, ready once running, not ready after stop', async () => {
      const { consumer } = await create();
      expect(consumer.health()).toEqual({ ready: false, detail: 'not started' });
      await consumer.start();
      await vi.waitFor(
        () => {
          expect(consumer.health().ready).toBe(true);
        },
        { timeout: 10_000, interval: 20 },
      );
      await consumer.stop();
      expect(consumer.health().ready).toBe(false);
    });

    it('delivers what was sent, and ends the iteration after stop()', async () => {
      const { consumer, send } = await create();
      await consumer.start();
      const iterator = consumer[Symbol.asyncIterator]();
      await send(['one', 'two']);
      const messages = await pullMessages(iterator, 2);
      expect(messages.map(payloadText).sort()).toEqual(['one', 'two']);
      for (const message of messages) message.ack();
      await consumer.stop();
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
    });

    it('hands a nacked message out again', async () => {
      const { consumer, send } = await create();
      await consumer.start();
      const iterator = consumer[Symbol.asyncIterator]();
      await send(['again']);
      const [first] = await pullMessages(iterator, 1);
      first?.nack();
      const started = performance.now();
      const [second] = await pullMessages(iterator, 1);
      expect(performance.now() - started).toBeLessThan(redeliveryTimeoutMs);
      expect(second && payloadText(second)).toBe('again');
      expect(second?.deliveryAttempt).toBeGreaterThanOrEqual(1);
      second?.ack();
    });

    it('lets messages handed out before stop() be acked while it drains', async () => {
      const { consumer, send } = await create();
      await consumer.start();
      const iterator = consumer[Symbol.asyncIterator]();
      await send(['in-flight']);
      const [message] = await pullMessages(iterator, 1);
      const stopping = consumer.stop({ timeoutMs: 5_000 });
      message?.ack();
      await stopping;
      expect(message?.outcome).toBe('acked');
      await expect(consumer.done).resolves.toBeUndefined();
    });

    it('keeps the stop deadline when a message is never settled', async () => {
      const { consumer, send } = await create();
      await consumer.start();
      const iterator = consumer[Symbol.asyncIterator]();
      await send(['stuck']);
      await pullMessages(iterator, 1);
      const started = performance.now();
      await consumer.stop({ timeoutMs: 300 });
      // The deadline plus what closing the connection may take (2 s at most in every adapter).
      expect(performance.now() - started).toBeLessThan(300 + 2_500);
    });

    it('stops when the iteration is left early (return())', async () => {
      const { consumer, send } = await create();
      await consumer.start();
      await send(['only']);
      for await (const message of consumer) {
        message.ack();
        break;
      }
      await expect(consumer.done).resolves.toBeUndefined();
      expect(consumer.health().ready).toBe(false);
    });
  });
}
