import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { root } from './workspace.js';

/** One service of docker/compose.yaml, after YAML merge keys (`<<: *anchor`) are applied. */
export interface ComposeService {
  readonly image?: string;
  readonly build?: { readonly dockerfile?: string; readonly args?: Record<string, string> };
  readonly environment?: Record<string, string | number | boolean | null>;
  readonly volumes?: readonly string[];
  readonly healthcheck?: { readonly test?: readonly string[] };
  readonly depends_on?: Record<string, { readonly condition: string }>;
  readonly read_only?: boolean;
  readonly user?: string;
}

/** docker/compose.yaml, parsed. */
export function readCompose(): { services: Record<string, ComposeService> } {
  return parse(readFileSync(join(root, 'docker', 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
}

/** What docker/Dockerfile's runtime stage runs: its `ENV`, `USER` and exec-form `CMD`. */
export interface ImageRuntime {
  readonly env: Readonly<Record<string, string>>;
  readonly user: string;
  readonly cmd: readonly string[];
  readonly workdir: string;
}

/** Reads the last stage of docker/Dockerfile (continuation lines joined). */
export function readImageRuntime(): ImageRuntime {
  const text = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8').replaceAll('\\\n', ' ');
  const stages = text.split(/^FROM /m);
  const lines = stages[stages.length - 1]!.split('\n').map((l) => l.trim());
  const env: Record<string, string> = {};
  let user = 'root';
  let cmd: string[] = [];
  let workdir = '/';
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    if (instruction === 'ENV') {
      for (const pair of argument.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) {
        env[pair[1]!] = pair[2]!.replace(/^"|"$/g, '');
      }
    } else if (instruction === 'USER') user = argument;
    else if (instruction === 'WORKDIR') workdir = argument;
    else if (instruction === 'CMD') cmd = JSON.parse(argument) as string[];
  }
  return { env, user, cmd, workdir };
}
