import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { LauncherError } from './errors.js';
import { killGroupOnExit } from './exit-cleanup.js';

/** How to start a child process that a launcher owns. */
export interface ManagedProcessOptions {
  /** Short name for messages, such as `pubsub-emulator`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended to this file. */
  readonly logFile: string;
  readonly cwd?: string | undefined;
  /** What to install when `command` is not found, for the error message. */
  readonly installHint: string;
}

/**
 * util-linux's setpriv (always there on Debian) runs the command with a parent-death signal:
 * it sets PR_SET_PDEATHSIG and `exec`s, so the PID stays the server's, and the kernel kills the
 * server when this process dies, even by SIGKILL, which no exit hook can catch.
 */
const SETPRIV = '/usr/bin/setpriv';
const EXEC_FAILED = 127;

/** How a managed process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options for {@link ManagedProcess.stop}. */
export interface ProcessStopOptions {
  /** Time between SIGTERM and SIGKILL. @defaultValue 5_000 */
  readonly graceMs?: number | undefined;
}

/** A child process started in its own process group, stopped by killing that group. */
export interface ManagedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Settles when the process has ended, whoever ended it. */
  readonly exited: Promise<ProcessExit>;
  readonly hasExited: boolean;
  /** SIGTERM to the group, then SIGKILL after `graceMs`. Idempotent. */
  stop(options?: ProcessStopOptions): Promise<void>;
  /** Once exited: the error that explains why (a missing command, or the log's tail). */
  exitError(): Promise<LauncherError>;
}

/** Default time between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

function notFound(options: ManagedProcessOptions, cause?: unknown): LauncherError {
  const where = options.command.includes('/') ? '' : ' on PATH';
  return new LauncherError(
    'MISSING_DEPENDENCY',
    `${options.command} not found${where}: ${options.installHint}`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Starts `command` detached, in a new process group (so its PID is the group id and killing the
 * group reaches anything it forks), with output appended to `logFile`. The group is killed when
 * this process exits, even on a crash, and (through setpriv, where present) when it is killed.
 * Rejects with a `MISSING_DEPENDENCY` {@link LauncherError} when the command does not exist.
 */
export async function spawnManaged(options: ManagedProcessOptions): Promise<ManagedProcess> {
  const withSetpriv = process.platform === 'linux' && existsSync(SETPRIV);
  const [command, args] = withSetpriv
    ? [SETPRIV, ['--pdeathsig', 'KILL', options.command, ...options.args]]
    : [options.command, options.args];
  const fd = openSync(options.logFile, 'a');
  let child;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        reject(notFound(options, error));
      } else {
        reject(
          new LauncherError('START_FAILED', `${options.name}: ${error.message}`, { cause: error }),
        );
      }
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new LauncherError('START_FAILED', `${options.name}: no pid`);
  child.unref();
  const forget = killGroupOnExit(pid);
  let hasExited = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      resolve({ code, signal });
    });
  });
  let stopping: Promise<void> | undefined;

  const stop = async (stopOptions: ProcessStopOptions = {}): Promise<void> => {
    const graceMs = stopOptions.graceMs ?? DEFAULT_STOP_GRACE_MS;
    if (!hasExited) {
      killGroup(pid, 'SIGTERM');
      const timer = new AbortController();
      const ended = await Promise.race([
        exited.then(() => true),
        delay(graceMs, false, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (!ended) {
        killGroup(pid, 'SIGKILL');
        await exited;
      }
    }
    // Anything the leader forked and left behind.
    killGroup(pid, 'SIGKILL');
    forget();
  };

  const exitError = async (): Promise<LauncherError> => {
    const { code, signal } = await exited;
    const tail = await readLogTail(options.logFile);
    if (withSetpriv && code === EXEC_FAILED && tail.includes('setpriv: failed to execute')) {
      return notFound(options);
    }
    return new LauncherError(
      'START_FAILED',
      `${options.name} exited (code ${String(code)}, signal ${String(signal)}); log ${options.logFile}:\n${tail}`,
    );
  };

  return {
    pid,
    logFile: options.logFile,
    exited,
    get hasExited() {
      return hasExited;
    },
    stop: (stopOptions) => (stopping ??= stop(stopOptions)),
    exitError,
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** The last `maxBytes` of a log file, for error messages; empty when it cannot be read. */
export async function readLogTail(logFile: string, maxBytes = 4_000): Promise<string> {
  try {
    const handle = await open(logFile, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, maxBytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** True while a process with this PID exists (zombies included). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
