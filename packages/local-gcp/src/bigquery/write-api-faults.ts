/** The BigQuery Write API's RPCs, as fault rules name them. */
export type WriteApiMethod =
  | 'CreateWriteStream'
  | 'GetWriteStream'
  | 'AppendRows'
  | 'FinalizeWriteStream'
  | 'BatchCommitWriteStreams'
  | 'FlushRows';

/**
 * A fault for the next `count` matching calls (for AppendRows: the next matching requests on
 * any connection): answer with the gRPC status `code` (14 UNAVAILABLE and 10 ABORTED end an
 * AppendRows connection, as the real service does), and/or first hang for `hangMs`.
 */
export interface WriteApiFaultRule {
  /** gRPC status code, such as 14 (UNAVAILABLE) or 10 (ABORTED). */
  readonly code?: number | undefined;
  /** Delay before the call or request is served (or failed), in milliseconds. */
  readonly hangMs?: number | undefined;
  /** How many matching calls the rule applies to. @defaultValue 1 */
  readonly count?: number | undefined;
  /** Only this RPC. @defaultValue every RPC */
  readonly method?: WriteApiMethod | undefined;
  /**
   * AppendRows only: serve the request first (its rows are written), then hang and/or fail the
   * answer: a lost response, the case exactly-once appends exist for. @defaultValue false
   */
  readonly afterWrite?: boolean | undefined;
}

/** The fault chosen for one call. */
export interface WriteApiFault {
  readonly code: number | undefined;
  readonly hangMs: number | undefined;
  readonly afterWrite: boolean;
}

/** Holds fault rules for the Write API server and hands them out, first rule first. */
export class WriteApiFaults {
  readonly #rules: { rule: WriteApiFaultRule; remaining: number }[] = [];

  /** Adds a rule; it applies to the next `count` matching calls. */
  inject(rule: WriteApiFaultRule): void {
    const count = rule.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError("'count' must be >= 1");
    if (rule.code === undefined && rule.hangMs === undefined) {
      throw new RangeError("a fault needs 'code' or 'hangMs'");
    }
    this.#rules.push({ rule, remaining: count });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules.length = 0;
  }

  /** The fault for this call, if a rule matches; consumes one use of that rule. */
  take(method: WriteApiMethod): WriteApiFault | undefined {
    const index = this.#rules.findIndex(
      ({ rule }) => rule.method === undefined || rule.method === method,
    );
    const active = this.#rules[index];
    if (active === undefined) return undefined;
    active.remaining -= 1;
    if (active.remaining === 0) this.#rules.splice(index, 1);
    return {
      code: active.rule.code,
      hangMs: active.rule.hangMs,
      afterWrite: active.rule.afterWrite === true,
    };
  }
}
