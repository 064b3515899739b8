/** Why a local service could not be started or used. */
export const launcherErrorCodes = ['MISSING_DEPENDENCY', 'START_FAILED', 'NOT_READY'] as const;
export type LauncherErrorCode = (typeof launcherErrorCodes)[number];

/**
 * Raised by the launchers. `MISSING_DEPENDENCY` names what to install (java, the Google Cloud SDK,
 * an emulator package, redis-server, mosquitto); `START_FAILED` and `NOT_READY` carry the tail of
 * the service's log in the message.
 */
export class LauncherError extends Error {
  readonly code: LauncherErrorCode;
  constructor(code: LauncherErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}
