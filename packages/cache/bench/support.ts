// Shared by the cache benchmarks.
import { performance } from 'node:perf_hooks';
export { median } from '@tributary/local-gcp/bench';

/**
 * Runs `lookup` over every key with `inFlight` concurrent workers (each takes the next key when
 * its lookup settles); returns keys per second. Throws unless every key was found.
 */
export async function lookupRate(
  keys: readonly string[],
  inFlight: number,
  lookup: (key: string) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  let found = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        if ((await lookup(key)) !== undefined) found++;
      }
    }),
  );
  if (found !== keys.length) throw new Error(`found ${found} of ${keys.length}`);
  return keys.length / ((performance.now() - started) / 1_000);
}
