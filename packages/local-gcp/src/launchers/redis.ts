import { launchProcess, type LaunchSpec } from './launch.js';
import type { LocalProcess, ProcessLaunchOptions } from './local-process.js';
import { DEFAULT_HOST } from './local-process.js';
import { answersRedisPing } from './probes.js';

/** Options for {@link startRedis}. */
export interface RedisOptions extends ProcessLaunchOptions {
  /**
   * Use a Redis server that already answers PING on `host:existingPort` instead of starting one.
   * @defaultValue true
   */
  readonly reuseExisting?: boolean | undefined;
  /** Where to look for an existing server. @defaultValue 6379 */
  readonly existingPort?: number | undefined;
  /** The redis-server executable. @defaultValue 'redis-server' (looked up on PATH) */
  readonly redisServerPath?: string | undefined;
}

/** A Redis server on loopback: an existing one, or one this launcher started. */
export interface RedisServer extends LocalProcess {
  /** `redis://host:port`, the value for `REDIS_URL`. */
  readonly url: string;
  /** True when this launcher started the server (and `stop()` ends it). */
  readonly started: boolean;
}

/** The standard Redis port. */
export const REDIS_STANDARD_PORT = 6379;

/**
 * Returns the Redis server answering on the standard port, or starts
 * `redis-server --port N --bind host --save '' --appendonly no` (no persistence) on a free port.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const host = options.host ?? DEFAULT_HOST;
  const existingPort = options.existingPort ?? REDIS_STANDARD_PORT;
  if ((options.reuseExisting ?? true) && (await answersRedisPing(host, existingPort))) {
    return {
      host,
      port: existingPort,
      pid: undefined,
      logFile: undefined,
      url: `redis://${host}:${existingPort}`,
      started: false,
      stop: () => Promise.resolve(),
    };
  }
  const launched = await launchProcess(redisServerSpec(options), options);
  return {
    host: launched.host,
    port: launched.port,
    pid: launched.pid,
    logFile: launched.logFile,
    url: `redis://${launched.host}:${launched.port}`,
    started: true,
    stop: () => launched.stop(),
  };
}

/**
 * What to run for one private `redis-server` without persistence; `extraArgs` (say, the cluster
 * settings) may write files into the work directory and are appended to the standard ones.
 */
export function redisServerSpec(
  options: Pick<RedisOptions, 'redisServerPath'>,
  name = 'redis',
  extraArgs: (host: string, port: number, workDir: string) => Promise<readonly string[]> = () =>
    Promise.resolve([]),
): LaunchSpec {
  return {
    name,
    command: options.redisServerPath ?? 'redis-server',
    installHint: 'install the redis-server package',
    args: async (bindHost, port, workDir) => [
      '--port',
      String(port),
      '--bind',
      bindHost,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      workDir,
      ...(await extraArgs(bindHost, port, workDir)),
    ],
    probe: (probeHost, port) => answersRedisPing(probeHost, port),
  };
}
