import type { Message } from '../../message.js';
import type { MessageConsumer } from '../../ports.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(message: Message): string {
  return decoder.decode(message.data);
}

/** Each consumer's one iterator (a consumer refuses a second). */
const iterators = new WeakMap<MessageConsumer, AsyncIterator<Message>>();

/** The consumer's one iterator, made on first use. */
export function iterator(consumer: MessageConsumer): AsyncIterator<Message> {
  let found = iterators.get(consumer);
  if (found === undefined) {
    found = consumer[Symbol.asyncIterator]();
    iterators.set(consumer, found);
  }
  return found;
}

/** Pulls exactly `count` messages from a consumer's iterator. */
export async function pull(consumer: MessageConsumer, count: number): Promise<Message[]> {
  const messages = iterator(consumer);
  const out: Message[] = [];
  while (out.length < count) {
    const result = await messages.next();
    if (result.done === true) throw new Error(`consumer ended after ${out.length} messages`);
    out.push(result.value);
  }
  return out;
}

/** Lets every pending promise callback run (microtasks plus one macrotask turn). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++)
    await new Promise<void>((resolve) => {
      queueMicrotask(resolve);
    });
}

/** A promise's state without waiting for it. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'done',
      () => 'done',
    ),
    settle().then(() => marker),
  ]);
  return winner === marker;
}
