import {
  InvalidArgumentError,
  type ComponentHealth,
  type HealthReporter,
  type PipelineEvent,
} from '@tributary/messagepipeline';

/** Options for {@link createProgressMonitor}. */
export interface ProgressMonitorOptions {
  /** Not ready when work has been pending this long without progress. */
  readonly stallAfterMs: number;
  /** Whether the component starts out connected. @defaultValue true */
  readonly connected?: boolean | undefined;
  /** The clock. @defaultValue `Date.now` */
  readonly now?: (() => number) | undefined;
}

/**
 * Readiness that means "messages are flowing when there is work": a component is ready when it
 * is connected and, if work is pending, it made progress within `stallAfterMs`. Idle is ready.
 */
export interface ProgressMonitor extends HealthReporter {
  /** Something was settled or flushed: the component is moving. */
  markProgress(): void;
  /** Whether there is work waiting (messages in flight, a backlog, an open batch). */
  markWorkPending(pending: boolean): void;
  /** Connection state, with an optional reason shown on `/readyz`. */
  markConnected(connected: boolean, detail?: string): void;
  /**
   * Feeds the monitor from pipeline events: an `in-flight` event sets work pending (count \> 0);
   * `acked`, `nacked`, `dead-lettered`, `skipped` and `batch-flushed` are progress.
   */
  observe(event: PipelineEvent): void;
  health(): ComponentHealth;
}

/** Creates a {@link ProgressMonitor}. */
export function createProgressMonitor(options: ProgressMonitorOptions): ProgressMonitor {
  const { stallAfterMs } = options;
  if (!Number.isFinite(stallAfterMs) || stallAfterMs <= 0) {
    throw InvalidArgumentError.for('stallAfterMs', 'must be a positive number of milliseconds');
  }
  const now = options.now ?? Date.now;
  let connected = options.connected ?? true;
  let connectionDetail: string | undefined;
  let pending = false;
  /** The later of the last progress and the moment work became pending. */
  let lastMovedAt = now();

  const monitor: ProgressMonitor = {
    markProgress() {
      lastMovedAt = now();
    },
    markWorkPending(isPending) {
      if (isPending && !pending) lastMovedAt = Math.max(lastMovedAt, now());
      pending = isPending;
    },
    markConnected(isConnected, detail) {
      connected = isConnected;
      connectionDetail = detail;
    },
    observe(event) {
      switch (event.type) {
        case 'in-flight':
          monitor.markWorkPending(event.count > 0);
          break;
        case 'acked':
        case 'nacked':
        case 'dead-lettered':
        case 'skipped':
        case 'batch-flushed':
          lastMovedAt = now();
          break;
        case 'received':
        case 'retried':
          break;
      }
    },
    health() {
      if (!connected) return { ready: false, detail: connectionDetail ?? 'not connected' };
      if (!pending) return { ready: true, detail: 'idle' };
      const quietMs = now() - lastMovedAt;
      if (quietMs >= stallAfterMs) {
        return {
          ready: false,
          detail: `stalled: work pending but no progress for ${quietMs} ms (limit ${stallAfterMs} ms)`,
        };
      }
      return { ready: true, detail: `working, last progress ${quietMs} ms ago` };
    },
  };
  return monitor;
}
