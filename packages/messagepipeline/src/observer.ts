import type { TributaryError } from './errors.js';
import type { Message } from './message.js';

/**
 * Why a batch was flushed; `pressure`: to keep within the byte budget or the open-key limit of
 * keyed batching.
 */
export type FlushReason = 'items' | 'bytes' | 'age' | 'sink' | 'stop' | 'pressure';

/**
 * What a pipeline stage reports as it works; a metrics layer turns these into counters and
 * histograms. `stage` names the reporting component (for example `ingestion`).
 */
export type PipelineEvent =
  | { readonly type: 'received'; readonly stage: string; readonly message: Message }
  | {
      readonly type: 'acked';
      readonly stage: string;
      readonly message: Message;
      readonly latencyMs: number;
    }
  | {
      readonly type: 'nacked';
      readonly stage: string;
      readonly message: Message;
      readonly latencyMs: number;
      readonly error: TributaryError | undefined;
    }
  | {
      readonly type: 'dead-lettered';
      readonly stage: string;
      readonly message: Message;
      readonly error: TributaryError;
    }
  | {
      readonly type: 'retried';
      readonly stage: string;
      readonly message: Message;
      readonly attempt: number;
      readonly error: TributaryError;
    }
  | {
      readonly type: 'skipped';
      readonly stage: string;
      readonly message: Message;
      readonly reason: string;
    }
  | {
      /**
       * A message failed because of its destination (`TributaryError.destination`): nacked,
       * never dead-lettered. Precedes the `nacked` it causes.
       */
      readonly type: 'held';
      readonly stage: string;
      readonly message: Message;
      readonly error: TributaryError;
    }
  | {
      readonly type: 'in-flight';
      readonly stage: string;
      readonly count: number;
      readonly bytes: number;
    }
  | {
      readonly type: 'batch-flushed';
      readonly stage: string;
      readonly items: number;
      readonly bytes: number;
      readonly reason: FlushReason;
      readonly durationMs: number;
    };

/** Receives {@link PipelineEvent}s. Must be cheap and must not throw. */
export type PipelineObserver = (event: PipelineEvent) => void;
