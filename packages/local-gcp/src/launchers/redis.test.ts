import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { uniqueName } from '../harness/unique-name.js';
import { isProcessAlive } from './managed-process.js';
import { answersRedisPing } from './probes.js';
import { startRedis } from './redis.js';

describe('startRedis', () => {
  it('starts a private redis-server on a free port, serves ioredis, and stops it', async () => {
    const server = await startRedis({ reuseExisting: false });
    onTestFinished(() => server.stop());
    expect(server.started).toBe(true);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

    const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    const key = uniqueName('key');
    await redis.set(key, 'v1');
    expect(await redis.get(key)).toBe('v1');
    redis.disconnect();

    await Promise.all([server.stop(), server.stop()]);
    expect(isProcessAlive(server.pid ?? 0)).toBe(false);
    expect(await answersRedisPing(server.host, server.port)).toBe(false);
  });

  it('reuses the server on the standard port when one answers there', async () => {
    const server = await startRedis();
    onTestFinished(() => server.stop());
    if (await answersRedisPing('127.0.0.1', 6379)) {
      expect(server).toMatchObject({ started: false, port: 6379, pid: undefined });
    } else {
      expect(server.started).toBe(true);
    }
  });

  it('names the missing package when redis-server is absent', async () => {
    await expect(
      startRedis({ reuseExisting: false, redisServerPath: '/nonexistent/redis-server' }),
    ).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message: '/nonexistent/redis-server not found: install the redis-server package',
    });
  });
});
