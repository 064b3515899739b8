import { InvalidArgumentError } from '@tributary/messagepipeline';
import { requireInteger } from '@tributary/messagepipeline/kernel';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** Options for {@link createRedisClient}. */
export interface RedisClientOptions {
  /**
   * `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). For a Cluster, one or more
   * seed nodes separated by commas.
   */
  readonly url: string;
  /** Connect to a Redis Cluster (Memorystore cluster mode) through the seed nodes. @defaultValue false */
  readonly cluster?: boolean | undefined;
  /** A command unanswered after this long fails (so an outage is noticed fast). @defaultValue 1_000 */
  readonly commandTimeoutMs?: number | undefined;
  /** @defaultValue 5_000 */
  readonly connectTimeoutMs?: number | undefined;
  /** Longest wait between reconnect attempts. @defaultValue 2_000 */
  readonly maxReconnectDelayMs?: number | undefined;
}

/** The defaults of {@link RedisClientOptions}. */
export const DEFAULT_REDIS_CLIENT_OPTIONS = Object.freeze({
  cluster: false,
  commandTimeoutMs: 1_000,
  connectTimeoutMs: 5_000,
  maxReconnectDelayMs: 2_000,
});

/**
 * Creates an `ioredis` client suited to a cache layer: a command fails after
 * `commandTimeoutMs` and is not retried (the chain goes on to the next layer and its breaker
 * counts the failure), and the client reconnects forever in the background. Errors are not
 * logged by the client; the layer counts them. Close it with `quit()`.
 * @throws {@link InvalidArgumentError} when the URL is not a redis:// or rediss:// URL.
 */
export function createRedisClient(options: RedisClientOptions): Redis | Cluster {
  const d = DEFAULT_REDIS_CLIENT_OPTIONS;
  const urls = options.url.split(',').map((part) => part.trim());
  const parsed = urls.map((url) => {
    const parsedUrl = URL.parse(url);
    if (parsedUrl === null || !['redis:', 'rediss:'].includes(parsedUrl.protocol)) {
      throw InvalidArgumentError.for('url', `'${url}' is not a redis:// or rediss:// URL`);
    }
    return parsedUrl;
  });
  const maxDelayMs = requireInteger(
    'maxReconnectDelayMs',
    options.maxReconnectDelayMs ?? d.maxReconnectDelayMs,
    1,
  );
  const common: RedisOptions = {
    commandTimeout: requireInteger(
      'commandTimeoutMs',
      options.commandTimeoutMs ?? d.commandTimeoutMs,
      1,
    ),
    connectTimeout: requireInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? d.connectTimeoutMs,
      1,
    ),
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(maxDelayMs, 50 * 2 ** Math.min(attempt, 10)),
  };
  const first = parsed[0] as URL;
  let client: Redis | Cluster;
  if (options.cluster ?? d.cluster) {
    client = new Cluster(
      parsed.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) })),
      {
        redisOptions: {
          ...common,
          username: decodeURIComponent(first.username) || undefined,
          password: decodeURIComponent(first.password) || undefined,
          tls: first.protocol === 'rediss:' ? {} : undefined,
        },
        clusterRetryStrategy: (attempt) => Math.min(maxDelayMs, 50 * 2 ** Math.min(attempt, 10)),
      },
    );
  } else {
    if (urls.length > 1) {
      throw InvalidArgumentError.for('url', 'lists several nodes: set cluster for a Cluster');
    }
    client = new Redis(urls[0] as string, common);
  }
  // Without a listener, ioredis prints every connection error; the layer counts them instead.
  client.on('error', () => undefined);
  return client;
}
