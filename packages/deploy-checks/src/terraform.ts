import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** One `resource "<type>" "<name>"`, `module "<name>"` or `variable "<name>"` block, as JSON. */
export interface TerraformBlock {
  /** The resource type (`google_pubsub_topic`); `module` or `variable` for those blocks. */
  readonly type: string;
  readonly name: string;
  /** The block's attributes as `@cdktf/hcl2json` gives them: expressions stay `${...}` strings. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The file it came from, relative to the folder read. */
  readonly file: string;
}

/** The blocks of one Terraform folder (a root or a module), without its sub-folders. */
export interface TerraformFolder {
  readonly resources: readonly TerraformBlock[];
  readonly modules: readonly TerraformBlock[];
  readonly variables: readonly TerraformBlock[];
  readonly outputs: readonly TerraformBlock[];
}

type Parsed = Record<string, Record<string, unknown> | undefined>;

function blocks(
  section: Record<string, unknown> | undefined,
  type: string,
  file: string,
): TerraformBlock[] {
  return Object.entries(section ?? {}).flatMap(([name, bodies]) =>
    (bodies as Record<string, unknown>[]).map((body) => ({ type, name, body, file })),
  );
}

/**
 * Reads every `*.tf` file of `dir` with `@cdktf/hcl2json` (HCL parsed as Terraform would; no
 * terraform binary needed). A syntax error rejects naming the file.
 */
export async function readTerraformFolder(dir: string): Promise<TerraformFolder> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.tf')).sort();
  const resources: TerraformBlock[] = [];
  const modules: TerraformBlock[] = [];
  const variables: TerraformBlock[] = [];
  const outputs: TerraformBlock[] = [];
  for (const file of files) {
    const parsed = (await parse(file, await readFile(join(dir, file), 'utf8'))) as Parsed;
    for (const [type, byName] of Object.entries(parsed['resource'] ?? {})) {
      resources.push(...blocks(byName as Record<string, unknown>, type, file));
    }
    modules.push(...blocks(parsed['module'], 'module', file));
    variables.push(...blocks(parsed['variable'], 'variable', file));
    outputs.push(...blocks(parsed['output'], 'output', file));
  }
  return { resources, modules, variables, outputs };
}

/**
 * The Terraform addresses an expression refers to: `${module.x.name}` gives `module.x`,
 * `${google_pubsub_topic.raw.id}` gives `google_pubsub_topic.raw`, `${var.y}` gives `var.y`.
 */
export function references(expression: unknown): string[] {
  if (typeof expression !== 'string') return [];
  const found = new Set<string>();
  for (const interpolation of expression.matchAll(/\$\{([^}]*)\}/g)) {
    for (const match of (interpolation[1] ?? '').matchAll(
      /\b(module|var|local|data\.[a-z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z0-9_-]+)/g,
    )) {
      found.add(`${match[1]}.${match[2]}`);
    }
  }
  return [...found];
}
