import { Duration } from '@google-cloud/pubsub';
import type {
  Message as ClientMessage,
  PubSub,
  SubscriberOptions,
  Subscription,
} from '@google-cloud/pubsub';
import { InvalidArgumentError, TributaryError } from '../errors.js';
import { backoffDelayMs, type BackoffPolicy } from '../kernel/backoff.js';
import { within } from '../kernel/deadline.js';
import { Deque } from '../kernel/deque.js';
import { DEFAULT_STOP_TIMEOUT_MS, Lifecycle } from '../kernel/lifecycle.js';
import { requireInteger, requireNumber } from '../kernel/validate.js';
import type { ComponentHealth, HealthReporter, StopOptions } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { createMessage } from '../message.js';
import type { Message } from '../message.js';
import type {
  FlowControlledConsumer,
  HeldWorkReporter,
  InFlightWindow,
  MessageConsumer,
} from '../ports.js';
import type { StatsDescription } from '../stats.js';
import { deferred } from '../kernel/deferred.js';
import type { Deferred } from '../kernel/deferred.js';
import { classifyPubSubError } from './classify-error.js';
import { resolveName } from './validate.js';

/** Options for {@link createPubSubConsumer}. Give `pubsub` and `subscriptionName`, or `subscription`. */
export interface PubSubConsumerOptions {
  /** The client; the consumer never closes it (whoever created it does). */
  readonly pubsub?: PubSub | undefined;
  /** Subscription id (`enrich`) or full name (`projects/p/subscriptions/enrich`); required with `pubsub`. */
  readonly subscriptionName?: string | undefined;
  /**
   * A subscription object; the consumer opens its own subscriber on the same client and name, so
   * its flow-control settings do not change the caller's object.
   */
  readonly subscription?: Subscription | undefined;
  /**
   * Messages handed out by the iterator and not yet settled, at most. Also the client's flow
   * control (server-side per stream and its lease inventory). @defaultValue 1_000
   */
  readonly maxInFlightMessages?: number | undefined;
  /**
   * Bytes (data plus attributes) of messages handed out and not yet settled, at most; a single
   * bigger message is handed out alone. @defaultValue 104_857_600 (100 MiB)
   */
  readonly maxInFlightBytes?: number | undefined;
  /** Lower bound of the lease extension the client asks for, in seconds. @defaultValue 10 */
  readonly minAckDeadlineSeconds?: number | undefined;
  /** Upper bound of the lease extension the client asks for, in seconds. @defaultValue 600 */
  readonly maxAckDeadlineSeconds?: number | undefined;
  /**
   * Longest a held message's lease is extended, in seconds; after it the server redelivers it.
   * @defaultValue 3_600
   */
  readonly maxExtensionSeconds?: number | undefined;
  /**
   * StreamingPull streams per subscriber (the client's `maxStreams`). The server applies the flow
   * control limits per stream, so the client may hold up to this many times the limits (leased,
   * not handed out); `1` is the usual cure for streams that stall (nodejs-pubsub#1135).
   * @defaultValue 5
   */
  readonly maxStreams?: number | undefined;
  /**
   * Stall detection: when messages were flowing, the consumer has room for more, and none has
   * arrived for this long, the stream is closed and reopened (once per such silence) and
   * `health()` reports not ready until a message arrives or another period passes.
   * @defaultValue 60_000
   */
  readonly stallTimeoutMs?: number | undefined;
  /**
   * Longest an ack or nack waits to be sent with others, in ms (the client's ack `batching`).
   * The client counts a message against its flow control until its ack was answered, so a long
   * window throttles throughput. @defaultValue 10
   */
  readonly ackBatchMaxMilliseconds?: number | undefined;
  /**
   * Check on `start()` that the subscription exists, failing with NOT_FOUND naming it. A
   * PERMISSION_DENIED answer (no `pubsub.subscriptions.get`) skips the check; the stream then
   * fails with NOT_FOUND, which is fatal too. @defaultValue true
   */
  readonly checkExistence?: boolean | undefined;
  /** Drain budget of `stop()` when the caller gives none, in ms. @defaultValue 8_000 */
  readonly stopTimeoutMs?: number | undefined;
  /** @defaultValue {@link silentLogger} */
  readonly logger?: Logger | undefined;
}

