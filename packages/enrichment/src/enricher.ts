import type { Fetcher, Lookup as CacheLookup } from '@tributary/cache';
import {
  decodeEnvelope,
  emit,
  encodeEnvelope,
  InvalidArgumentError,
  TributaryError,
  type Message,
  type OutgoingMessage,
  type StatsDescription,
  type Transformer,
  type TransformResult,
} from '@tributary/messagepipeline';
import { valueAt } from './json-path.js';
import type { Lookup } from './lookups-file.js';
import type { Reference } from './fetchers.js';

/** Options for {@link createEnricher}. */
export interface EnricherOptions {
  /** The lookups, in order (from a lookups file). */
  readonly lookups: readonly Lookup[];
  /** The fetcher of each name the lookups use. */
  readonly fetchers: ReadonlyMap<string, Fetcher<string, Reference>>;
  /**
   * Dead-letter a payload that is not JSON even when no lookup reads it. @defaultValue false
   * (a lookup with a payload key always needs JSON)
   */
  readonly requireJsonPayload?: boolean | undefined;
}

/** Counters of one lookup. */
export interface LookupStats {
  /** Messages that got this lookup's result. */
  readonly enriched: number;
  readonly noKeyPassed: number;
  readonly noKeyDeadLettered: number;
  readonly missPassed: number;
  readonly missDeadLettered: number;
  readonly missNacked: number;
  /** Lookups that failed (the message is retried, then nacked). */
  readonly errors: number;
}

/** What each {@link LookupStats} field measures. */
export const lookupStatsDescription: StatsDescription<LookupStats> = {
  enriched: { kind: 'counter', help: 'Messages enriched by the lookup' },
  noKeyPassed: { kind: 'counter', help: 'Messages without a key, passed on unenriched' },
  noKeyDeadLettered: { kind: 'counter', help: 'Messages without a key, dead-lettered' },
  missPassed: { kind: 'counter', help: 'Keys not found, message passed on unenriched' },
  missDeadLettered: { kind: 'counter', help: 'Keys not found, message dead-lettered' },
  missNacked: { kind: 'counter', help: 'Keys not found, message nacked for redelivery' },
  errors: { kind: 'counter', help: 'Failed lookups (retried, then nacked)' },
};

/** Counters of the enricher as a whole. */
export interface EnricherStats {
  /** Messages transformed (each attempt counts). */
  readonly messages: number;
  /** Payloads that had to be JSON and were not (dead-lettered). */
  readonly invalidJson: number;
}

/** What each {@link EnricherStats} field measures. */
export const enricherStatsDescription: StatsDescription<EnricherStats> = {
  messages: { kind: 'counter', help: 'Messages enriched or attempted' },
  invalidJson: { kind: 'counter', help: 'Payloads that had to be JSON and were not' },
};

/** The attribute that marks a message a lookup could not enrich: `no-key` or `miss`. */
export function markerAttribute(lookup: string): string {
  return `enrichment.${lookup}`;
}

/** The enrichment stage: a transformer producing the outgoing message, and its counters. */
export interface Enricher {
  /** Unwraps the input envelope, runs the lookups, and encodes the output (envelope v1). */
  readonly transform: Transformer<OutgoingMessage>;
  stats(): EnricherStats;
  lookupStats(lookup: string): LookupStats;
}

/** A fetcher that may answer from memory synchronously (a cache chain with an LRU in front). */
type PeekableFetcher = Fetcher<string, Reference> & {
  readonly peek?: (key: string) => CacheLookup<Reference> | undefined;
};

type MutableLookupStats = { -readonly [K in keyof LookupStats]: number };

/**
 * Creates an enricher. For each message: unwrap the input envelope (version 1, or the Go
 * original's `enrichmentData`), run every lookup in order, and publish `payload` plus the merged
 * `enrichment` (upstream entries kept, ours added under each lookup's name) as envelope v1, with
 * the attributes and the ordering key unchanged except for the lifted attributes and markers.
 *
 * Policies, each counted: no key: pass (marker `enrichment.<name>: no-key`) or dead-letter
 * (`INVALID_PAYLOAD`); miss: pass (marker `miss`), dead-letter (`NOT_FOUND`) or nack (a transient
 * `NOT_FOUND`: retried, then nacked, so late reference data is picked up on redelivery); a failed
 * lookup is transient (retried, then nacked), never acked; a payload that must be JSON and is not
 * is dead-lettered (`INVALID_PAYLOAD`).
 * @throws {@link InvalidArgumentError} when a lookup names a fetcher that is not given.
 */
