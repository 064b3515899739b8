import { STACK_ENV_NAMES, type StackEnv } from './stack-env.js';

/**
 * The local services' variables as a typed object, read from `source` (the process environment,
 * which the globalSetup of `@tributary/local-gcp` fills before test workers start).
 *
 * @throws Error naming the missing variables when the harness did not run.
 */
export function testEnv(
  source: Readonly<Record<string, string | undefined>> = process.env,
): StackEnv {
  const missing = STACK_ENV_NAMES.filter(
    (name) => !source[name] && name !== 'BIGQUERY_STORAGE_EMULATOR_HOST',
  );
  if (missing.length > 0) {
    throw new Error(
      `missing ${missing.join(', ')}: run tests through the root vitest config (its globalSetup ` +
        'is packages/local-gcp/src/harness/global-setup.ts), or export the output of `npm run -s stack`',
    );
  }
  const env: Partial<Record<keyof StackEnv, string>> = {};
  for (const name of STACK_ENV_NAMES) env[name] = source[name] ?? '';
  return env as StackEnv;
}
