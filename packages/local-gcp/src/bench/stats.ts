/**
 * The median of benchmark rounds: the middle value, or of an even count the upper of the two
 * middle ones (every benchmark's figures so far were taken this way); `NaN` when there are none.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