export function createEnricher(options: EnricherOptions): Enricher {
  const { lookups, fetchers } = options;
  for (const lookup of lookups) {
    if (!fetchers.has(lookup.fetcher)) {
      throw InvalidArgumentError.for(
        'fetchers',
        `has no fetcher '${lookup.fetcher}' (lookup '${lookup.name}')`,
      );
    }
  }
  const needsJson =
    options.requireJsonPayload === true || lookups.some((lookup) => lookup.key.kind === 'payload');
  const perLookup = new Map<string, MutableLookupStats>(
    lookups.map((lookup) => [
      lookup.name,
      {
        enriched: 0,
        noKeyPassed: 0,
        noKeyDeadLettered: 0,
        missPassed: 0,
        missDeadLettered: 0,
        missNacked: 0,
        errors: 0,
      },
    ]),
  );
  const totals = { messages: 0, invalidJson: 0 };

  /** What one message carries through its lookups. */
  interface Work {
    readonly message: Message;
    readonly input: Message;
    readonly payload: unknown;
    readonly results: Record<string, Reference>;
    attributes: Record<string, string> | undefined;
  }

  const setAttribute = (work: Work, name: string, value: string): void => {
    (work.attributes ??= { ...work.input.attributes })[name] = value;
  };

  /** Applies one lookup's answer by its policies; throws for dead-letter and nack. */
  const apply = (work: Work, lookup: Lookup, key: string, found: Reference | undefined): void => {
    const stats = perLookup.get(lookup.name) as MutableLookupStats;
    if (found === undefined) {
      const what = `lookup '${lookup.name}' found nothing for '${key}'`;
      if (lookup.onMiss === 'dead-letter') {
        stats.missDeadLettered++;
        throw TributaryError.permanent('NOT_FOUND', `message ${work.message.id}: ${what}`);
      }
      if (lookup.onMiss === 'nack') {
        stats.missNacked++;
        throw TributaryError.transient('NOT_FOUND', `message ${work.message.id}: ${what} (yet)`);
      }
      stats.missPassed++;
      setAttribute(work, markerAttribute(lookup.name), 'miss');
      return;
    }
    stats.enriched++;
    work.results[lookup.name] = pick(found, lookup.fields);
    for (const [attribute, field] of Object.entries(lookup.attributes)) {
      const value = attributeValue(found[field]);
      if (value !== undefined) setAttribute(work, attribute, value);
    }
  };

  /**
   * Runs the lookups from `from` on: synchronously while the fetchers answer from memory (a
   * warm LRU costs no promise), then asynchronously from the first that must wait.
   */
  const run = (
    work: Work,
    from: number,
  ): TransformResult<OutgoingMessage> | Promise<TransformResult<OutgoingMessage>> => {
    for (let index = from; index < lookups.length; index++) {
      const lookup = lookups[index] as Lookup;
      const stats = perLookup.get(lookup.name) as MutableLookupStats;
      const key = keyOf(lookup, work.input, work.payload, work.results);
      if (key === undefined) {
        if (lookup.onMissingKey === 'dead-letter') {
          stats.noKeyDeadLettered++;
          throw TributaryError.permanent(
            'INVALID_PAYLOAD',
            `message ${work.message.id} has no key for lookup '${lookup.name}' (${describeKey(lookup)})`,
          );
        }
        stats.noKeyPassed++;
        setAttribute(work, markerAttribute(lookup.name), 'no-key');
        continue;
      }
      const fetcher = fetchers.get(lookup.fetcher) as PeekableFetcher;
      const known = typeof fetcher.peek === 'function' ? fetcher.peek(key) : undefined;
      if (known !== undefined) {
        apply(work, lookup, key, known.found ? known.value : undefined);
        continue;
      }
      return fetcher.get(key).then(
        (found) => {
          apply(work, lookup, key, found);
          return run(work, index + 1);
        },
        (error: unknown) => {
          stats.errors++;
          throw error;
        },
      );
    }
    const { input, results } = work;
    return emit(
      encodeEnvelope({
        data: input.data,
        attributes: work.attributes ?? input.attributes,
        orderingKey: input.orderingKey,
        enrichment:
          Object.keys(results).length === 0
            ? input.enrichment
            : { ...input.enrichment, ...results },
      }),
    );
  };

  const transform: Transformer<OutgoingMessage> = (message) => {
    totals.messages++;
    const input = decodeEnvelope(message);
    let payload: unknown;
    if (needsJson) {
      try {
        payload = JSON.parse(decoder.decode(input.data));
      } catch (error) {
        totals.invalidJson++;
        throw TributaryError.permanent(
          'INVALID_PAYLOAD',
          `message ${message.id}: the payload is not JSON`,
          error,
        );
      }
    }
    return run({ message, input, payload, results: {}, attributes: undefined }, 0);
  };

  return {
    transform,
    stats: () => ({ ...totals }),
    lookupStats: (lookup) => {
      const stats = perLookup.get(lookup);
      if (stats === undefined)
        throw InvalidArgumentError.for('lookup', `'${lookup}' is not a lookup`);
      return { ...stats };
    },
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The key of `lookup` for this message, or `undefined` when there is none (or it is empty). */
function keyOf(
  lookup: Lookup,
  message: Message,
  payload: unknown,
  results: Readonly<Record<string, Reference>>,
): string | undefined {
  let raw: unknown;
  switch (lookup.key.kind) {
    case 'attribute':
      raw = message.attributes[lookup.key.attribute];
      break;
    case 'payload':
      raw = valueAt(payload, lookup.key.steps);
      break;
    case 'lookup':
      raw = results[lookup.key.lookup]?.[lookup.key.field];
      break;
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  return typeof raw === 'string' && raw !== '' ? raw : undefined;
}

function describeKey(lookup: Lookup): string {
  switch (lookup.key.kind) {
    case 'attribute':
      return `attribute '${lookup.key.attribute}'`;
    case 'payload':
      return `payload ${lookup.key.path}`;
    case 'lookup':
      return `field '${lookup.key.field}' of lookup '${lookup.key.lookup}'`;
  }
}

function pick(value: Reference, fields: readonly string[] | undefined): Reference {
  if (fields === undefined) return value;
  const picked: Record<string, unknown> = {};
  for (const field of fields) if (value[field] !== undefined) picked[field] = value[field];
  return picked;
}

function attributeValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
