import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A spawned fake app, with its output collected. */
export interface AppProcess {
  readonly pid: number;
  /** stdout lines parsed as JSON (non-JSON lines are kept as `{ raw }`). */
  readonly lines: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the first stdout line matching, or rejects after `timeoutMs`. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const APP = fileURLToPath(new URL('./fake-app.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `fake-app.ts` under tsx with `env` (on top of PATH and HOME only). */
export function spawnFakeApp(env: Readonly<Record<string, string>>): AppProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@tributary/source', '--import', 'tsx', APP],
    {
      cwd: PACKAGE_DIR,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ raw: part });
      }
    }
    for (const wake of [...waiters]) wake();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      for (const wake of [...waiters]) wake();
      resolve({ code, signal });
    });
  });

  return {
    pid: child.pid ?? -1,
    lines,
    stderr: () => stderr,
    waitForLine(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(predicate);
          if (found !== undefined) {
            finish();
            resolve(found);
          } else if (hasExited) {
            finish();
            reject(new Error(`app exited before the line appeared; stderr: ${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no matching line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill(signal) {
      child.kill(signal);
    },
    exited,
  };
}
