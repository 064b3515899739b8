import { fileURLToPath } from 'node:url';
import { productionClosure } from '@tributary/local-gcp';
import { describe, expect, it } from 'vitest';

describe('sql-sink production closure', () => {
  it('holds the libraries the app runs on and no test infrastructure', () => {
    const closure = productionClosure(fileURLToPath(new URL('..', import.meta.url)));
    expect(closure.packages).toEqual([
      '@tributary/messagepipeline',
      '@tributary/runtime',
      '@tributary/sqlstore',
    ]);
    expect(closure.tsconfigProjects).toEqual([
      'packages/messagepipeline',
      'packages/runtime',
      'packages/sqlstore',
    ]);
  });
});
