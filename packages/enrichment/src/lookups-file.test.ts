import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  formatLookupsProblem,
  loadLookupsFile,
  LookupsConfigError,
  parseLookups,
} from './lookups-file.js';

function problems(text: string): string[] {
  try {
    parseLookups(text, 'lookups.yaml');
  } catch (error) {
    if (error instanceof LookupsConfigError) return error.problems.map(formatLookupsProblem);
    throw error;
  }
  return [];
}

describe('lookups file', () => {
  it('parses fetchers and lookups with their defaults', () => {
    const config = parseLookups(`
fetchers:
  devices:
    source: { firestore: { collection: devices, fields: [name, location, siteId] } }
    redis: { namespace: devices, ttlMs: 3600000 }
    negativeTtlMs: 5000
  sites:
    source: { file: sites.csv, keyField: siteId }
lookups:
  - name: device
    fetcher: devices
    key: { attribute: deviceId }
    attributes: { location: location }
  - name: site
    fetcher: sites
    key: { lookup: device, field: siteId }
    onMiss: nack
`);
    expect(config.fetchers.get('devices')).toMatchObject({
      source: { kind: 'firestore', collection: 'devices', fields: ['name', 'location', 'siteId'] },
      redis: { namespace: 'devices', ttlMs: 3_600_000 },
      negativeTtlMs: 5_000,
    });
    expect(config.lookups).toEqual([
      {
        name: 'device',
        fetcher: 'devices',
        key: { kind: 'attribute', attribute: 'deviceId' },
        fields: undefined,
        attributes: { location: 'location' },
        onMissingKey: 'pass',
        onMiss: 'pass',
      },
      {
        name: 'site',
        fetcher: 'sites',
        key: { kind: 'lookup', lookup: 'device', field: 'siteId' },
        fields: undefined,
        attributes: {},
        onMissingKey: 'pass',
        onMiss: 'nack',
      },
    ]);
  });

  it('names the file, the lookup and the field of every problem', () => {
    expect(
      problems(`
fetchers:
  devices: { source: { firestore: { collection: devices } }, lru: { maxEntries: 0 } }
lookups:
  - name: device
    fetcher: devicez
    key: { payload: "$..x" }
  - name: site
    fetcher: devices
    key: { lookup: later, field: siteId }
    onMiss: drop
  - name: later
    fetcher: devices
    key: { attribute: a }
`),
    ).toEqual([
      "lookups.yaml: fetcher 'devices': lru.maxEntries: must be > 0",
      "lookups.yaml: lookup 'device': fetcher: no fetcher 'devicez' under fetchers",
      "lookups.yaml: lookup 'device': key.payload: '$..x' is not a JSON path like $.device.id or $.tags[0]",
      "lookups.yaml: lookup 'site': onMiss: must be 'pass', 'dead-letter' or 'nack'",
    ]);
    expect(problems('lookups: []\n')).toEqual([
      'lookups.yaml: fetchers: required, a mapping of fetcher names to fetchers',
      'lookups.yaml: lookups: must list at least one lookup',
    ]);
    expect(
      problems(
        'fetchers: {}\nlookups:\n  - name: a\n    fetcher: x\n    key: { lookup: b, field: c }\n    extra: 1\n',
      ),
    ).toEqual(["lookups.yaml: lookup 'a': unknown field(s) 'extra'"]);
    expect(
      problems(
        'fetchers: {}\nlookups:\n  - name: a\n    fetcher: x\n    key: { lookup: b, field: c }\n',
      ),
    ).toEqual([
      "lookups.yaml: lookup 'a': fetcher: no fetcher 'x' under fetchers",
      "lookups.yaml: lookup 'a': key.lookup: 'b' is not an earlier lookup",
    ]);
    expect(problems('lookups: [\n')[0]).toMatch(/^lookups\.yaml: YAML: /);
  });

  it('resolves source files relative to the lookups file, and names an unreadable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookups-'));
    const file = join(dir, 'lookups.yaml');
    await writeFile(
      file,
      'fetchers:\n  d: { source: { file: devices.json } }\nlookups:\n  - { name: d, fetcher: d, key: { attribute: id } }\n',
    );
    const config = await loadLookupsFile(file);
    expect(config.fetchers.get('d')?.source).toEqual({
      kind: 'file',
      file: join(dir, 'devices.json'),
      keyField: undefined,
    });
    await expect(loadLookupsFile(join(dir, 'missing.yaml'))).rejects.toThrow(
      `${join(dir, 'missing.yaml')}: cannot read the file (ENOENT)`,
    );
  });
});
