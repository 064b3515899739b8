import type { PubSub, Topic } from '@google-cloud/pubsub';
import { InvalidArgumentError, TributaryError } from '../errors.js';
import { within } from '../kernel/deadline.js';
import type { Deferred } from '../kernel/deferred.js';
import { deferred } from '../kernel/deferred.js';
import { DEFAULT_STOP_TIMEOUT_MS, Lifecycle } from '../kernel/lifecycle.js';
import { requireInteger, requireNumber } from '../kernel/validate.js';
import type { ComponentHealth, HealthReporter, StopOptions } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { attributesSize } from '../message.js';
import type { MessageProducer, OutgoingMessage, PublishOptions } from '../ports.js';
import type { StatsDescription } from '../stats.js';
import { messageLimitProblem, PUBSUB_LIMITS } from '../limits.js';
import { classifyPubSubError } from './classify-error.js';
import { Credit } from './credit.js';
import { resolveName } from './validate.js';

/** Client-side batching of publishes: a batch is sent when any limit is reached. */
export interface PubSubBatchingOptions {
  /** @defaultValue 100 */
  readonly maxMessages?: number | undefined;
  /** @defaultValue 1_048_576 (1 MiB) */
  readonly maxBytes?: number | undefined;
  /** Longest a message waits for its batch to fill. @defaultValue 10 */
  readonly maxMilliseconds?: number | undefined;
}

/** Options for {@link createPubSubProducer}. Give `pubsub` and `topicName`, or `topic`. */
export interface PubSubProducerOptions {
  /** The client; the producer never closes it (whoever created it does). */
  readonly pubsub?: PubSub | undefined;
  /** Topic id (`raw`) or full name (`projects/p/topics/raw`); required with `pubsub`. */
  readonly topicName?: string | undefined;
  /**
   * A topic object; the producer builds its own publisher on the same client and name, so its
   * batching and ordering settings do not change the caller's object.
   */
  readonly topic?: Topic | undefined;
  readonly batching?: PubSubBatchingOptions | undefined;
  /**
   * Publishes accepted but not yet confirmed by the server, at most; `publish()` waits beyond.
   * With a 10 ms batch window and ~50 ms round trips, throughput is about this many per 60 ms.
   * @defaultValue 5_000
   */
  readonly maxOutstandingMessages?: number | undefined;
  /** Bytes of publishes not yet confirmed, at most (a bigger message goes alone). @defaultValue 10_485_760 (10 MiB) */
  readonly maxOutstandingBytes?: number | undefined;
  /**
   * Publish messages with the same ordering key in order (the client's `messageOrdering`).
   * Ordering keys are sent either way; this makes the publisher keep their order.
   * @defaultValue false
   */
  readonly messageOrdering?: boolean | undefined;
  /**
   * Check on `start()` that the topic exists (needs `pubsub.topics.get`; a publisher-only role
   * lacks it, and then the check is skipped with a debug line):
   * - `true`: a missing topic fails `start()` with NOT_FOUND (a dead-letter topic, say);
   * - `'report'`: start anyway, report not ready naming the topic, and check again every
   *   `probeIntervalMs` until it exists (publishes meanwhile fail as destination errors, which
   *   services hold, never dead-letter);
   * - `false`: no check; a missing topic shows on the first publish.
   * @defaultValue false
   */
  readonly checkExistence?: boolean | 'report' | undefined;
  /**
   * While the topic is missing or refuses us, how often it is checked again, in ms.
   * @defaultValue 10_000
   */
  readonly probeIntervalMs?: number | undefined;
  /** Drain budget of `stop()` when the caller gives none, in ms. @defaultValue 8_000 */
  readonly stopTimeoutMs?: number | undefined;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger | undefined;
}

/** Counters of a {@link PubSubProducer}. */
export interface PubSubProducerStats {
  /** Publishes handed to the client and not yet confirmed or failed. */
  readonly outstandingMessages: number;
  readonly outstandingBytes: number;
  /** Publishes waiting for flow-control credit. */
  readonly waitingMessages: number;
  readonly published: number;
  readonly failed: number;
}

/** How each field of {@link PubSubProducerStats} is exposed as a metric (runtime's `exposeStats`). */
export const pubsubProducerStatsDescription: StatsDescription<PubSubProducerStats> = Object.freeze({
  outstandingMessages: { kind: 'gauge', help: 'publishes handed to the client, not yet confirmed' },
  outstandingBytes: { kind: 'gauge', help: 'bytes of publishes not yet confirmed' },
  waitingMessages: { kind: 'gauge', help: 'publishes waiting for flow-control credit' },
  published: { kind: 'counter', help: 'publishes the server confirmed' },
  failed: { kind: 'counter', help: 'publishes that failed' },
});

