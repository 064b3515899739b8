import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topicsOf } from './generator.js';

const root = join(import.meta.dirname, '../../../../..');
const work = mkdtempSync(join(tmpdir(), 'tributary-generator-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/**
 * A copy of the workspace as git sees it (tracked and untracked, not ignored), with the built
 * `dist` folders copied (timestamps kept, so `tsc -b` finds them up to date) and every
 * node_modules linked, not copied.
 */
function copyWorkspace(to: string): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(root, file)));
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file), { preserveTimestamps: true });
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'));
  for (const group of ['packages', 'apps']) {
    for (const project of readdirSync(join(root, group))) {
      for (const folder of ['node_modules', 'dist']) {
        const source = join(root, group, project, folder);
        if (!existsSync(source)) continue;
        if (folder === 'node_modules') symlinkSync(source, join(to, group, project, folder));
        else
          cpSync(source, join(to, group, project, folder), {
            recursive: true,
            preserveTimestamps: true,
          });
      }
    }
  }
}

/** The environment of the commands: this run's local stack (so vitest reuses it), no colours. */
function commandEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  };
  delete env['CI'];
  return env;
}

/** Runs `npx <args>` in the copy; fails the test with the output when it exits non-zero. */
function npx(cwd: string, ...args: string[]): string {
  const run = spawnSync('npx', args, {
    cwd,
    encoding: 'utf8',
    env: commandEnv(),
    timeout: 240_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.status, `npx ${args.join(' ')}:\n${output}`).toBe(0);
  return output;
}

describe('nx g @tributary/tools:service', () => {
  it('reads the topics of infra/main.tf', () => {
    const topics = topicsOf(
      'resource "google_pubsub_topic" "dead_letter" {\n  name       = "${var.name_prefix}dead-letter"\n',
    );
    expect([...topics]).toEqual([['dead-letter', 'dead_letter']]);
  });

  it(
    'scaffolds an app that typechecks, lints and passes its test, and deploy files that pass the deploy checks',
    { timeout: 600_000 },
    () => {
      const copy = join(work, 'workspace');
      copyWorkspace(copy);
      // The generator runs from its build (nx loads the factory from dist on Node 20).
      npx(copy, 'tsc', '-b', 'packages/tools/tsconfig.lib.json');
      const generated = npx(
        copy,
        'nx',
        'g',
        '@tributary/tools:service',
        'audit-log',
        '--topic',
        'enriched',
        '--skipInstall',
        '--no-interactive',
      );
      for (const file of [
        'apps/audit-log/src/main.ts',
        'apps/audit-log/src/main.process.test.ts',
        'infra/app-audit-log.tf',
        'deploy/gke/base/audit-log/deployment.yaml',
      ]) {
        expect(generated).toContain(`CREATE ${file}`);
      }
      expect(generated).toContain('UPDATE docker/compose.yaml');

      npx(copy, 'tsc', '-b', 'apps/audit-log/tsconfig.json');
      npx(copy, 'nx', 'show', 'projects'); // the project graph the boundaries lint rule reads
      npx(copy, 'eslint', 'apps/audit-log', '--max-warnings', '0');
      npx(
        copy,
        'prettier',
        '--check',
        'apps/audit-log',
        'infra',
        'deploy',
        'docker',
        'README.md',
        'tsconfig.json',
      );
      // The app's own test against the emulator (this run's stack, from process.env), and the
      // deploy checks over the generated Terraform, kustomize base, compose service and README.
      const tests = npx(
        copy,
        'vitest',
        'run',
        '--project',
        'audit-log',
        '--project',
        'deploy-checks',
        'apps/audit-log',
        'packages/deploy-checks/src/terraform.test.ts',
        'packages/deploy-checks/src/manifests.test.ts',
        'packages/deploy-checks/src/readme-tables.test.ts',
      );
      expect(tests).toMatch(/Test Files\s+4 passed \(4\)/);
      expect(tests).not.toMatch(/skipped|failed/);
    },
  );

  it('refuses a topic infra/main.tf does not have', { timeout: 120_000 }, () => {
    const copy = join(work, 'workspace');
    const run = spawnSync(
      'npx',
      [
        'nx',
        'g',
        '@tributary/tools:service',
        'other-sub',
        '--topic',
        'nope',
        '--skipInstall',
        '--no-interactive',
      ],
      {
        cwd: copy,
        encoding: 'utf8',
        env: commandEnv(),
      },
    );
    expect(run.status).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain(
      "topic 'nope': expected one of the topics of infra/main.tf (raw, enriched)",
    );
    expect(existsSync(join(copy, 'apps', 'other-sub'))).toBe(false);
  });
});
