import { InvalidArgumentError, TributaryError } from '../errors.js';
import type { Streamable } from './channel.js';
import { requireInteger } from '../kernel/validate.js';

/** One closed window of one key. */
export interface WindowResult<K, A> {
  readonly key: K;
  /** Inclusive start of the window, in epoch milliseconds. */
  readonly startMs: number;
  /** Exclusive end of the window, in epoch milliseconds. */
  readonly endMs: number;
  /** The aggregate of the window's items of this key. */
  readonly value: A;
  /** How many items went into `value`. */
  readonly count: number;
}

/** Options shared by {@link tumblingWindows} and {@link slidingWindows}. */
export interface WindowOptions<T, K, A> {
  /** Window length in milliseconds. */
  readonly sizeMs: number;
  /** The grouping key of an item; keys are compared with `Map` semantics (SameValueZero). */
  readonly key: (item: T) => K;
  /** The event time of an item, in epoch milliseconds; must be a finite number. */
  readonly timestampMs: (item: T) => number;
  /** The aggregate of an empty window. */
  readonly initial: (key: K) => A;
  /** Adds one item to an aggregate (may mutate and return `accumulator`). */
  readonly reduce: (accumulator: A, item: T) => A;
  /**
   * How far behind the newest event time the watermark trails, i.e. how late an item may arrive
   * and still count. @defaultValue 0
   */
  readonly allowedLatenessMs?: number | undefined;
  /**
   * Open (window, key) groups kept at most; beyond it the oldest window closes early (its end
   * becomes the watermark). @defaultValue 10_000
   */
  readonly maxOpenGroups?: number | undefined;
  /**
   * Called for each item once every window it belongs to has been emitted and the consumer has
   * taken those results (pulled past them). Ack messages here. When set, items are retained
   * until then. @defaultValue items are not retained
   */
  readonly release?: ((item: T) => void) | undefined;
  /**
   * Called for an item whose windows have all closed already. @defaultValue drops it, after
   * calling `release` for it when given
   */
  readonly onLate?: ((item: T) => void) | undefined;
  /**
   * Called for each retained item that will never be released because the consumer stopped
   * early or the source failed. Nack messages here. @defaultValue drops them
   */
  readonly onDiscard?: ((item: T) => void) | undefined;
}

/** Options for {@link slidingWindows}. */
export interface SlidingWindowOptions<T, K, A> extends WindowOptions<T, K, A> {
  /** Distance between the starts of consecutive windows, in milliseconds; at most `sizeMs`. */
  readonly slideMs: number;
}

/**
 * Tumbling (fixed, non-overlapping) event-time windows with per-key aggregation: window
 * `[n * sizeMs, (n + 1) * sizeMs)` aggregates the items whose `timestampMs` falls inside it.
 *
 * Time is event time: the watermark is the greatest `timestampMs` seen so far minus
 * `allowedLatenessMs`, and a window closes (emits one {@link WindowResult} per key, keys in first-seen
 * order) as soon as the watermark reaches its end. Windows close in end order. When the source
 * ends, every open window closes. An item arriving for a closed window is late (`onLate`).
 * Windows with no items emit nothing. For processing-time windows, have `timestampMs` return an
 * injected clock's time; note that a window then still closes only when a later item arrives or
 * the source ends.
 */
export function tumblingWindows<T, K, A>(
  source: Streamable<T>,
  options: WindowOptions<T, K, A>,
): AsyncIterable<WindowResult<K, A>> {
  return windows(source, { ...options, slideMs: options.sizeMs });
}

/**
 * Sliding (hopping) event-time windows: windows of `sizeMs` start every `slideMs`, so each item
 * counts in up to `ceil(sizeMs / slideMs)` windows. Closing and emission follow
 * {@link tumblingWindows}; an item is late only when all its windows have closed (otherwise it
 * joins the ones still open).
 */
export function slidingWindows<T, K, A>(
  source: Streamable<T>,
  options: SlidingWindowOptions<T, K, A>,
): AsyncIterable<WindowResult<K, A>> {
  return windows(source, options);
}

interface Group<A> {
  value: A;
  count: number;
}

