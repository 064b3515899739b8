import { startBigQueryServer } from '../bigquery/server.js';
import { startGcsServer } from '../gcs/server.js';
import { LauncherError } from '../launchers/errors.js';
import { startFirestoreEmulator } from '../launchers/firestore-emulator.js';
import type { SdkOptions } from '../launchers/gcloud-sdk.js';
import type { JavaOptions } from '../launchers/java.js';
import { startMosquitto } from '../launchers/mosquitto.js';
import { startPubSubEmulator } from '../launchers/pubsub-emulator.js';
import { startRedis } from '../launchers/redis.js';
import {
  DEFAULT_TEST_PROJECT_ID,
  STACK_ENV_NAMES,
  type StackEnv,
  type StackEnvName,
} from './stack-env.js';

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions extends SdkOptions, JavaOptions {
  /**
   * Variables already set, such as the process environment. A service whose variable is set is
   * not started and its value is passed through, as are `GOOGLE_CLOUD_PROJECT` and
   * `METADATA_SERVER_DETECTION`. @defaultValue `{}` (start everything)
   */
  readonly existingEnv?: Readonly<Record<string, string | undefined>> | undefined;
  /** Used when `existingEnv` has no `GOOGLE_CLOUD_PROJECT`. @defaultValue 'test-proj' */
  readonly projectId?: string | undefined;
  /** Keep GCS buckets and objects in this directory across restarts; in memory when unset. */
  readonly gcsDataDir?: string | undefined;
  /** Keep BigQuery datasets and tables in this directory across restarts; in memory when unset. */
  readonly bigqueryDataDir?: string | undefined;
  /**
   * Start a private mosquitto with raised queue limits (`startPrivateMosquitto`) instead of
   * reusing the broker on 1883, whose default `max_queued_messages 1000` drops bursts for
   * persistent sessions. @defaultValue false (tests share the broker on 1883)
   */
  readonly privateMosquitto?: boolean | undefined;
  /** Per service. @defaultValue 30_000 */
  readonly readyTimeoutMs?: number | undefined;
  /** Receives one human-readable line per service started; silent when unset. */
  readonly log?: ((line: string) => void) | undefined;
}

/** One service of the stack. */
export interface StackService {
  /** The variable it provides, such as `PUBSUB_EMULATOR_HOST`. */
  readonly envName: StackEnvName;
  /** `started`: by this stack; `reused`: an already-running server; `external`: from the env. */
  readonly origin: 'started' | 'reused' | 'external';
  /** Time from start to ready, in milliseconds (0 unless started). */
  readonly startupMs: number;
  /** PID of the server process, when it is a child process this stack started. */
  readonly pid: number | undefined;
}

/** Every local service a test run or a laptop session needs, and the variables to reach them. */
export interface LocalStack {
  readonly env: StackEnv;
  readonly services: readonly StackService[];
  /** Stops everything this stack started, in parallel. Idempotent. */
  stop(): Promise<void>;
}

