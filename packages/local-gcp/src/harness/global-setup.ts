/**
 * The vitest globalSetup of the monorepo (see the root vitest.config.ts). It runs once per
 * `vitest` invocation in the main process, before any test worker starts:
 *
 * - starts the local stack ({@link startLocalStack}), skipping services whose variable is
 *   already set (say, by `npm run stack` or a compose file);
 * - writes the variables into `process.env`, which vitest copies into every worker it forks;
 * - also provides them as `inject('tributaryLocalGcp')`;
 * - stops what it started when the run ends.
 *
 * `TRIBUTARY_GCLOUD_SDK_ROOT` and `TRIBUTARY_JAVA` override where the Google Cloud SDK and java
 * are looked up.
 */
import type { TestProject } from 'vitest/node';
import { startLocalStack } from './local-stack.js';
import { PROVIDED_ENV_KEY } from './provided-context.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startLocalStack({
    existingEnv: process.env,
    sdkRoot: process.env['TRIBUTARY_GCLOUD_SDK_ROOT'] || undefined,
    javaPath: process.env['TRIBUTARY_JAVA'] || undefined,
  });
  Object.assign(process.env, stack.env);
  const summary = stack.services.map(
    (s) => `${s.envName} ${s.origin === 'started' ? `${s.startupMs} ms` : s.origin}`,
  );
  process.stderr.write(`[local-gcp] ${summary.join(', ')}\n`);
  project.provide(PROVIDED_ENV_KEY, stack.env);
  return () => stack.stop();
}
