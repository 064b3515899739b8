import { Cluster } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { uniqueName } from '../harness/unique-name.js';
import { isProcessAlive } from './managed-process.js';
import { answersRedisPing, sendRedisCommand } from './probes.js';
import { startRedisCluster } from './redis-cluster.js';

describe('startRedisCluster', () => {
  it('starts a 3-master cluster that ioredis Cluster serves across slots, and stops every node', async () => {
    const cluster = await startRedisCluster();
    onTestFinished(() => cluster.stop());
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url).toBe(
      cluster.nodes.map((node) => `redis://127.0.0.1:${node.port}`).join(','),
    );
    for (const node of cluster.nodes) {
      const info = await sendRedisCommand(node.host, node.port, 'CLUSTER INFO');
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_known_nodes:3');
    }

    const client = new Cluster(
      cluster.nodes.map((node) => ({ host: node.host, port: node.port })),
      { redisOptions: { maxRetriesPerRequest: 0 } },
    );
    onTestFinished(() => {
      client.disconnect();
    });
    const keys = Array.from({ length: 30 }, (_, i) => uniqueName(`key${i}`));
    for (const key of keys) await client.set(key, key.toUpperCase());
    for (const key of keys) expect(await client.get(key)).toBe(key.toUpperCase());
    // The keys landed on every master, not on one.
    const counts = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(counts).toHaveLength(3);
    expect(counts.every((count) => count > 0)).toBe(true);
    client.disconnect();

    await Promise.all([cluster.stop(), cluster.stop()]);
    for (const node of cluster.nodes) {
      expect(isProcessAlive(node.pid ?? 0)).toBe(false);
      expect(await answersRedisPing(node.host, node.port)).toBe(false);
    }
  });

  it('names the missing package when redis-server is absent, leaving nothing running', async () => {
    await expect(
      startRedisCluster({ redisServerPath: '/nonexistent/redis-server' }),
    ).rejects.toMatchObject({
      code: 'MISSING_DEPENDENCY',
      message: '/nonexistent/redis-server not found: install the redis-server package',
    });
  });
});
