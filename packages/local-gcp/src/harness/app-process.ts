import { spawn, type ChildProcess } from 'node:child_process';

/** An app's `main.ts` running as a child process, as Cloud Run would run the built file. */
export interface AppProcess {
  readonly process: ChildProcess;
  /** Resolves with the exit code (`null` when killed by a signal). */
  readonly exit: Promise<number | null>;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Everything written to stderr so far. */
  stderr(): string;
}

/**
 * Starts `entry` (an app's `src/main.ts`) in a child process from source (`tsx`, with the
 * `@tributary/source` condition), with only `PATH`, `HOME` and `env` in its environment, so a
 * test controls every variable the app reads. The process tests of every app use it.
 */
export function startAppProcess(
  entry: string,
  env: Readonly<Record<string, string>>,
  cwd: string,
): AppProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', '--import', 'tsx', entry],
    {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
  });
  return { process: child, exit, output: () => output, stderr: () => stderr };
}
