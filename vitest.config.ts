import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    // Runs once per vitest invocation, for every project: starts the local services (or uses the
    // ones the environment points at) and hands their variables to the test workers.
    globalSetup: ['packages/local-gcp/src/harness/global-setup.ts'],
    // In CI, a JSON report too: .ci/run turns it into one plain "N passed, N failed" line.
    reporters: process.env['CI'] === undefined ? ['default'] : ['default', 'json'],
    outputFile: { json: '.tributary/test-results.json' },
  },
});
