import type { IncomingMessage } from 'node:http';

/**
 * A rule that makes the next `count` matching requests fail with `status`, hang for `hangMs`
 * before being served (or failed, when both are given), or be served and answered only
 * `answerAfterMs` later. Tests use it to prove retry paths.
 */
export interface FaultRule {
  /** HTTP status to answer with, such as 429, 500 or 503. */
  readonly status?: number | undefined;
  /** Delay before the request is served (or failed), in milliseconds. */
  readonly hangMs?: number | undefined;
  /**
   * Serve the request at once (an upload is stored), then hold its answer this long, in
   * milliseconds: a response the client hears late, or never if it gives up or dies first. Not
   * with `status`.
   */
  readonly answerAfterMs?: number | undefined;
  /** How many matching requests the rule applies to. @defaultValue 1 */
  readonly count?: number | undefined;
  /** Only requests of this kind (the server's name for an operation, such as `insertAll`). */
  readonly kind?: string | undefined;
  /** Only requests with this HTTP method. */
  readonly method?: string | undefined;
}

/** The fault chosen for one request. */
export interface Fault {
  readonly status: number | undefined;
  readonly hangMs: number | undefined;
  readonly answerAfterMs: number | undefined;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

/** Holds fault rules and hands them out to matching requests, first rule first. */
export class FaultInjector {
  readonly #rules: ActiveRule[] = [];

  /** Adds a rule; it applies to the next `count` matching requests. */
  inject(rule: FaultRule): void {
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError("'count' must be >= 1");
    if (
      rule.status === undefined &&
      rule.hangMs === undefined &&
      rule.answerAfterMs === undefined
    ) {
      throw new RangeError("a fault needs 'status', 'hangMs' or 'answerAfterMs'");
    }
    if (rule.status !== undefined && rule.answerAfterMs !== undefined) {
      throw new RangeError("'answerAfterMs' serves the request: it cannot go with 'status'");
    }
    this.#rules.push({ rule, remaining: count });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules.length = 0;
  }

  /** The fault for this request, if any rule matches; consumes one use of that rule. */
  take(request: IncomingMessage, kind: string): Fault | undefined {
    const index = this.#rules.findIndex(
      ({ rule }) =>
        (rule.kind === undefined || rule.kind === kind) &&
        (rule.method === undefined || rule.method.toUpperCase() === request.method),
    );
    if (index < 0) return undefined;
    const active = this.#rules[index];
    if (active === undefined) return undefined;
    active.remaining -= 1;
    if (active.remaining === 0) this.#rules.splice(index, 1);
    return {
      status: active.rule.status,
      hangMs: active.rule.hangMs,
      answerAfterMs: active.rule.answerAfterMs,
    };
  }
}

/** Path of the control endpoint both servers serve: POST a {@link FaultRule}, DELETE to clear. */
export const FAULTS_PATH = '/__tributary/faults';

/**
 * Adds a fault rule to a running local server over HTTP, for tests whose server runs in another
 * process (the vitest global setup).
 */
export async function injectFault(baseUrl: string, rule: FaultRule): Promise<void> {
  const response = await fetch(new URL(FAULTS_PATH, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  if (!response.ok) throw new Error(`injecting a fault failed: HTTP ${response.status}`);
}

/** Clears every fault rule of a running local server. */
export async function clearFaults(baseUrl: string): Promise<void> {
  const response = await fetch(new URL(FAULTS_PATH, baseUrl), { method: 'DELETE' });
  if (!response.ok) throw new Error(`clearing faults failed: HTTP ${response.status}`);
}
