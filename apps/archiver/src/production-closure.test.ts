import { fileURLToPath } from 'node:url';
import { productionClosure } from '@tributary/local-gcp';
import { describe, expect, it } from 'vitest';

describe('archiver production closure', () => {
  it('holds the libraries the app runs on and no test infrastructure', () => {
    const closure = productionClosure(fileURLToPath(new URL('..', import.meta.url)));
    expect(closure.packages).toEqual([
      '@tributary/icestore',
      '@tributary/messagepipeline',
      '@tributary/runtime',
    ]);
    expect(closure.tsconfigProjects).toEqual([
      'packages/icestore',
      'packages/messagepipeline',
      'packages/runtime',
    ]);
  });
});
