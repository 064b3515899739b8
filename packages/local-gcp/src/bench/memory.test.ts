import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createMemoryCgroup, rssBytesOf } from './memory.js';

/** Whether this process may make memory cgroups (root on cgroup v1, or a delegated v2 tree). */
function cgroupsAllowed(): boolean {
  try {
    createMemoryCgroup(64).remove();
    return true;
  } catch {
    return false;
  }
}

describe('rssBytesOf', () => {
  it('reads the resident set of a running process', () => {
    const rss = rssBytesOf(process.pid);
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(rss).toBeLessThan(process.memoryUsage.rss() * 2);
  });

  it('says which process it could not read', () => {
    expect(() => rssBytesOf(2 ** 22 + 1)).toThrow(/ENOENT/);
  });
});

describe.runIf(cgroupsAllowed())('createMemoryCgroup', () => {
  it('starts a process that sees the limit as its memory, as in a container', () => {
    const cgroup = createMemoryCgroup(384);
    try {
      const child = cgroup.spawnInside(() =>
        spawnSync(
          process.execPath,
          ['-e', 'process.stdout.write(String(process.constrainedMemory()))'],
          {
            encoding: 'utf8',
          },
        ),
      );
      expect(Number(child.stdout)).toBe(384 * 1024 * 1024);
      // This process left the cgroup again.
      const mine = spawnSync(
        process.execPath,
        ['-e', 'process.stdout.write(String(process.constrainedMemory()))'],
        {
          encoding: 'utf8',
        },
      );
      expect(Number(mine.stdout)).not.toBe(384 * 1024 * 1024);
    } finally {
      cgroup.remove();
    }
  });

  it('holds a process to the limit', async () => {
    const cgroup = createMemoryCgroup(96);
    try {
      // Keeps 1 MiB buffers, touched, until the kernel stops it.
      const child = cgroup.spawnInside(() =>
        spawn(
          process.execPath,
          ['-e', 'const kept = []; for (;;) kept.push(Buffer.alloc(1 << 20, 1));'],
          {
            stdio: 'ignore',
          },
        ),
      );
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      cgroup.remove();
    }
  });
});