/** A {@link MessageProducer} publishing to a Pub/Sub topic. */
export interface PubSubProducer extends MessageProducer, HealthReporter, AsyncDisposable {
  /** The full topic name, `projects/<project>/topics/<id>`. */
  readonly topicName: string;
  stats(): PubSubProducerStats;
}

/** The defaults of {@link PubSubProducerOptions}. */
export const DEFAULT_PUBSUB_PRODUCER_OPTIONS = Object.freeze({
  batching: Object.freeze({ maxMessages: 100, maxBytes: 1024 * 1024, maxMilliseconds: 10 }),
  maxOutstandingMessages: 5_000,
  maxOutstandingBytes: 10 * 1024 * 1024,
  messageOrdering: false,
  checkExistence: false,
  probeIntervalMs: 10_000,
  stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
});

/** The message object `topic.publishMessage()` takes (the package root does not export its type). */
type ClientMessage = Parameters<Topic['publishMessage']>[0];

/** One accepted publish, from `publish()` until it settles; also what waits for credit. */
interface Publish {
  readonly message: OutgoingMessage;
  readonly bytes: number;
  readonly generation: Generation;
  readonly resolve: (id: string) => void;
  readonly reject: (reason: unknown) => void;
  /** The client calls back once; this guards against a second call from its error path. */
  settled: boolean;
}

/**
 * The publishes accepted between two `flush()` calls, counted rather than kept: `flush()` closes
 * the current generation and waits until it, and any older one still open, has settled.
 */
class Generation {
  unsettled = 0;
  #settled: Deferred<undefined> | undefined;

  settleOne(): void {
    this.unsettled -= 1;
    if (this.unsettled === 0) this.#settled?.resolve(undefined);
  }

  /** Resolves once every publish of this (closed) generation has settled. */
  whenSettled(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    this.#settled ??= deferred<undefined>();
    return this.#settled.promise;
  }
}

const noop = (): void => undefined;

class PubSubTopicProducer implements PubSubProducer {
  readonly name: string;
  readonly topicName: string;
  readonly #topic: Topic;
  readonly #credit: Credit<Publish>;
  readonly #checkExistence: boolean | 'report';
  readonly #probeIntervalMs: number;
  /** Why the topic is not usable (missing, forbidden, unreachable), until a publish or probe succeeds. */
  #problem: TributaryError | undefined;
  #probe: NodeJS.Timeout | undefined;
  readonly #logger: Logger;
  readonly #lifecycle: Lifecycle;
  /** Where `publish()` counts what it accepts; `flush()` swaps in a new one. */
  #generation = new Generation();
  /** Generations closed by `flush()` and not yet settled. */
  readonly #closed = new Set<Generation>();
  #unsettled = 0;
  /** flush() calls under way: publishes granted credit meanwhile are sent at once. */
  #flushes = 0;
  #published = 0;
  #failed = 0;

