import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';

const MIB = 1024 * 1024;

/** Resident set size of a process, in bytes (`VmRSS` in `/proc/<pid>/status`; Linux only). */
export function rssBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${String(pid)}`);
  return Number(kb) * 1024;
}

/** A memory cgroup made by {@link createMemoryCgroup}. */
export interface MemoryCgroup {
  /** The memory limit, in MiB. */
  readonly limitMib: number;
  /**
   * Runs `spawn` (which starts a process, synchronously) with this process inside the cgroup, so
   * the new process starts there; this process leaves it again afterwards (what it allocated
   * before stays charged where it was).
   */
  spawnInside<T>(spawn: () => T): T;
  /** Removes the cgroup; call it once every process started inside has exited. */
  remove(): void;
}

/**
 * Creates a memory cgroup with a limit of `limitMib` under this process's own (cgroup v1 or v2),
 * standing in for a container's memory limit in benchmarks: Node sizes its heap from that limit,
 * as it does in a container, and the kernel holds the processes started inside to it.
 *
 * @throws where this process may not create a cgroup, or join one (not root, a read-only
 *   `/sys/fs/cgroup`, cgroup v2 without delegation): benchmarks skip their contained runs then
 */
export function createMemoryCgroup(limitMib: number): MemoryCgroup {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines.find((line) => /^\d+:memory:/.test(line));
  const own =
    v1 === undefined
      ? `/sys/fs/cgroup${lines.find((line) => line.startsWith('0::'))?.slice(3) ?? ''}`
      : `/sys/fs/cgroup/memory${v1.split(':')[2] ?? ''}`;
  const dir = `${own}/tributary-${String(process.pid)}-${String(limitMib)}mib`;
  const spawnInside = <T>(spawn: () => T): T => {
    writeFileSync(`${dir}/cgroup.procs`, String(process.pid));
    try {
      return spawn();
    } finally {
      writeFileSync(`${own}/cgroup.procs`, String(process.pid));
    }
  };
  mkdirSync(dir);
  try {
    const limitFile = v1 === undefined ? 'memory.max' : 'memory.limit_in_bytes';
    writeFileSync(`${dir}/${limitFile}`, String(limitMib * MIB));
    spawnInside(() => undefined); // joining may be refused where creating was not
  } catch (error) {
    rmdirSync(dir);
    throw error;
  }
  return {
    limitMib,
    spawnInside,
    remove: () => {
      rmdirSync(dir);
    },
  };
}