/** The defaults of {@link PubSubConsumerOptions}. */
export const DEFAULT_PUBSUB_CONSUMER_OPTIONS = Object.freeze({
  maxInFlightMessages: 1_000,
  maxInFlightBytes: 100 * 1024 * 1024,
  minAckDeadlineSeconds: 10,
  maxAckDeadlineSeconds: 600,
  maxExtensionSeconds: 3_600,
  maxStreams: 5,
  stallTimeoutMs: 60_000,
  ackBatchMaxMilliseconds: 10,
  checkExistence: true,
  stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
});

/** Counters and gauges of a {@link PubSubConsumer}. */
export interface PubSubConsumerStats {
  /** Messages the client delivered to the consumer. */
  readonly received: number;
  readonly acked: number;
  readonly nacked: number;
  /** Handed out by the iterator and not yet settled. */
  readonly inFlightMessages: number;
  readonly inFlightBytes: number;
  /** The most messages ever in flight at once. */
  readonly peakInFlightMessages: number;
  /** Received and waiting for the iterator. */
  readonly bufferedMessages: number;
  readonly bufferedBytes: number;
  /** Nacked on arrival because the buffer was full (the client's own accounting overshot). */
  readonly overflowNacked: number;
  /**
   * Arrived while stopping or on a stream being replaced: left to the client, which nacks them
   * when that subscriber closes.
   */
  readonly refused: number;
  /** Times the stream was closed and reopened (errors, unexpected closes, stalls). */
  readonly streamRestarts: number;
  /** Age of the oldest message received and not yet settled, in ms; 0 when none. */
  readonly oldestUnsettledAgeMs: number;
}

/** How each field of {@link PubSubConsumerStats} is exposed as a metric (runtime's `exposeStats`). */
export const pubsubConsumerStatsDescription: StatsDescription<PubSubConsumerStats> = Object.freeze({
  received: { kind: 'counter', help: 'Pub/Sub messages the client delivered' },
  acked: { kind: 'counter', help: 'Pub/Sub messages acked' },
  nacked: { kind: 'counter', help: 'Pub/Sub messages nacked' },
  inFlightMessages: { kind: 'gauge', help: 'messages handed out and not yet settled' },
  inFlightBytes: { kind: 'gauge', help: 'bytes of messages handed out and not yet settled' },
  peakInFlightMessages: { kind: 'gauge', help: 'the most messages ever in flight at once' },
  bufferedMessages: { kind: 'gauge', help: 'messages received and waiting for the iterator' },
  bufferedBytes: { kind: 'gauge', help: 'bytes of messages waiting for the iterator' },
  overflowNacked: { kind: 'counter', help: 'arrivals nacked because the buffer was full' },
  refused: { kind: 'counter', help: 'arrivals left to the client while stopping or reopening' },
  streamRestarts: { kind: 'counter', help: 'times the stream was closed and reopened' },
  oldestUnsettledAgeMs: {
    kind: 'gauge',
    help: 'age of the oldest message received and not yet settled',
    name: 'oldest_unsettled_age_seconds',
    scale: 0.001,
  },
});

/** A {@link MessageConsumer} reading a Pub/Sub subscription through streaming pull. */
export interface PubSubConsumer
  extends
    MessageConsumer,
    FlowControlledConsumer,
    HealthReporter,
    HeldWorkReporter,
    AsyncDisposable {
  /** The full subscription name, `projects/<project>/subscriptions/<id>`. */
  readonly subscriptionName: string;
  /** `maxInFlightMessages` and `maxInFlightBytes`. */
  readonly inFlightWindow: InFlightWindow;
  stats(): PubSubConsumerStats;
}

/** Reopening a failed stream: 0.5 s doubling to 30 s, never a near-zero wait. */
const RESTART_BACKOFF: BackoffPolicy = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 'equal',
});
const CLOSE_RESERVE_MS = 1_000;
const MIN_CLOSE_MS = 250;

type LeaseState = 'open' | 'retiring' | 'closing' | 'closed';

/** One client subscriber (one set of streams); replaced on errors and stalls. */
class Lease {
  readonly subscription: Subscription;
  state: LeaseState = 'open';
  /** Our messages from this subscriber that are not settled (buffered or in flight). */
  held = 0;
  retireTimer: NodeJS.Timeout | undefined;

  constructor(subscription: Subscription) {
    this.subscription = subscription;
  }
}

