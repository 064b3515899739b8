import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configMarkdownTable } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { deployableApps, loadAppSchema, root } from './test-support/workspace.js';

// Prettier aligns the columns: compare the cells, not the padding.
const cells = (text: string): string =>
  text.replaceAll(/ *\| */g, '|').replaceAll(/\|-+(?=\|)/g, '|-');

describe('variables tables', () => {
  it("every deployable app's README holds the table generated from its schema", async () => {
    const stale: string[] = [];
    for (const app of await deployableApps()) {
      const readme = readFileSync(join(root, 'apps', app, 'README.md'), 'utf8');
      if (!cells(readme).includes(cells(configMarkdownTable(await loadAppSchema(app))))) {
        stale.push(app);
      }
    }
    expect(stale, 'regenerate with configMarkdownTable (see the README Deploy section)').toEqual(
      [],
    );
  });

  it("the README's Deploy section links every deployable app's table", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.indexOf('\n## Deploy'));
    expect(deploy.length).toBeLessThan(readme.length);
    for (const app of await deployableApps()) {
      expect(deploy, app).toContain(`](apps/${app}/README.md#`);
    }
  });
});
