import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { createStaticSource, loadStaticSource } from './static-source.js';
import { describeFetcherContract } from './testing/index.js';

describeFetcherContract('static source', {
  create: async (records) => createStaticSource(records),
});

async function file(name: string, text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'static-source-')), name);
  await writeFile(path, text);
  return path;
}

describe('static source', () => {
  it('loads a JSON object of key to record', async () => {
    const source = await loadStaticSource(
      await file('d.json', '{"d1":{"site":"north"},"d2":{"site":"south"}}'),
    );
    expect(await source.getMany(['d2', 'd3'])).toEqual([{ site: 'south' }, undefined]);
    expect(source.stats()).toEqual({ hits: 1, misses: 1, records: 2 });
  });

  it('loads a JSON array and NDJSON by keyField', async () => {
    const json = await loadStaticSource(
      await file('d.json', '[{"deviceId":"a","n":1},{"deviceId":7,"n":2}]'),
      { keyField: 'deviceId' },
    );
    expect(await json.getMany(['a', '7'])).toEqual([
      { deviceId: 'a', n: 1 },
      { deviceId: 7, n: 2 },
    ]);
    const ndjson = await loadStaticSource(
      await file('d.ndjson', '{"id":"a","n":1}\n\n{"id":"b","n":2}\n'),
    );
    expect(await ndjson.get('b')).toEqual({ id: 'b', n: 2 });
  });

  it('loads CSV with a header row and quoted fields', async () => {
    const source = await loadStaticSource(
      await file('d.csv', 'id,name,location\r\nd1,"pump, main",north\nd2,"say ""hi""",south\n'),
    );
    expect(await source.getMany(['d1', 'd2'])).toEqual([
      { id: 'd1', name: 'pump, main', location: 'north' },
      { id: 'd2', name: 'say "hi"', location: 'south' },
    ]);
  });

  it('names the file and the line of a problem', async () => {
    const ndjson = await file('bad.ndjson', '{"id":"a"}\n{oops\n');
    await expect(loadStaticSource(ndjson)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining(`${ndjson}: line 2:`) as string,
    });
    const duplicate = await file('dup.json', '[{"id":"a"},{"id":"a"}]');
    await expect(loadStaticSource(duplicate)).rejects.toThrow(
      `${duplicate}: [1]: duplicate key 'a'`,
    );
    const keyless = await file('k.csv', 'name\npump\n');
    await expect(loadStaticSource(keyless)).rejects.toThrow(`${keyless}: line 2: no 'id'`);
    await expect(loadStaticSource('/nonexistent/devices.json')).rejects.toThrow(
      '/nonexistent/devices.json: ENOENT',
    );
    expect(() => parseCsv('a,b\n1\n')).toThrow('line 2: 1 fields, the header has 2');
  });
});
