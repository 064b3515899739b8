import { fileURLToPath } from 'node:url';
import { productionClosure } from '@tributary/local-gcp';
import { describe, expect, it } from 'vitest';

describe('bigquery-sink production closure', () => {
  it('holds the libraries the app runs on and no test infrastructure', () => {
    const closure = productionClosure(fileURLToPath(new URL('..', import.meta.url)));
    expect(closure.packages).toEqual([
      '@tributary/bqstore',
      '@tributary/messagepipeline',
      '@tributary/runtime',
    ]);
    expect(closure.tsconfigProjects).toEqual([
      'packages/bqstore',
      'packages/messagepipeline',
      'packages/runtime',
    ]);
  });
});
