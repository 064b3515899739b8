import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** An app's `main.ts` running as a child process, as a test started it. */
export interface AppProcess {
  readonly process: ChildProcess;
  /** Resolves with the exit code (`null` when a signal ended it). */
  readonly exit: Promise<number | null>;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  stderr(): string;
}

const repositoryRoot = join(import.meta.dirname, '../../../..');

/** How {@link startAppProcess} runs the file. */
export interface AppProcessOptions {
  /**
   * Node options before the file. @defaultValue the source run:
   * `['--conditions=@tributary/source', '--import', 'tsx']`
   */
  readonly nodeArgs?: readonly string[] | undefined;
  /** Working folder. @defaultValue the repository root */
  readonly cwd?: string | undefined;
  /** Arguments after the file (a command line's flags). @defaultValue none */
  readonly args?: readonly string[] | undefined;
}

/**
 * Runs an app's `main.ts` from source (tsx, the `@tributary/source` condition) with exactly `env`
 * plus `PATH` and `HOME`, the way a container would run it with its environment. With
 * `options.nodeArgs` it runs any file as plain node would (a bundle, as its image runs it).
 * `options.args` follow the file (a command line's flags).
 */
export function startAppProcess(
  main: string,
  env: Readonly<Record<string, string>>,
  options: AppProcessOptions = {},
): AppProcess {
  const nodeArgs = options.nodeArgs ?? ['--conditions=@tributary/source', '--import', 'tsx'];
  const child = spawn(process.execPath, [...nodeArgs, main, ...(options.args ?? [])], {
    cwd: options.cwd ?? repositoryRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return { process: child, exit, output: () => output, stderr: () => stderr };
}

/**
 * Polls `GET <baseUrl>/readyz` until it answers 200; throws with the last answer and the app's
 * output after `timeoutMs`.
 */
export async function waitForAppReady(
  baseUrl: string,
  app: AppProcess,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    const status = await fetch(`${baseUrl}/readyz`).then(
      async (response) => {
        last = `${response.status} ${await response.text()}`;
        return response.status;
      },
      () => 0,
    );
    if (status === 200) return;
    if (app.process.exitCode !== null) {
      throw new Error(`exited with ${app.process.exitCode} before ready: ${app.output()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`not ready after ${timeoutMs} ms (last /readyz: ${last}): ${app.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
