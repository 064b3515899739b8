import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * The vitest settings every project shares: tests import sibling packages from source (through
 * the `@tributary/source` export condition), so no build is needed before `npm test`.
 */
export function defineProjectConfig(name: string): UserWorkspaceConfig {
  return defineProject({
    ssr: { resolve: { conditions: ['@tributary/source', ...defaultServerConditions] } },
    test: {
      name,
      include: ['src/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  });
}
