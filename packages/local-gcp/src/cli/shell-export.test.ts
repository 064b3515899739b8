import { describe, expect, it } from 'vitest';
import { shellExport } from './shell-export.js';

describe('shellExport', () => {
  it('leaves URLs and host:port unquoted and quotes anything else for a POSIX shell', () => {
    expect(shellExport('PUBSUB_EMULATOR_HOST', '127.0.0.1:8085')).toBe(
      'export PUBSUB_EMULATOR_HOST=127.0.0.1:8085',
    );
    expect(shellExport('REDIS_URL', 'redis://127.0.0.1:6379')).toBe(
      'export REDIS_URL=redis://127.0.0.1:6379',
    );
    expect(shellExport('X', "it's $HOME")).toBe(`export X='it'\\''s $HOME'`);
    expect(shellExport('X', '')).toBe('export X=');
  });
});
