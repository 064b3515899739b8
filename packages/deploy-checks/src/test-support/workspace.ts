import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConfigSchema } from '@tributary/runtime';

/** The npm workspace root above `from` (found by walking up, so it also works once bundled). */
function workspaceRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      'workspaces' in (JSON.parse(readFileSync(manifest, 'utf8')) as object)
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no npm workspace root above ${from}`);
  }
}

/** The repository root. */
export const root = workspaceRoot(import.meta.dirname);

/**
 * The apps that deploy as services: every apps/<app> with a src/main.ts and a src/config.ts that
 * exports an `...Env` schema (sensor-pipeline, a command-line tool, has none).
 */
export async function deployableApps(): Promise<string[]> {
  const apps: string[] = [];
  for (const app of readdirSync(join(root, 'apps')).sort()) {
    if (!existsSync(join(root, 'apps', app, 'src', 'main.ts'))) continue;
    if ((await loadAppSchema(app).catch(() => undefined)) !== undefined) apps.push(app);
  }
  return apps;
}

/** The config schema of `apps/<app>/src/config.ts` (its one export named `...Env`). */
export async function loadAppSchema(app: string): Promise<ConfigSchema> {
  const file = join(root, 'apps', app, 'src', 'config.ts');
  if (!existsSync(file)) throw new Error(`${app}: no src/config.ts`);
  const module = (await import(file)) as Record<string, unknown>;
  const schemas = Object.entries(module).filter(([name]) => name.endsWith('Env'));
  if (schemas.length !== 1) throw new Error(`${app}: expected one ...Env export`);
  return schemas[0]![1] as ConfigSchema;
}
