import { fileURLToPath } from 'node:url';
import { productionClosure } from '@tributary/local-gcp';
import { describe, expect, it } from 'vitest';

describe('enrichment production closure', () => {
  it('holds the libraries the app runs on and no test infrastructure', () => {
    const closure = productionClosure(fileURLToPath(new URL('..', import.meta.url)));
    expect(closure.packages).toEqual([
      '@tributary/cache',
      '@tributary/enrichment',
      '@tributary/messagepipeline',
      '@tributary/runtime',
    ]);
    expect(closure.tsconfigProjects).toEqual([
      'packages/cache',
      'packages/enrichment',
      'packages/messagepipeline',
      'packages/runtime',
    ]);
  });
});
