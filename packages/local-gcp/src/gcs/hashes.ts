import { createHash } from 'node:crypto';
import { crc32cBase64 } from './crc32c.js';

/** The two checksums GCS keeps for every object, base64 as in the JSON API. */
export interface Checksums {
  readonly md5Hash: string;
  readonly crc32c: string;
}

/** MD5 and CRC32C of `data`. */
export function checksums(data: Uint8Array): Checksums {
  return {
    md5Hash: createHash('md5').update(data).digest('base64'),
    crc32c: crc32cBase64(data),
  };
}

/** Parses an `X-Goog-Hash` header (`crc32c=…,md5=…`). */
export function parseGoogHash(header: string | undefined): Partial<Checksums> {
  const result: { md5Hash?: string; crc32c?: string } = {};
  for (const pair of (header ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at < 0) continue;
    const key = pair.slice(0, at).trim().toLowerCase();
    const value = pair.slice(at + 1).trim();
    if (key === 'md5') result.md5Hash = value;
    else if (key === 'crc32c') result.crc32c = value;
  }
  return result;
}
