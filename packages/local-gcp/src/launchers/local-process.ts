/** A server process on loopback that a launcher started, or found already running. */
export interface LocalProcess {
  readonly host: string;
  readonly port: number;
  /** PID of the server (also its process group id); undefined when an existing one is reused. */
  readonly pid: number | undefined;
  /** Where its stdout/stderr go; undefined when reused. Deleted on stop unless you chose it. */
  readonly logFile: string | undefined;
  /** Stops what this launcher started (nothing when reused). Idempotent. */
  stop(): Promise<void>;
}

/** Options every launcher that starts a process takes. */
export interface ProcessLaunchOptions {
  /** Interface to bind. @defaultValue '127.0.0.1' */
  readonly host?: string | undefined;
  /** Port to bind; 0 or unset picks a free one. @defaultValue 0 */
  readonly port?: number | undefined;
  /** Append the server's output here instead of a temporary file removed on stop. */
  readonly logFile?: string | undefined;
  /** Give up waiting for readiness after this long. @defaultValue 30_000 */
  readonly readyTimeoutMs?: number | undefined;
  /** Time between SIGTERM and SIGKILL on stop. @defaultValue 5_000 */
  readonly stopGraceMs?: number | undefined;
}

export const DEFAULT_HOST = '127.0.0.1';
