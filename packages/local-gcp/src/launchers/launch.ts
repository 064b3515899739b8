import { join } from 'node:path';
import { LauncherError } from './errors.js';
import { findFreePort } from './free-port.js';
import type { LocalProcess, ProcessLaunchOptions } from './local-process.js';
import { DEFAULT_HOST } from './local-process.js';
import { spawnManaged, type ManagedProcess } from './managed-process.js';
import { DEFAULT_READY_TIMEOUT_MS, waitUntilReady } from './wait-ready.js';
import { createWorkDir } from './work-dir.js';

/** What to run for one kind of server. */
export interface LaunchSpec {
  /** Short name for messages and the temporary directory, such as `pubsub-emulator`. */
  readonly name: string;
  readonly command: string;
  /** What to install when `command` is missing, such as `install openjdk-17-jre-headless`. */
  readonly installHint: string;
  /** Arguments for a server on `host:port`; may write files (a config) into `workDir`. */
  args(host: string, port: number, workDir: string): Promise<readonly string[]>;
  /** True once the server on `host:port` serves requests. */
  probe(host: string, port: number): Promise<boolean>;
}

/** A started server plus what restarting it on the same port needs. */
export interface LaunchedProcess extends LocalProcess {
  readonly pid: number;
  readonly workDir: string;
  /** The running child; replaced by `restart()`. */
  readonly child: ManagedProcess;
  /** Stops the server and starts it again on the same port and work directory. */
  restart(): Promise<void>;
}

const AUTO_PORT_ATTEMPTS = 3;

/**
 * Starts `spec` on a free port (or `options.port`) and waits until its probe answers. With an
 * automatically chosen port, a start that fails (say, another process took the port first) is
 * retried on a new port, up to three attempts.
 */
export async function launchProcess(
  spec: LaunchSpec,
  options: ProcessLaunchOptions = {},
): Promise<LaunchedProcess> {
  const host = options.host ?? DEFAULT_HOST;
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const workDir = await createWorkDir(spec.name);
  const logFile = options.logFile ?? join(workDir.path, `${spec.name}.log`);
  const fixedPort = options.port !== undefined && options.port !== 0;

  async function startOn(port: number): Promise<ManagedProcess> {
    const child = await spawnManaged({
      name: spec.name,
      command: spec.command,
      args: await spec.args(host, port, workDir.path),
      logFile,
      installHint: spec.installHint,
    });
    try {
      await waitUntilReady(
        `${spec.name} on ${host}:${port}`,
        child,
        () => spec.probe(host, port),
        readyTimeoutMs,
      );
      return child;
    } catch (error) {
      await child.stop({ graceMs: 1_000 });
      throw error;
    }
  }

  let child: ManagedProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; child === undefined; attempt += 1) {
      port = fixedPort ? (options.port ?? 0) : await findFreePort(host);
      try {
        child = await startOn(port);
      } catch (error) {
        const retry =
          !fixedPort &&
          attempt < AUTO_PORT_ATTEMPTS &&
          error instanceof LauncherError &&
          error.code === 'START_FAILED';
        if (!retry) throw error;
      }
    }
  } catch (error) {
    await workDir.remove();
    throw error;
  }

  let current: ManagedProcess = child;
  const stopChild = async (): Promise<void> => {
    await current.stop({ graceMs: options.stopGraceMs });
  };
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    get pid() {
      return current.pid;
    },
    logFile,
    workDir: workDir.path,
    get child() {
      return current;
    },
    async restart() {
      if (stopping !== undefined)
        throw new LauncherError('START_FAILED', `${spec.name} is stopped`);
      await stopChild();
      current = await startOn(port);
    },
    stop: () =>
      (stopping ??= (async () => {
        await stopChild();
        await workDir.remove();
      })()),
  };
}
