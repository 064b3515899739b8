/** What one field of a component's `stats()` measures. */
export interface StatDescription {
  /** `counter`: only grows (exported with `_total`); `gauge`: goes up and down (a boolean is 0/1). */
  readonly kind: 'counter' | 'gauge';
  readonly help: string;
  /** The metric's name after the prefix, when not the field in snake_case (units: `_seconds`). */
  readonly name?: string | undefined;
  /** Multiplies the value, for unit conversion (0.001 turns milliseconds into seconds). */
  readonly scale?: number | undefined;
}

/**
 * Describes every numeric or boolean field of a component's `stats()`, so the runtime can expose
 * them as Prometheus metrics with the right type and name, and apps need no hand-built gauges.
 * The component that defines the stats exports its description beside them.
 */
export type StatsDescription<S> = {
  readonly [K in keyof S as S[K] extends number | boolean ? K : never]: StatDescription;
};

/**
 * A component's `stats()` with its description, ready for the runtime's `exposeStats`: what a
 * library hands an app that owns a metrics registry.
 */
export interface StatsSource<S = object> {
  /** Metric name prefix after `tributary_`, such as `mqtt` or `pubsub_consumer`. */
  readonly prefix: string;
  /** Read at every scrape. */
  readonly stats: () => S;
  /** The component's description of its fields; fields it does not list are not exported. */
  readonly description: StatsDescription<S>;
  /** Labels on every metric, for example `{ topic: 'raw' }` when one app has several producers. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}
