import { setTimeout as delay } from 'node:timers/promises';
import { LauncherError } from './errors.js';
import { findFreePort } from './free-port.js';
import { launchProcess, type LaunchedProcess } from './launch.js';
import type { ProcessLaunchOptions } from './local-process.js';
import { DEFAULT_HOST } from './local-process.js';
import { sendRedisCommand } from './probes.js';
import { redisServerSpec, type RedisServer } from './redis.js';
import { DEFAULT_READY_TIMEOUT_MS } from './wait-ready.js';

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions extends Omit<ProcessLaunchOptions, 'port' | 'logFile'> {
  /** Master nodes; the 16,384 hash slots are split evenly among them. @defaultValue 3 */
  readonly masters?: number | undefined;
  /** The redis-server executable. @defaultValue 'redis-server' (looked up on PATH) */
  readonly redisServerPath?: string | undefined;
}

/** A private Redis Cluster on loopback, every node started by {@link startRedisCluster}. */
export interface RedisCluster {
  readonly host: string;
  /** One private server per master, in slot order. */
  readonly nodes: readonly RedisServer[];
  /** Every node's `redis://host:port`, comma-separated: the seed list for `REDIS_URL`. */
  readonly url: string;
  /** Stops every node. Idempotent. */
  stop(): Promise<void>;
}

const HASH_SLOTS = 16_384;

/**
 * Starts `masters` private `redis-server --cluster-enabled yes` nodes (no persistence, no
 * replicas) on free ports, assigns each an even share of the hash slots, joins them with
 * `CLUSTER MEET`, and waits until every node reports `cluster_state:ok` and knows all the others.
 * Each node's cluster bus port is chosen free too (the default, port + 10,000, may not exist
 * for a high port). Needs Redis 7 (`CLUSTER ADDSLOTSRANGE`, `cluster-port`).
 * @throws {@link LauncherError} `MISSING_DEPENDENCY`, `START_FAILED`, or `NOT_READY` when the
 *   cluster does not form in `readyTimeoutMs`; every node started is stopped again.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const host = options.host ?? DEFAULT_HOST;
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 1) {
    throw new RangeError(`masters must be a positive integer, got ${masters}`);
  }
  const busPorts = new Map<number, number>();
  const spec = redisServerSpec(options, 'redis-cluster', async (bindHost, port) => {
    const busPort = await findFreePort(bindHost);
    busPorts.set(port, busPort);
    return [
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(busPort),
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '5000',
    ];
  });

  const settled = await Promise.allSettled(
    Array.from({ length: masters }, () => launchProcess(spec, options)),
  );
  const launched = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(launched.map((node) => node.stop())).then(() => undefined));
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure !== undefined) {
    await stop();
    throw failure.reason;
  }

  try {
    await formCluster(host, launched, busPorts, options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = launched.map((node): RedisServer => ({
    host: node.host,
    port: node.port,
    pid: node.pid,
    logFile: node.logFile,
    url: `redis://${node.host}:${node.port}`,
    started: true,
    stop: () => node.stop(),
  }));
  return { host, nodes, url: nodes.map((node) => node.url).join(','), stop };
}

async function formCluster(
  host: string,
  nodes: readonly LaunchedProcess[],
  busPorts: ReadonlyMap<number, number>,
  timeoutMs: number,
): Promise<void> {
  const command = async (port: number, line: string): Promise<string> => {
    const reply = await sendRedisCommand(host, port, line, 5_000);
    if (reply.startsWith('-')) {
      throw new LauncherError('START_FAILED', `redis-cluster ${port}: ${line}: ${reply.trim()}`);
    }
    return reply;
  };
  for (const [i, node] of nodes.entries()) {
    const first = Math.floor((i * HASH_SLOTS) / nodes.length);
    const last = Math.floor(((i + 1) * HASH_SLOTS) / nodes.length) - 1;
    await command(node.port, `CLUSTER ADDSLOTSRANGE ${first} ${last}`);
  }
  const [seed, ...others] = nodes;
  for (const node of others) {
    await command(
      (seed as LaunchedProcess).port,
      `CLUSTER MEET ${host} ${node.port} ${busPorts.get(node.port) ?? node.port + 10_000}`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => command(node.port, 'CLUSTER INFO')));
    const formed = infos.every(
      (info) =>
        info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${nodes.length}`),
    );
    if (formed) return;
    if (Date.now() > deadline) {
      throw new LauncherError(
        'NOT_READY',
        `redis-cluster did not form after ${timeoutMs} ms; CLUSTER INFO of each node:\n${infos.join('\n')}`,
      );
    }
    await delay(50);
  }
}
