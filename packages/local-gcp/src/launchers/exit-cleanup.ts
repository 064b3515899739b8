/**
 * Last-resort cleanup: process groups registered here are killed, and temporary directories
 * deleted, when this process exits, crashes (an uncaught exception still emits `exit`) or receives
 * SIGINT/SIGTERM/SIGHUP with nobody else listening. Launchers register every child and directory
 * and unregister them once stopped, so a test run that dies half-way leaves nothing behind. A SIGKILL of this process cannot be caught
 * here; on Linux, managed-process.ts covers it with a parent-death signal (setpriv).
 */
import { rmSync } from 'node:fs';

const groups = new Set<number>();
const dirs = new Set<string>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function cleanUp(signal: NodeJS.Signals): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
  groups.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else (a CLI, the test runner) handles the signal and will stop us or exit; the
  // `exit` hook covers the latter. Alone, we restore the default behaviour after cleaning up.
  if (process.listenerCount(signal) > 1) return;
  cleanUp('SIGKILL');
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    cleanUp('SIGKILL');
  });
  // First in line, so that `once` listeners registered by others still count when it runs.
  for (const signal of signals) process.prependListener(signal, onSignal);
}

/**
 * Kills the process group led by `pid` if this process ends before the returned function is
 * called. Call the returned function once the group has been stopped normally.
 */
export function killGroupOnExit(pid: number): () => void {
  install();
  groups.add(pid);
  return () => {
    groups.delete(pid);
  };
}

/**
 * Deletes `dir` (a launcher's temporary directory) if this process ends before the returned
 * function is called.
 */
export function removeDirOnExit(dir: string): () => void {
  install();
  dirs.add(dir);
  return () => {
    dirs.delete(dir);
  };
}
