import { describe, expect, it } from 'vitest';
import { crc32c, crc32cBase64 } from './crc32c.js';

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('gives the same result fed in chunks of any size', () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) % 256));
    const whole = crc32c(bytes);
    for (const size of [1, 3, 7, 8, 9, 64, 999]) {
      let running = 0;
      for (let at = 0; at < bytes.length; at += size) {
        running = crc32c(bytes.subarray(at, at + size), running);
      }
      expect(running).toBe(whole);
    }
  });

  it('prints base64 of the big-endian value, as GCS does', () => {
    expect(crc32cBase64(Buffer.from('{"a":1}'))).toBe('z/fVag==');
    expect(crc32cBase64(Buffer.from('123456789'))).toBe('4waSgw==');
  });
});
