import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirOnExit } from './exit-cleanup.js';

/** A private temporary directory for one launched service (its log, config, persistence). */
export interface WorkDir {
  readonly path: string;
  /** Deletes the directory. Idempotent. */
  remove(): Promise<void>;
}

/** Creates `<tmpdir>/tributary-<name>-XXXXXX`. */
export async function createWorkDir(name: string): Promise<WorkDir> {
  const path = await mkdtemp(join(tmpdir(), `tributary-${name}-`));
  const forget = removeDirOnExit(path);
  let removing: Promise<void> | undefined;
  return {
    path,
    remove: () =>
      (removing ??= rm(path, { recursive: true, force: true }).then(() => {
        forget();
      })),
  };
}