  constructor(options: PubSubProducerOptions) {
    const pubsub = options.pubsub ?? options.topic?.pubsub;
    if (pubsub === undefined) throw InvalidArgumentError.for('pubsub', 'or topic is required');
    const name = resolveName('topicName', options.topicName ?? options.topic?.name);
    const defaults = DEFAULT_PUBSUB_PRODUCER_OPTIONS;
    const batching = {
      // Pub/Sub's limits: 1,000 messages and 10 MB per publish request (9 MiB leaves headroom).
      maxMessages: requireInteger(
        'batching.maxMessages',
        options.batching?.maxMessages ?? defaults.batching.maxMessages,
        1,
        1000,
      ),
      maxBytes: requireInteger(
        'batching.maxBytes',
        options.batching?.maxBytes ?? defaults.batching.maxBytes,
        1,
        9 * 1024 * 1024,
      ),
      maxMilliseconds: requireInteger(
        'batching.maxMilliseconds',
        options.batching?.maxMilliseconds ?? defaults.batching.maxMilliseconds,
        0,
      ),
    };
    const maxMessages = requireInteger(
      'maxOutstandingMessages',
      options.maxOutstandingMessages ?? defaults.maxOutstandingMessages,
    );
    const maxBytes = requireInteger(
      'maxOutstandingBytes',
      options.maxOutstandingBytes ?? defaults.maxOutstandingBytes,
    );
    const stopTimeoutMs = requireNumber(
      'stopTimeoutMs',
      options.stopTimeoutMs ?? defaults.stopTimeoutMs,
      0,
    );
    this.#topic = pubsub.topic(name, {
      batching,
      messageOrdering: options.messageOrdering ?? defaults.messageOrdering,
    });
    this.topicName = this.#topic.name;
    this.name = this.topicName.slice(this.topicName.lastIndexOf('/') + 1);
    this.#credit = new Credit<Publish>(maxMessages, maxBytes, {
      granted: (publish) => {
        this.#send(publish);
      },
      failed: (publish, reason) => {
        this.#settle(publish);
        publish.reject(reason);
      },
    });
    this.#checkExistence = options.checkExistence ?? defaults.checkExistence;
    this.#probeIntervalMs = requireNumber(
      'probeIntervalMs',
      options.probeIntervalMs ?? defaults.probeIntervalMs,
      1,
    );
    this.#logger = (options.logger ?? silentLogger).child({
      component: 'pubsub-producer',
      topic: this.name,
    });
    this.#lifecycle = new Lifecycle(
      `producer for '${this.topicName}'`,
      { start: () => this.#start(), stop: (timeoutMs) => this.#stop(timeoutMs) },
      stopTimeoutMs,
    );
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #start(): Promise<void> {
    if (this.#checkExistence === false) return;
    if (this.#checkExistence === true) {
      const missing = await this.#checkTopic();
      if (missing !== undefined) throw missing;
      return;
    }
    // 'report': missing or unreachable, the producer starts, says why, and probes until it answers.
    let problem: TributaryError | undefined;
    try {
      problem = await this.#checkTopic();
    } catch (error) {
      problem = error as TributaryError;
    }
    if (problem !== undefined) this.#noteProblem(problem, true);
  }

  /**
   * Asks whether the topic exists: `undefined` when it does (or when we may not ask), the
   * destination error otherwise. Rejects on other failures.
   */
  async #checkTopic(): Promise<TributaryError | undefined> {
    let exists: boolean;
    try {
      [exists] = await this.#topic.exists();
    } catch (error) {
      const classified = classifyPubSubError(error, `checking topic '${this.topicName}'`);
      if (classified.code === 'PERMISSION_DENIED') {
        this.#logger.debug({ err: classified }, 'topic check not permitted; skipped');
        return undefined;
      }
      throw classified;
    }
    if (exists) return undefined;
    return TributaryError.destination(
      'NOT_FOUND',
      `Pub/Sub topic '${this.topicName}' does not exist`,
    );
  }

  /**
   * The topic is missing, forbidden or unreachable: not ready, logged once per change; a
   * destination problem (or any, with `probe`) is probed until the topic answers.
   */
  #noteProblem(problem: TributaryError, probe = problem.destination): void {
    const previous = this.#problem;
    this.#problem = problem;
    if (previous?.code !== problem.code) {
      this.#logger.error({ code: problem.code, err: problem }, 'topic unusable: not ready');
    }
    if (this.#probe !== undefined || !probe) return;
    this.#probe = setInterval(() => {
      this.#checkTopic().then(
        (missing) => {
          if (missing === undefined) this.#clearProblem();
        },
        () => undefined, // still unreachable: the next probe asks again
      );
    }, this.#probeIntervalMs);
    this.#probe.unref();
  }

  #clearProblem(): void {
    if (this.#problem === undefined) return;
    this.#problem = undefined;
    clearInterval(this.#probe);
    this.#probe = undefined;
    this.#logger.info({}, 'topic usable again');
  }

  publish(message: OutgoingMessage, options?: PublishOptions): Promise<string> {
    if (this.#lifecycle.stopRequested) {
      return Promise.reject(
        TributaryError.permanent('CLOSED', `producer for '${this.topicName}' is stopped`),
      );
    }
    // Pub/Sub refuses these with INVALID_ARGUMENT (the emulator is more lenient): refuse first.
    const overLimit = messageLimitProblem(message, PUBSUB_LIMITS);
    if (overLimit !== undefined) {
      this.#failed += 1;
      const code =
        message.data.byteLength > PUBSUB_LIMITS.maxDataBytes
          ? 'PAYLOAD_TOO_LARGE'
          : 'INVALID_ATTRIBUTES';
      return Promise.reject(
        TributaryError.permanent(
          code,
          `message for '${this.topicName}' is over Pub/Sub's limits: ${overLimit}`,
        ),
      );
    }
    const { attributes } = message;
    const bytes =
      message.data.byteLength + (attributes === undefined ? 0 : attributesSize(attributes));
    const generation = this.#generation;
    generation.unsettled += 1;
    this.#unsettled += 1;
    const signal = options?.signal;
    // One promise per publish, settled from the client's callback: no async frame, no promise
    // from the client's promisify wrapper, no bookkeeping reactions.
    return new Promise<string>((resolve, reject) => {
      const publish: Publish = { message, bytes, generation, resolve, reject, settled: false };
      if (this.#credit.acquire(publish, signal)) this.#send(publish);
    });
  }

  /** Hands a publish holding credit to the client. */
  #send(publish: Publish): void {
    const { data, attributes, orderingKey } = publish.message;
    const options: ClientMessage = {
      data: Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    };
    // A copy: the client's tracing writes its context into the attributes it is given.
    if (attributes !== undefined) options.attributes = { ...attributes };
    if (orderingKey !== undefined && orderingKey !== '') options.orderingKey = orderingKey;
    try {
      this.#topic.publishMessage(options, (error, id) => {
        this.#confirmed(publish, error, id);
      });
      // A flush() is waiting for this publish (it was waiting for credit): send it now, not
      // when its batch window ends.
      if (this.#flushes > 0) this.#topic.flush().catch(noop);
    } catch (error) {
      // The client validates synchronously (attribute types) and throws.
      this.#confirmed(publish, error, undefined);
    }
  }

  /** The client's answer for one publish; must not throw (it runs inside the client's loop). */
  #confirmed(publish: Publish, error: unknown, id: string | null | undefined): void {
    if (publish.settled) return;
    this.#settle(publish);
    if (error === null || error === undefined) {
      this.#published += 1;
      if (this.#problem !== undefined) this.#clearProblem();
      this.#credit.release(publish.bytes);
      publish.resolve(id ?? '');
      return;
    }
    this.#failed += 1;
    const { orderingKey } = publish.message;
    if (orderingKey !== undefined && orderingKey !== '') {
      // The client pauses a key after a failed publish; the failed message goes back to its
      // source (nack, redelivery), so later messages of the key must not stay blocked.
      this.#topic.resumePublishing(orderingKey);
    }
    this.#credit.release(publish.bytes);
    const classified = classifyPubSubError(error, `publish to '${this.topicName}'`, {
      destination: true,
    });
    if (
      classified.destination ||
      classified.code === 'UNAVAILABLE' ||
      classified.code === 'TIMEOUT'
    ) {
      this.#noteProblem(classified);
    }
    publish.reject(classified);
    this.#logger.debug(
      { code: classified.code, retriable: classified.retriable },
      'publish failed',
    );
  }

  /** Counts a publish out of its generation (and wakes a `flush()` waiting for it). */
  #settle(publish: Publish): void {
    publish.settled = true;
    this.#unsettled -= 1;
    publish.generation.settleOne();
  }

  async flush(): Promise<void> {
    const closing = this.#generation;
    if (closing.unsettled > 0) {
      this.#generation = new Generation();
      this.#closed.add(closing);
      void closing.whenSettled().then(() => this.#closed.delete(closing));
    }
    const settled = [...this.#closed].map((generation) => generation.whenSettled());
    this.#flushes += 1;
    try {
      await Promise.all([...settled, this.#topic.flush().catch(noop)]);
    } finally {
      this.#flushes -= 1;
    }
  }

  stats(): PubSubProducerStats {
    return {
      outstandingMessages: this.#credit.messages,
      outstandingBytes: this.#credit.bytes,
      waitingMessages: this.#credit.waiting,
      published: this.#published,
      failed: this.#failed,
    };
  }

  /** Not ready while the topic is missing, forbidden or unreachable (until a publish or probe succeeds). */
  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => {
      const problem = this.#problem;
      if (problem !== undefined) {
        return { ready: false, detail: `${problem.code}: ${problem.message}` };
      }
      return {
        ready: true,
        detail: `outstanding ${this.#credit.messages}, waiting ${this.#credit.waiting}`,
      };
    });
  }

  async #stop(timeoutMs: number): Promise<void> {
    clearInterval(this.#probe);
    this.#probe = undefined;
    // Publishes still waiting for credit were never accepted: they fail now, retriably.
    this.#credit.rejectAll(
      TributaryError.transient('CLOSED', `producer for '${this.topicName}' is stopped`),
    );
    const pending = this.#unsettled;
    const timedOut = (await within(this.flush(), timeoutMs)).kind === 'timeout';
    if (timedOut) {
      // What the client holds is still sent; its callers learn the outcome when it arrives.
      this.#logger.warn(
        { pending: this.#unsettled, timeoutMs },
        'stop deadline passed with publishes unconfirmed',
      );
    } else {
      this.#logger.debug({ flushed: pending }, 'stopped');
    }
  }
}

/**
 * Creates a producer publishing to a Pub/Sub topic through `@google-cloud/pubsub`: client
 * batching by count, bytes and time; blocking flow control on unconfirmed publishes;
 * `publish()` resolves with the server's message id once the server confirmed it and rejects
 * with a classified {@link TributaryError} (see {@link classifyPubSubError}).
 *
 * @throws {@link InvalidArgumentError} when an option is out of range
 */
export function createPubSubProducer(options: PubSubProducerOptions): PubSubProducer {
  return new PubSubTopicProducer(options);
}