function windows<T, K, A>(
  source: Streamable<T>,
  options: SlidingWindowOptions<T, K, A>,
): AsyncIterable<WindowResult<K, A>> {
  const { sizeMs, slideMs, key, timestampMs, initial, reduce, release, onDiscard } = options;
  requireInteger('sizeMs', sizeMs);
  requireInteger('slideMs', slideMs);
  if (slideMs > sizeMs) throw InvalidArgumentError.for('slideMs', `must be <= sizeMs (${sizeMs})`);
  const latenessMs = options.allowedLatenessMs ?? 0;
  if (!Number.isFinite(latenessMs) || latenessMs < 0) {
    throw InvalidArgumentError.for('allowedLatenessMs', 'must be a finite number >= 0');
  }
  const maxOpenGroups = requireInteger('maxOpenGroups', options.maxOpenGroups ?? 10_000);
  const onLate =
    options.onLate ??
    ((item: T): void => {
      release?.(item);
    });

  return {
    async *[Symbol.asyncIterator]() {
      /** Open windows by start, each holding its groups in first-seen key order. */
      const open = new Map<number, Map<K, Group<A>>>();
      /** Retained items (only when `release` is set), by the end of their last window. */
      const retained = new Map<number, T[]>();
      let openGroups = 0;
      let watermark = Number.NEGATIVE_INFINITY;

      /** Closes every window ending at or before `until`, oldest first. */
      function* close(until: number): Generator<WindowResult<K, A>, void, undefined> {
        const starts = [...open.keys()].filter((start) => start + sizeMs <= until);
        starts.sort((a, b) => a - b);
        for (const start of starts) {
          const groups = open.get(start);
          open.delete(start);
          if (groups === undefined) continue;
          openGroups -= groups.size;
          for (const [groupKey, group] of groups) {
            yield {
              key: groupKey,
              startMs: start,
              endMs: start + sizeMs,
              value: group.value,
              count: group.count,
            };
          }
        }
      }

      /** Releases retained items whose last window ended at or before `until`. */
      const releaseUpTo = (until: number): void => {
        if (release === undefined) return;
        const ends = [...retained.keys()].filter((end) => end <= until);
        ends.sort((a, b) => a - b);
        for (const end of ends) {
          const items = retained.get(end) ?? [];
          retained.delete(end);
          for (const item of items) release(item);
        }
      };

      const add = (item: T, time: number): void => {
        const lastStart = Math.floor(time / slideMs) * slideMs;
        const lastEnd = lastStart + sizeMs;
        if (lastEnd <= watermark) {
          onLate(item);
          return;
        }
        const itemKey = key(item);
        for (let start = lastStart; start > time - sizeMs; start -= slideMs) {
          if (start + sizeMs <= watermark) break;
          let groups = open.get(start);
          if (groups === undefined) {
            groups = new Map();
            open.set(start, groups);
          }
          let group = groups.get(itemKey);
          if (group === undefined) {
            group = { value: initial(itemKey), count: 0 };
            groups.set(itemKey, group);
            openGroups += 1;
          }
          group.value = reduce(group.value, item);
          group.count += 1;
        }
        if (release !== undefined) {
          const list = retained.get(lastEnd);
          if (list === undefined) retained.set(lastEnd, [item]);
          else list.push(item);
        }
      };

      try {
        for await (const item of source) {
          const time = timestampMs(item);
          if (!Number.isFinite(time)) {
            throw TributaryError.permanent(
              'INVALID_PAYLOAD',
              `window timestamp must be a finite number of milliseconds, got ${String(time)}`,
            );
          }
          add(item, time);
          if (time - latenessMs > watermark) {
            watermark = time - latenessMs;
            yield* close(watermark);
            releaseUpTo(watermark);
          }
          while (openGroups > maxOpenGroups) {
            watermark = Math.max(watermark, Math.min(...open.keys()) + sizeMs);
            yield* close(watermark);
            releaseUpTo(watermark);
          }
        }
        watermark = Number.POSITIVE_INFINITY;
        yield* close(watermark);
        releaseUpTo(watermark);
      } finally {
        for (const items of retained.values()) {
          for (const item of items) onDiscard?.(item);
        }
        retained.clear();
      }
    },
  };
}
