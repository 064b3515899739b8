import type { ComponentHealth, Service, StopOptions } from '@tributary/messagepipeline';
import { deferred } from '@tributary/messagepipeline/kernel';

/** A service whose behaviour a test controls, recording what happened into a shared journal. */
export interface FakeService extends Service {
  readonly stopCalls: (StopOptions | undefined)[];
  /** Rejects `done` as a crash would. */
  crash(error: unknown): void;
  /** Resolves `done` without anyone calling `stop()`. */
  finish(): void;
}

export interface FakeServiceBehaviour {
  /** Runs inside `start()`. */
  readonly start?: (() => Promise<void>) | undefined;
  /** Runs inside `stop()`, before `done` resolves. */
  readonly stop?: ((options: StopOptions | undefined) => Promise<void>) | undefined;
  readonly health?: (() => ComponentHealth) | undefined;
}

export function createFakeService(
  name: string,
  journal: string[],
  behaviour: FakeServiceBehaviour = {},
): FakeService & { health?: () => ComponentHealth } {
  const done = deferred<undefined>();
  done.promise.catch(() => undefined);
  const stopCalls: (StopOptions | undefined)[] = [];
  let stopping: Promise<void> | undefined;
  const stopOnce = (): Promise<void> =>
    (stopping ??= (async () => {
      journal.push(`stop ${name}`);
      await behaviour.stop?.(stopCalls[0]);
      journal.push(`stopped ${name}`);
      done.resolve(undefined);
    })());
  const service = {
    async start() {
      journal.push(`start ${name}`);
      await behaviour.start?.();
      journal.push(`started ${name}`);
    },
    stop(options?: StopOptions) {
      stopCalls.push(options);
      return stopOnce();
    },
    done: done.promise,
    stopCalls,
    crash(error: unknown) {
      done.reject(error);
    },
    finish() {
      done.resolve(undefined);
    },
  };
  const health = behaviour.health;
  return health === undefined ? service : { ...service, health };
}
