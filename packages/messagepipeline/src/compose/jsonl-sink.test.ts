import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTributaryError, type TributaryError } from '../errors.js';
import { jsonlSink } from './jsonl-sink.js';
import { asAsync } from './test-support/streams.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jsonl-sink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function lines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as unknown);
}

describe('jsonlSink', () => {
  it('writes one JSON line per item, confirms each in order, and reports counts', async () => {
    const path = join(dir, 'out.jsonl');
    const written: number[] = [];
    const result = await jsonlSink<{ n: number }>({
      path,
      onWritten: (item) => written.push(item.n),
    })(asAsync([{ n: 1 }, { n: 2 }, { n: 3 }]));
    expect(await lines(path)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(written).toEqual([1, 2, 3]);
    expect(result).toEqual({ path, lines: 3, bytes: 3 * '{"n":1}\n'.length });
  });

  it('appends by default and truncates with append: false', async () => {
    const path = join(dir, 'out.jsonl');
    await writeFile(path, '{"old":true}\n');
    await jsonlSink({ path })(asAsync([1]));
    expect(await lines(path)).toEqual([{ old: true }, 1]);
    await jsonlSink({ path, append: false })(asAsync([2]));
    expect(await lines(path)).toEqual([2]);
  });

  it('maps items with toJson', async () => {
    const path = join(dir, 'out.jsonl');
    await jsonlSink<string>({ path, toJson: (s) => ({ s }) })(asAsync(['a']));
    expect(await lines(path)).toEqual([{ s: 'a' }]);
  });

  it('writes many lines through backpressure', async () => {
    const path = join(dir, 'out.jsonl');
    const items = Array.from({ length: 5_000 }, (_, n) => ({ n, pad: 'x'.repeat(100) }));
    let written = 0;
    const result = await jsonlSink({ path, highWaterMarkBytes: 1_024, onWritten: () => written++ })(
      asAsync(items),
    );
    expect(result.lines).toBe(5_000);
    expect(written).toBe(5_000);
    expect((await lines(path)).length).toBe(5_000);
  });

  it('fails with a permanent INVALID_PAYLOAD on an unserialisable item, keeping earlier lines', async () => {
    const path = join(dir, 'out.jsonl');
    const failed: unknown[] = [];
    const written: unknown[] = [];
    const run = jsonlSink<unknown>({
      path,
      onWritten: (item) => written.push(item),
      onFailed: (item) => failed.push(item),
    })(asAsync([1, 10n, 3]));
    const error = (await run.catch((e: unknown) => e)) as TributaryError;
    expect(isTributaryError(error) && error.code).toBe('INVALID_PAYLOAD');
    expect(error.retriable).toBe(false);
    expect(failed).toEqual([10n]);
    expect(written).toEqual([1]);
    expect(await lines(path)).toEqual([1]);
  });

  it('surfaces a file error as a retriable SINK_FAILED and reports unwritten items', async () => {
    const path = join(dir, 'missing-dir', 'out.jsonl');
    const failed: unknown[] = [];
    const run = jsonlSink<number>({ path, onFailed: (item) => failed.push(item) })(asAsync([1, 2]));
    const error = (await run.catch((e: unknown) => e)) as TributaryError;
    expect(error.code).toBe('SINK_FAILED');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('missing-dir');
    expect(failed).toEqual([1, 2]);
  });

  it('flushes what it accepted and rethrows when the input fails', async () => {
    const path = join(dir, 'out.jsonl');
    function* broken(): Generator<number> {
      yield 1;
      yield 2;
      throw new Error('input broke');
    }
    const written: number[] = [];
    await expect(
      jsonlSink<number>({ path, onWritten: (n) => written.push(n) })(asAsync(broken())),
    ).rejects.toThrow('input broke');
    expect(written).toEqual([1, 2]);
    expect(await lines(path)).toEqual([1, 2]);
  });
});