interface Entry {
  readonly client: ClientMessage;
  readonly lease: Lease;
  readonly message: Message;
  readonly size: number;
  /** `performance.now()` at arrival: the age of held work. */
  readonly receivedAt: number;
  inFlight: boolean;
  settled: boolean;
}

class PubSubSubscriptionConsumer implements PubSubConsumer {
  readonly name: string;
  readonly subscriptionName: string;
  readonly #pubsub: PubSub;
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly inFlightWindow: InFlightWindow;
  readonly #minAckDeadlineSeconds: number;
  readonly #maxAckDeadlineSeconds: number;
  readonly #maxExtensionSeconds: number;
  readonly #maxStreams: number;
  readonly #stallTimeoutMs: number;
  readonly #ackBatchMs: number;
  readonly #checkExistence: boolean;
  readonly #logger: Logger;
  readonly #lifecycle: Lifecycle;

  /** Thrown once by the iterator after a fatal error. */
  #fatal: TributaryError | undefined;
  #lease: Lease | undefined;
  readonly #leases = new Set<Lease>();
  readonly #buffer = new Deque<Entry>();
  #bufferedBytes = 0;
  readonly #inFlight = new Set<Entry>();
  #inFlightBytes = 0;
  #iterating = false;
  #waiter: Deferred<undefined> | undefined;
  #drained: Deferred<undefined> | undefined;

  #stallTimer: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restartReason: string | undefined;
  #failures = 0;
  #quietSince = 0;
  #armed = false;
  #stalledSince: number | undefined;

  #received = 0;
  #acked = 0;
  #nacked = 0;
  #peakInFlight = 0;
  #overflowNacked = 0;
  #refused = 0;
  #restarts = 0;

