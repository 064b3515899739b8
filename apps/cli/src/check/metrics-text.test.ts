import { describe, expect, it } from 'vitest';
import { parseMetrics, sumOf } from './metrics-text.js';

describe('parseMetrics', () => {
  const text = [
    '# HELP tributary_messages_dead_lettered_total Messages sent to the dead-letter topic.',
    '# TYPE tributary_messages_dead_lettered_total counter',
    'tributary_messages_dead_lettered_total{stage="enrichment",code="NOT_FOUND",service="enrichment"} 3',
    'tributary_messages_dead_lettered_total{stage="enrichment",code="TIMEOUT",service="enrichment"} 2',
    'tributary_inflight_messages{stage="enrichment"} 0',
    'tributary_odd{path="a\\"b"} 1.5e3',
    'garbage line',
  ].join('\n');

  it('reads names, labels (escapes included) and values, skipping comments and garbage', () => {
    const samples = parseMetrics(text);
    expect(samples).toHaveLength(4);
    expect(samples[3]).toEqual({ name: 'tributary_odd', labels: { path: 'a"b' }, value: 1500 });
  });

  it('sums the samples whose labels match', () => {
    const samples = parseMetrics(text);
    expect(sumOf(samples, 'tributary_messages_dead_lettered_total')).toBe(5);
    expect(sumOf(samples, 'tributary_messages_dead_lettered_total', { code: 'NOT_FOUND' })).toBe(3);
    expect(sumOf(samples, 'missing')).toBe(0);
  });
});
