import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** What a project pulls in when it is built and installed for production. */
export interface ProductionClosure {
  /** Workspace package names reached through `dependencies` (never `devDependencies`). */
  readonly packages: readonly string[];
  /** Project folders reached through `tsconfig.lib.json` references, relative to the root. */
  readonly tsconfigProjects: readonly string[];
}

interface PackageJson {
  readonly name?: string;
  readonly workspaces?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
}

function readJson(path: string): PackageJson & { references?: { path: string }[] } {
  return JSON.parse(readFileSync(path, 'utf8')) as PackageJson & {
    references?: { path: string }[];
  };
}

function workspaceRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readJson(manifest).workspaces !== undefined) return dir;
    if (dirname(dir) === dir) throw new Error(`no npm workspace root above ${from}`);
  }
}

/**
 * Follows a project's production edges through the workspace: `dependencies` of each workspace
 * package, and the references of each `tsconfig.lib.json`. Tests use it to prove that an app's
 * production closure holds no test infrastructure (this package, with DuckDB).
 */
export function productionClosure(projectDir: string): ProductionClosure {
  const root = workspaceRoot(projectDir);
  const dirs = new Map<string, string>();
  for (const group of ['packages', 'apps']) {
    const parent = join(root, group);
    if (!existsSync(parent)) continue;
    for (const entry of readdirSync(parent)) {
      const manifest = join(parent, entry, 'package.json');
      const name = existsSync(manifest) ? readJson(manifest).name : undefined;
      if (name !== undefined) dirs.set(name, join(parent, entry));
    }
  }
  const packages = new Set<string>();
  const visitPackage = (dir: string): void => {
    for (const dependency of Object.keys(readJson(join(dir, 'package.json')).dependencies ?? {})) {
      const target = dirs.get(dependency);
      if (target === undefined || packages.has(dependency)) continue;
      packages.add(dependency);
      visitPackage(target);
    }
  };
  const projects = new Set<string>();
  const visitTsconfig = (dir: string): void => {
    const config = join(dir, 'tsconfig.lib.json');
    if (!existsSync(config)) return;
    const references = readJson(config).references ?? [];
    for (const reference of references) {
      const target = dirname(resolve(dir, reference.path));
      const key = relative(root, target);
      if (projects.has(key)) continue;
      projects.add(key);
      visitTsconfig(target);
    }
  };
  visitPackage(resolve(projectDir));
  visitTsconfig(resolve(projectDir));
  return { packages: [...packages].sort(), tsconfigProjects: [...projects].sort() };
}
