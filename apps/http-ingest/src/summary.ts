/** Seed 003's JSON metrics: what the service received and did, served at `/stats`. */
export interface IngestSummary {
  /** Events received (valid or not). */
  readonly received: number;
  /** Events published: Pub/Sub confirmed them and the client got 202. */
  readonly processed: number;
  /** Events refused for their content (400 or a rejected batch result). */
  readonly rejected: number;
  /** Valid events whose publish failed (503 or a failed batch result). */
  readonly failed: number;
  /** Retries answered from the recent-ids cache, not published again. */
  readonly duplicates: number;
  /** Requests refused before their body was read: 401/403, 429, 503. */
  readonly refusedRequests: number;
  /** Mean time from receiving an event to Pub/Sub's confirmation, over the last 10 s. */
  readonly averageLatencyMs: number;
  /** Events published per second, over the last 10 s. */
  readonly eventsPerSecond: number;
  readonly uptimeSeconds: number;
}

const WINDOW_SECONDS = 10;

/** Counters plus a 10-second sliding window (one bucket per second) for the rates. */
export class SummaryCounters {
  received = 0;
  processed = 0;
  rejected = 0;
  failed = 0;
  duplicates = 0;
  refusedRequests = 0;
  readonly #startedAt = Date.now();
  readonly #events = new Float64Array(WINDOW_SECONDS);
  readonly #latencyMs = new Float64Array(WINDOW_SECONDS);
  #second = Math.floor(Date.now() / 1000);

  /** Counts one published event and its latency. */
  published(latencyMs: number): void {
    this.processed += 1;
    const bucket = this.#advance();
    this.#events[bucket] = (this.#events[bucket] ?? 0) + 1;
    this.#latencyMs[bucket] = (this.#latencyMs[bucket] ?? 0) + latencyMs;
  }

  summary(): IngestSummary {
    this.#advance();
    let events = 0;
    let latency = 0;
    for (let i = 0; i < WINDOW_SECONDS; i++) {
      events += this.#events[i] ?? 0;
      latency += this.#latencyMs[i] ?? 0;
    }
    return {
      received: this.received,
      processed: this.processed,
      rejected: this.rejected,
      failed: this.failed,
      duplicates: this.duplicates,
      refusedRequests: this.refusedRequests,
      averageLatencyMs: events === 0 ? 0 : Math.round((latency / events) * 100) / 100,
      eventsPerSecond: Math.round((events / WINDOW_SECONDS) * 100) / 100,
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
    };
  }

  /** Clears the buckets of the seconds that passed; returns the current bucket. */
  #advance(): number {
    const now = Math.floor(Date.now() / 1000);
    const passed = Math.min(now - this.#second, WINDOW_SECONDS);
    for (let i = 1; i <= passed; i++) {
      const bucket = (this.#second + i) % WINDOW_SECONDS;
      this.#events[bucket] = 0;
      this.#latencyMs[bucket] = 0;
    }
    this.#second = now;
    return now % WINDOW_SECONDS;
  }
}