interface Running {
  readonly value: string;
  /** Variables this service also answers for (the BigQuery server's Storage Write API). */
  readonly also?: Partial<Record<StackEnvName, string | undefined>> | undefined;
  readonly reused: boolean;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

type ServiceEnvName = Exclude<
  StackEnvName,
  'GOOGLE_CLOUD_PROJECT' | 'METADATA_SERVER_DETECTION' | 'BIGQUERY_STORAGE_EMULATOR_HOST'
>;

/**
 * Starts, in parallel, the official Pub/Sub and Firestore emulators, our GCS and BigQuery servers,
 * Redis and Mosquitto (both reused from their standard ports when running there), skipping any
 * service whose variable `existingEnv` already sets. If one fails to start, the others are stopped
 * and the error lists every failure.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const existing = options.existingEnv ?? {};
  const projectId =
    existing['GOOGLE_CLOUD_PROJECT'] || options.projectId || DEFAULT_TEST_PROJECT_ID;
  const launch = {
    sdkRoot: options.sdkRoot,
    javaPath: options.javaPath,
    readyTimeoutMs: options.readyTimeoutMs,
  };
  const starters: Record<ServiceEnvName, () => Promise<Running>> = {
    PUBSUB_EMULATOR_HOST: async () => {
      const emulator = await startPubSubEmulator(launch);
      return {
        value: emulator.hostPort,
        reused: false,
        pid: emulator.pid,
        stop: () => emulator.stop(),
      };
    },
    FIRESTORE_EMULATOR_HOST: async () => {
      const emulator = await startFirestoreEmulator({ ...launch, projectId });
      return {
        value: emulator.hostPort,
        reused: false,
        pid: emulator.pid,
        stop: () => emulator.stop(),
      };
    },
    STORAGE_EMULATOR_HOST: async () => {
      const server = await startGcsServer({ dataDir: options.gcsDataDir });
      return {
        value: server.emulatorHost,
        reused: false,
        pid: undefined,
        stop: () => server.stop(),
      };
    },
    BIGQUERY_EMULATOR_HOST: async () => {
      const server = await startBigQueryServer({
        dataDir: options.bigqueryDataDir,
        writeApi: {},
      });
      return {
        value: server.emulatorHost,
        also: { BIGQUERY_STORAGE_EMULATOR_HOST: server.writeApi?.emulatorHost },
        reused: false,
        pid: undefined,
        stop: () => server.stop(),
      };
    },
    REDIS_URL: async () => {
      const redis = await startRedis({ readyTimeoutMs: options.readyTimeoutMs });
      return { value: redis.url, reused: !redis.started, pid: redis.pid, stop: () => redis.stop() };
    },
    MQTT_URL: async () => {
      const broker = await startMosquitto({
        readyTimeoutMs: options.readyTimeoutMs,
        reuseExisting: options.privateMosquitto !== true,
      });
      return {
        value: broker.url,
        reused: !broker.started,
        pid: broker.pid,
        stop: () => broker.stop(),
      };
    },
  };

  const names = Object.keys(starters) as ServiceEnvName[];
  const results = await Promise.allSettled(
    names.map(async (envName) => {
      const given = existing[envName];
      if (given) {
        return { envName, running: undefined, value: given, startupMs: 0 };
      }
      const began = Date.now();
      const running = await starters[envName]();
      return { envName, running, value: running.value, startupMs: Date.now() - began };
    }),
  );

  const stops: (() => Promise<void>)[] = [];
  const failures: string[] = [];
  let firstFailure: unknown;
  for (const [index, result] of results.entries()) {
    if (result.status === 'fulfilled') {
      const { running } = result.value;
      if (running !== undefined) stops.push(() => running.stop());
    } else {
      firstFailure ??= result.reason;
      const reason: unknown = result.reason;
      failures.push(
        `${names[index] ?? '?'}: ${reason instanceof Error ? reason.message : String(reason)}`,
      );
    }
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(stops.map((fn) => fn())).then(() => undefined));
  if (failures.length > 0) {
    await stop();
    throw new LauncherError(
      firstFailure instanceof LauncherError ? firstFailure.code : 'START_FAILED',
      `local stack failed to start:\n${failures.join('\n')}`,
      { cause: firstFailure },
    );
  }

  const values: Partial<Record<StackEnvName, string | undefined>> = {
    GOOGLE_CLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: existing['METADATA_SERVER_DETECTION'] || 'none',
    BIGQUERY_STORAGE_EMULATOR_HOST: existing['BIGQUERY_STORAGE_EMULATOR_HOST'],
  };
  const services: StackService[] = [];
  for (const result of results) {
    if (result.status !== 'fulfilled') continue;
    const { envName, running, value, startupMs } = result.value;
    values[envName] = value;
    for (const [name, also] of Object.entries(running?.also ?? {})) {
      if (also !== undefined) values[name as StackEnvName] ??= also;
    }
    const origin = running === undefined ? 'external' : running.reused ? 'reused' : 'started';
    services.push({ envName, origin, startupMs, pid: running?.pid });
    options.log?.(
      `${envName}=${value} (${origin}${origin === 'started' ? ` in ${startupMs} ms` : ''}${running?.pid === undefined ? '' : `, pid ${running.pid}`})`,
    );
  }
  const env = Object.fromEntries(
    STACK_ENV_NAMES.map((name) => [name, values[name] ?? '']),
  ) as StackEnv;
  return { env, services, stop };
}
