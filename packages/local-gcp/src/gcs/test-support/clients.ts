import { Storage, type StorageOptions } from '@google-cloud/storage';
import { randomUUID } from 'node:crypto';

/** Short retries (1 s apart: `save()` waits at least 1 s) instead of the default back-off up to 64 s. */
const retryOptions = {
  retryDelayMultiplier: 1.1,
  maxRetryDelay: 1,
  totalTimeout: 30,
  maxRetries: 3,
} satisfies StorageOptions['retryOptions'];

/**
 * Runs `make` with `STORAGE_EMULATOR_HOST` set to `value` (or unset), then restores it. The
 * client reads the variable only in its constructor, and it wins over `apiEndpoint`; the vitest
 * global setup sets it for the shared stack, so each test client pins it to its own server.
 */
function withEmulatorHost<T>(value: string | undefined, make: () => T): T {
  const previous = process.env['STORAGE_EMULATOR_HOST'];
  if (value === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
  else process.env['STORAGE_EMULATOR_HOST'] = value;
  try {
    return make();
  } finally {
    if (previous === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
    else process.env['STORAGE_EMULATOR_HOST'] = previous;
  }
}

/** The client as an app configures it with `apiEndpoint` (calls go to `/storage/v1/b/...`). */
export function apiEndpointClient(url: string): Storage {
  return withEmulatorHost(
    undefined,
    () => new Storage({ apiEndpoint: url, projectId: 'test-proj', retryOptions }),
  );
}

/** The client as `STORAGE_EMULATOR_HOST=<url>` configures it (calls go to `/b/...`). */
export function emulatorHostClient(url: string): Storage {
  return withEmulatorHost(url, () => new Storage({ projectId: 'test-proj', retryOptions }));
}

/** Both client configurations, for `describe.each`. */
export const clientModes = [
  { mode: 'apiEndpoint', make: apiEndpointClient },
  { mode: 'STORAGE_EMULATOR_HOST', make: emulatorHostClient },
] as const;

/** A bucket name no other test uses. */
export function uniqueBucket(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * The HTTP status of a client error: `ApiError.code`, or `status` for the GaxiosError a
 * resumable upload surfaces when opening its session fails.
 */
export function errorCode(error: unknown): unknown {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  return code ?? status;
}