  constructor(options: PubSubConsumerOptions) {
    const pubsub = options.pubsub ?? options.subscription?.pubsub;
    if (pubsub === undefined) {
      throw InvalidArgumentError.for('pubsub', 'or subscription is required');
    }
    this.#pubsub = pubsub;
    const name = resolveName(
      'subscriptionName',
      options.subscriptionName ?? options.subscription?.name,
    );
    const d = DEFAULT_PUBSUB_CONSUMER_OPTIONS;
    this.#maxMessages = requireInteger(
      'maxInFlightMessages',
      options.maxInFlightMessages ?? d.maxInFlightMessages,
    );
    this.#maxBytes = requireInteger(
      'maxInFlightBytes',
      options.maxInFlightBytes ?? d.maxInFlightBytes,
    );
    this.inFlightWindow = Object.freeze({ messages: this.#maxMessages, bytes: this.#maxBytes });
    // Pub/Sub's ack deadlines: 10 to 600 seconds.
    this.#minAckDeadlineSeconds = requireInteger(
      'minAckDeadlineSeconds',
      options.minAckDeadlineSeconds ?? d.minAckDeadlineSeconds,
      10,
      600,
    );
    this.#maxAckDeadlineSeconds = requireInteger(
      'maxAckDeadlineSeconds',
      options.maxAckDeadlineSeconds ?? d.maxAckDeadlineSeconds,
      this.#minAckDeadlineSeconds,
      600,
    );
    this.#maxExtensionSeconds = requireInteger(
      'maxExtensionSeconds',
      options.maxExtensionSeconds ?? d.maxExtensionSeconds,
    );
    this.#maxStreams = requireInteger('maxStreams', options.maxStreams ?? d.maxStreams);
    this.#stallTimeoutMs = requireNumber(
      'stallTimeoutMs',
      options.stallTimeoutMs ?? d.stallTimeoutMs,
      100,
    );
    this.#ackBatchMs = requireNumber(
      'ackBatchMaxMilliseconds',
      options.ackBatchMaxMilliseconds ?? d.ackBatchMaxMilliseconds,
      0,
    );
    this.#checkExistence = options.checkExistence ?? d.checkExistence;
    const stopTimeoutMs = requireNumber(
      'stopTimeoutMs',
      options.stopTimeoutMs ?? d.stopTimeoutMs,
      0,
    );
    // The client resolves a short id against its project; a throwaway object gives the full name.
    this.subscriptionName = pubsub.subscription(name).name;
    this.name = this.subscriptionName.slice(this.subscriptionName.lastIndexOf('/') + 1);
    this.#logger = (options.logger ?? silentLogger).child({
      component: 'pubsub-consumer',
      subscription: this.name,
    });
    this.#lifecycle = new Lifecycle(
      `consumer for '${this.subscriptionName}'`,
      { start: () => this.#start(), stop: (timeoutMs) => this.#stop(timeoutMs) },
      stopTimeoutMs,
    );
  }

  get done(): Promise<void> {
    return this.#lifecycle.done;
  }

  // ---- lifecycle -------------------------------------------------------------------------

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(options?: StopOptions): Promise<void> {
    return this.#lifecycle.stop(options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** True while messages may be taken in: started (or starting) and not stopping. */
  get #open(): boolean {
    return !this.#lifecycle.stopRequested;
  }

  async #start(): Promise<void> {
    if (this.#checkExistence) {
      try {
        await this.#checkExists();
      } catch (error) {
        throw classifyPubSubError(error);
      }
    }
    // stop() may have run while the check was awaited.
    if (this.#lifecycle.stopRequested) return;
    this.#quietSince = Date.now();
    this.#lease = this.#openLease();
    const interval = Math.max(50, Math.min(5_000, Math.floor(this.#stallTimeoutMs / 4)));
    this.#stallTimer = setInterval(() => {
      this.#checkStall();
    }, interval);
    this.#logger.info({ maxInFlightMessages: this.#maxMessages }, 'consuming');
  }

  async #checkExists(): Promise<void> {
    let exists: boolean;
    try {
      [exists] = await this.#pubsub.subscription(this.subscriptionName).exists();
    } catch (error) {
      const classified = classifyPubSubError(
        error,
        `checking subscription '${this.subscriptionName}'`,
      );
      if (classified.code === 'PERMISSION_DENIED') {
        this.#logger.debug({ err: classified }, 'existence check not permitted; skipped');
        return;
      }
      throw classified;
    }
    if (!exists) {
      throw TributaryError.permanent(
        'NOT_FOUND',
        `Pub/Sub subscription '${this.subscriptionName}' does not exist`,
      );
    }
  }

  async #stop(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.#clearTimers();
    // 1. No new messages: what is buffered goes back now; arrivals are nacked (#onMessage).
    this.#nackBuffered();
    this.#wake();
    // 2. In-flight messages stay the caller's to settle; their leases keep being extended and
    //    their acks keep working because the subscriber stays open until they are settled.
    const reserve = Math.min(CLOSE_RESERVE_MS, Math.floor(timeoutMs / 4));
    if (this.#inFlight.size > 0) {
      this.#drained ??= deferred<undefined>();
      await within(this.#drained.promise, deadline - reserve - Date.now());
    }
    // 3. Out of time: fall back to nacking what is still in flight.
    const unsettled = [...this.#inFlight];
    if (unsettled.length > 0) {
      this.#logger.warn({ count: unsettled.length }, 'drain deadline passed; nacking in-flight');
      for (const entry of unsettled) entry.message.nack();
    }
    // 4. Close every subscriber: the client nacks what it still holds and flushes acks.
    const closeMs = Math.max(MIN_CLOSE_MS, deadline - Date.now());
    await Promise.all([...this.#leases].map((lease) => this.#closeLease(lease, closeMs)));
    this.#logger.info({ acked: this.#acked, nacked: this.#nacked }, 'stopped');
  }

  /**
   * A permanent stream error (the subscription was deleted, permission revoked): the iterator
   * throws it once, then the consumer stops as on `stop()` (what is in flight may still settle
   * within the deadline) and `done` rejects with it.
   */
  #fail(error: TributaryError): void {
    if (this.#lifecycle.stopRequested) return;
    this.#fatal = error;
    this.#logger.error({ code: error.code, err: error }, 'consumer failed');
    void this.#lifecycle.fail(error);
  }

  #clearTimers(): void {
    clearInterval(this.#stallTimer);
    this.#stallTimer = undefined;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
  }

  // ---- subscribers (leases) ---------------------------------------------------------------

  #clientOptions(closeTimeoutMs?: number): SubscriberOptions {
    return {
      flowControl: {
        maxMessages: this.#maxMessages,
        maxBytes: this.#maxBytes,
        allowExcessMessages: false,
      },
      minAckDeadline: Duration.from({ seconds: this.#minAckDeadlineSeconds }),
      maxAckDeadline: Duration.from({ seconds: this.#maxAckDeadlineSeconds }),
      maxExtensionTime: Duration.from({ seconds: this.#maxExtensionSeconds }),
      streamingOptions: { maxStreams: this.#maxStreams },
      // Acks free the client's inventory (and so its flow control) only once their batch was
      // sent and answered; a short batch window keeps that from throttling throughput.
      batching: { maxMilliseconds: this.#ackBatchMs },
      ...(closeTimeoutMs === undefined
        ? {}
        : {
            closeOptions: {
              behavior: 'NACK' as const,
              timeout: Duration.from({ milliseconds: closeTimeoutMs }),
            },
          }),
    };
  }

  #openLease(): Lease {
    const subscription = this.#pubsub.subscription(this.subscriptionName, this.#clientOptions());
    const lease = new Lease(subscription);
    this.#leases.add(lease);
    subscription.on('error', (error: unknown) => {
      this.#onLeaseError(lease, error);
    });
    subscription.on('close', () => {
      this.#onLeaseClosed(lease);
    });
    subscription.on('debug', (debug: { message?: unknown }) => {
      this.#logger.debug({ detail: String(debug.message) }, 'client debug');
    });
    // Adding the first 'message' listener opens the streams.
    subscription.on('message', (message: ClientMessage) => {
      this.#onMessage(lease, message);
    });
    return lease;
  }

  #onLeaseError(lease: Lease, error: unknown): void {
    const classified = classifyPubSubError(error, `subscription '${this.subscriptionName}'`);
    if (lease.state !== 'open' || lease !== this.#lease) {
      this.#logger.debug({ err: classified }, 'error on a replaced stream');
      return;
    }
    if (!classified.retriable) {
      this.#fail(classified);
      return;
    }
    this.#logger.warn({ code: classified.code, error: classified.message }, 'stream error');
    this.#restart(`stream error: ${classified.message}`, true);
  }

  #onLeaseClosed(lease: Lease): void {
    const wasCurrent = lease === this.#lease && lease.state === 'open';
    this.#forgetLease(lease);
    if (wasCurrent && this.#open) {
      this.#logger.warn({}, 'stream closed unexpectedly');
      this.#restart('stream closed unexpectedly', true);
    }
  }

  /** The client closed this subscriber and nacked what it held: drop its buffered messages. */
  #forgetLease(lease: Lease): void {
    lease.state = 'closed';
    clearTimeout(lease.retireTimer);
    this.#leases.delete(lease);
    if (this.#lease === lease) this.#lease = undefined;
    for (const entry of this.#buffer.remove((e) => e.lease === lease)) {
      this.#bufferedBytes -= entry.size;
      entry.settled = true;
      lease.held -= 1;
    }
  }

  /** Replaces the current subscriber; the old one lives on until its messages are settled. */
  #restart(reason: string, backoff: boolean): void {
    if (!this.#open || this.#restartTimer !== undefined) return;
    const old = this.#lease;
    this.#lease = undefined;
    if (old !== undefined) this.#retire(old);
    this.#restarts += 1;
    this.#restartReason = reason;
    const delayMs = backoff ? backoffDelayMs(RESTART_BACKOFF, this.#failures + 1) : 0;
    if (backoff) this.#failures += 1;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restartReason = undefined;
      if (!this.#open) return;
      this.#quietSince = Date.now();
      this.#lease = this.#openLease();
      this.#logger.info({ restarts: this.#restarts }, 'stream reopened');
    }, delayMs);
  }

  #retire(lease: Lease): void {
    if (lease.state !== 'open') return;
    lease.state = 'retiring';
    if (lease.held === 0) {
      void this.#closeLease(lease, 5_000);
      return;
    }
    lease.retireTimer = setTimeout(() => {
      void this.#closeLease(lease, 5_000);
    }, this.#maxExtensionSeconds * 1000);
  }

  async #closeLease(lease: Lease, timeoutMs: number): Promise<void> {
    if (lease.state === 'closing' || lease.state === 'closed') return;
    lease.state = 'closing';
    clearTimeout(lease.retireTimer);
    try {
      lease.subscription.setOptions(this.#clientOptions(timeoutMs));
      await lease.subscription.close();
    } catch (error) {
      this.#logger.warn({ err: error }, 'closing the subscriber failed');
    }
    this.#forgetLease(lease);
  }

  // ---- messages ---------------------------------------------------------------------------

  #onMessage(lease: Lease, client: ClientMessage): void {
    this.#received += 1;
    const now = Date.now();
    this.#quietSince = now;
    this.#armed = true;
    this.#stalledSince = undefined;
    this.#failures = 0;
    if (!this.#open || lease.state !== 'open') {
      // Stopping, or the stream is being replaced. Nacking here would free the client's
      // inventory, make it dispense the next held message and the server redeliver the nacked
      // one to the same open stream: a nack loop that inflates delivery attempts. Leaving the
      // message with the client (still leased) stops that; the client nacks it when the
      // subscriber closes.
      this.#refused += 1;
      return;
    }
    const entry = this.#createEntry(lease, client);
    // The client hands out at most maxInFlightMessages unsettled messages (allowExcessMessages
    // false), so the buffer only fills past its own limits when the client's accounting
    // overshoots (bytes by one message, messages dropped from leasing after maxExtension).
    const count = this.#buffer.length;
    if (
      count >= this.#maxMessages ||
      (count > 0 && this.#bufferedBytes + entry.size > this.#maxBytes)
    ) {
      entry.settled = true;
      client.nack();
      this.#overflowNacked += 1;
      this.#nacked += 1;
      if (this.#overflowNacked === 1 || this.#overflowNacked % 1000 === 0) {
        this.#logger.warn({ overflowNacked: this.#overflowNacked }, 'buffer full; nacked arrivals');
      }
      return;
    }
    lease.held += 1;
    this.#buffer.push(entry);
    this.#bufferedBytes += entry.size;
    this.#wake();
  }

  #createEntry(lease: Lease, client: ClientMessage): Entry {
    const attempt = client.deliveryAttempt;
    const message = createMessage({
      id: client.id,
      data: client.data,
      attributes: client.attributes,
      publishTime: new Date(client.publishTime.getTime()),
      orderingKey: client.orderingKey === '' ? undefined : client.orderingKey,
      deliveryAttempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
      onAck: () => {
        this.#settle(entry, true);
      },
      onNack: () => {
        this.#settle(entry, false);
      },
    });
    const entry: Entry = {
      client,
      lease,
      message,
      size: message.size,
      receivedAt: performance.now(),
      inFlight: false,
      settled: false,
    };
    return entry;
  }

  #settle(entry: Entry, ack: boolean): void {
    if (entry.settled) return;
    entry.settled = true;
    if (ack) {
      entry.client.ack();
      this.#acked += 1;
    } else {
      entry.client.nack();
      this.#nacked += 1;
    }
    const { lease } = entry;
    lease.held -= 1;
    if (entry.inFlight) {
      entry.inFlight = false;
      this.#inFlight.delete(entry);
      this.#inFlightBytes -= entry.size;
      if (this.#inFlight.size === 0 && this.#drained !== undefined) {
        this.#drained.resolve(undefined);
        this.#drained = undefined;
      }
      this.#wake();
    }
    if (lease.state === 'retiring' && lease.held === 0) void this.#closeLease(lease, 5_000);
  }

  #nackBuffered(): void {
    for (const entry of this.#buffer.drain()) entry.message.nack();
    this.#bufferedBytes = 0;
  }

  /** The next buffered message, if flow control lets it out now. */
  #take(): Entry | undefined {
    for (;;) {
      const entry = this.#buffer.peek();
      if (entry === undefined) return undefined;
      if (entry.settled) {
        this.#buffer.shift();
        this.#bufferedBytes -= entry.size;
        continue;
      }
      const count = this.#inFlight.size;
      if (
        count > 0 &&
        (count >= this.#maxMessages || this.#inFlightBytes + entry.size > this.#maxBytes)
      ) {
        return undefined;
      }
      this.#buffer.shift();
      this.#bufferedBytes -= entry.size;
      entry.inFlight = true;
      this.#inFlight.add(entry);
      this.#inFlightBytes += entry.size;
      if (this.#inFlight.size > this.#peakInFlight) this.#peakInFlight = this.#inFlight.size;
      return entry;
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    waiter.resolve(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.#iterating) {
      throw new TributaryError(
        'INVALID_ARGUMENT',
        `consumer for '${this.subscriptionName}' is already being iterated`,
      );
    }
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  async #next(): Promise<IteratorResult<Message>> {
    for (;;) {
      if (this.#open) {
        const entry = this.#take();
        if (entry !== undefined) return { done: false, value: entry.message };
      } else if (this.#fatal !== undefined) {
        const fatal = this.#fatal;
        this.#fatal = undefined; // thrown once; `done` keeps rejecting
        throw fatal;
      } else {
        return { done: true, value: undefined };
      }
      this.#waiter ??= deferred<undefined>();
      await this.#waiter.promise;
    }
  }

  // ---- stall detection and health ---------------------------------------------------------

  #checkStall(): void {
    if (!this.#open) return;
    const now = Date.now();
    const held = this.#inFlight.size + this.#buffer.length;
    const full =
      held >= this.#maxMessages || this.#inFlightBytes + this.#bufferedBytes >= this.#maxBytes;
    // Silence is expected while we are full (backpressure) or already reopening the stream.
    if (full || this.#restartTimer !== undefined || this.#lease === undefined) {
      this.#quietSince = now;
      return;
    }
    if (now - this.#quietSince < this.#stallTimeoutMs) return;
    if (this.#armed) {
      // Messages were flowing and stopped although we have room: reopen the stream once.
      this.#armed = false;
      this.#stalledSince = now;
      this.#quietSince = now;
      this.#logger.warn({ quietMs: this.#stallTimeoutMs }, 'stream looks stalled; reopening');
      this.#restart('no message while messages were flowing', false);
    } else if (this.#stalledSince !== undefined) {
      // The reopened stream brought nothing either: most likely an empty subscription.
      this.#stalledSince = undefined;
    }
  }

  health(): ComponentHealth {
    return this.#lifecycle.healthWhenRunning(() => this.#runningHealth());
  }

  #runningHealth(): ComponentHealth {
    if (this.#restartReason !== undefined) {
      return { ready: false, detail: `reopening the stream after ${this.#restartReason}` };
    }
    if (this.#stalledSince !== undefined) {
      const seconds = Math.round((Date.now() - this.#stalledSince + this.#stallTimeoutMs) / 1000);
      return {
        ready: false,
        detail: `stalled: no message for ${seconds}s while messages were flowing; stream reopened`,
      };
    }
    const quietMs = Date.now() - this.#quietSince;
    const load = `in flight ${this.#inFlight.size}/${this.#maxMessages}, buffered ${this.#buffer.length}`;
    if (quietMs >= this.#stallTimeoutMs) {
      return { ready: true, detail: `idle for ${Math.round(quietMs / 1000)}s; ${load}` };
    }
    return { ready: true, detail: `receiving; ${load}` };
  }

  /** {@link HeldWorkReporter}: the oldest message buffered or in flight. */
  oldestUnsettledAgeMs(): number {
    // Both are in arrival order: the first of each is its oldest.
    const inFlight: Entry | undefined = this.#inFlight.values().next().value;
    const oldest = Math.min(
      inFlight?.receivedAt ?? Infinity,
      this.#buffer.peek()?.receivedAt ?? Infinity,
    );
    return oldest === Infinity ? 0 : performance.now() - oldest;
  }

  /**
   * {@link HeldWorkReporter}: always 0. The client's flow control holds the stream back, not
   * this consumer; a stall shows as the age of the oldest message instead.
   */
  pausedForMs(): number {
    return 0;
  }

  stats(): PubSubConsumerStats {
    return {
      received: this.#received,
      acked: this.#acked,
      nacked: this.#nacked,
      inFlightMessages: this.#inFlight.size,
      inFlightBytes: this.#inFlightBytes,
      peakInFlightMessages: this.#peakInFlight,
      bufferedMessages: this.#buffer.length,
      bufferedBytes: this.#bufferedBytes,
      overflowNacked: this.#overflowNacked,
      refused: this.#refused,
      streamRestarts: this.#restarts,
      oldestUnsettledAgeMs: this.oldestUnsettledAgeMs(),
    };
  }
}

/**
 * Creates a consumer of a Pub/Sub subscription (streaming pull through `@google-cloud/pubsub`).
 * In-flight messages never exceed `maxInFlightMessages` / `maxInFlightBytes`, held messages keep
 * their leases extended until settled, a stalled or failed stream is reopened, and a missing
 * subscription fails `start()` with a NOT_FOUND {@link TributaryError} naming it.
 *
 * @throws {@link InvalidArgumentError} when an option is out of range
 */
export function createPubSubConsumer(options: PubSubConsumerOptions): PubSubConsumer {
  return new PubSubSubscriptionConsumer(options);
}
