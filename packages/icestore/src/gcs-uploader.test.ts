import { createMessage } from '@tributary/messagepipeline';
import { describe, expect, it } from 'vitest';
import { objectNameFor } from './gcs-uploader.js';
import type { ArchiveRecord } from './json-line.js';

function record(id: string, publishTime: string): ArchiveRecord {
  return {
    message: createMessage({ id, data: new Uint8Array(), publishTime: new Date(publishTime) }),
    json: undefined,
  };
}

describe('objectNameFor', () => {
  const a = record('m-a', '2026-12-01T10:00:00.001Z');
  const b = record('m-b', '2026-12-01T10:00:00.002Z');
  const c = record('m-c', '2026-12-01T10:00:00.003Z');

  it('names a batch by its earliest publish time and a hash of its ids', () => {
    expect(objectNameFor('raw', 'north', [b, a])).toMatch(
      /^raw\/north\/20261201T100000001Z-[0-9a-f]{16}\.jsonl\.gz$/,
    );
  });

  it('gives the same messages in another order the same name (a redelivery gets a 412)', () => {
    expect(objectNameFor('raw', 'north', [c, b, a])).toBe(objectNameFor('raw', 'north', [a, b, c]));
  });

  it('gives different batches different names', () => {
    const names = new Set([
      objectNameFor('raw', 'north', [a, b]),
      objectNameFor('raw', 'north', [a, c]),
      objectNameFor('raw', 'north', [a]),
      objectNameFor('raw', 'south', [a, b]),
    ]);
    expect(names.size).toBe(4);
  });
});
