import { readFileSync } from 'node:fs';
import { configMarkdownTable, ConfigInvalidError, loadConfig } from '@tributary/runtime';
import { describe, expect, it } from 'vitest';
import { hashApiKey } from './auth.js';
import { HttpIngestEnv } from './config.js';

const base = { GOOGLE_CLOUD_PROJECT: 'my-project', TOPIC: 'raw' };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(HttpIngestEnv, { ...base, ...env });
  } catch (error) {
    if (!(error instanceof ConfigInvalidError)) throw error;
    return error.problems.map((p) => p.variable).sort();
  }
  return [];
}

describe('http-ingest configuration', () => {
  it('documents every variable in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // Prettier aligns the columns: compare the cells, not the padding.
    const cells = (text: string): string =>
      text.replaceAll(/ *\| */g, '|').replaceAll(/\|-+(?=\|)/g, '|-');
    expect(cells(readme)).toContain(cells(configMarkdownTable(HttpIngestEnv)));
  });

  it('takes API key digests, with or without the sha256: prefix', () => {
    const config = loadConfig(HttpIngestEnv, {
      ...base,
      API_KEYS: `${hashApiKey('a')}, sha256:${hashApiKey('b')}`,
    });
    expect(config.API_KEYS).toBeDefined();
    expect(problemsOf({ API_KEYS: 'plain-key' })).toEqual(['API_KEYS']);
  });

  it('requires some authentication, and allowed emails with an OIDC audience', () => {
    expect(problemsOf({})).toEqual(['API_KEYS']);
    expect(problemsOf({ AUTH_DISABLED: 'true' })).toEqual([]);
    expect(problemsOf({ OIDC_AUDIENCE: 'https://x.run.app' })).toEqual(['OIDC_ALLOWED_EMAILS']);
    expect(
      problemsOf({
        OIDC_AUDIENCE: 'https://x.run.app',
        OIDC_ALLOWED_EMAILS: 'a@b.iam.gserviceaccount.com',
      }),
    ).toEqual([]);
  });
});
