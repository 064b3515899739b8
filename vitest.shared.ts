import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Vite's server conditions minus `module`: vitest hands these to its workers as `--conditions`,
 * so Node's own `require` honours them too, and `module` would make a CommonJS dependency (such
 * as prom-client requiring `@opentelemetry/api`) load an ESM build Node cannot require.
 */
const serverConditions = defaultServerConditions.filter((condition) => condition !== 'module');

/**
 * The vitest settings every project shares: tests import sibling packages from source (through
 * the `@tributary/source` export condition), so no build is needed before `npm test`.
 */
export function defineProjectConfig(name: string): UserWorkspaceConfig {
  return defineProject({
    ssr: { resolve: { conditions: ['@tributary/source', ...serverConditions] } },
    test: {
      name,
      include: ['src/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  });
}
