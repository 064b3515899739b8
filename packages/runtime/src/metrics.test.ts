import {
  createMessage,
  TributaryError,
  type PipelineEvent,
  type StatsDescription,
} from '@tributary/messagepipeline';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  combineObservers,
  createMetricsRegistry,
  createPipelineMetrics,
  exposeStats,
  pipelineMetricNames,
} from './metrics.js';
import { parsePrometheus, sampleKey } from './test-support/prometheus.js';

const message = createMessage({ id: 'm1', data: new TextEncoder().encode('{"a":1}') });

async function scrape(registry: ReturnType<typeof createMetricsRegistry>) {
  return parsePrometheus(await registry.metrics());
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createMetricsRegistry', () => {
  it('is isolated per app and carries the default process metrics', async () => {
    const a = createMetricsRegistry();
    const b = createMetricsRegistry({ defaultMetrics: false });
    createPipelineMetrics(a)({ type: 'received', stage: 's', message });
    const samplesA = await scrape(a);
    const samplesB = await scrape(b);
    expect(samplesA.has('process_cpu_user_seconds_total')).toBe(true);
    expect(samplesA.has('nodejs_heap_size_used_bytes')).toBe(true);
    expect(samplesB.size).toBe(0);
  });

  it('adds default labels to every metric', async () => {
    const registry = createMetricsRegistry({
      defaultMetrics: false,
      defaultLabels: { service: 'ingestion' },
    });
    createPipelineMetrics(registry)({ type: 'received', stage: 's', message });
    const samples = await scrape(registry);
    expect(
      samples.get(sampleKey(pipelineMetricNames.received, { service: 'ingestion', stage: 's' })),
    ).toBe(1);
  });
});

describe('createPipelineMetrics', () => {
  it('turns every pipeline event into the tributary_* metrics, labelled by stage', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const observe = createPipelineMetrics(registry);
    const permanent = TributaryError.permanent('INVALID_PAYLOAD', 'bad json');
    const events: PipelineEvent[] = [
      { type: 'received', stage: 'enrich', message },
      { type: 'received', stage: 'enrich', message },
      { type: 'received', stage: 'enrich', message },
      { type: 'received', stage: 'sink', message },
      { type: 'acked', stage: 'enrich', message, latencyMs: 20 },
      { type: 'nacked', stage: 'enrich', message, latencyMs: 3000, error: undefined },
      { type: 'dead-lettered', stage: 'enrich', message, error: permanent },
      { type: 'dead-lettered', stage: 'enrich', message, error: permanent },
      {
        type: 'retried',
        stage: 'enrich',
        message,
        attempt: 2,
        error: TributaryError.transient('UNAVAILABLE', '503'),
      },
      { type: 'skipped', stage: 'enrich', message, reason: 'heartbeat' },
      { type: 'in-flight', stage: 'enrich', count: 7, bytes: 700 },
      { type: 'in-flight', stage: 'enrich', count: 4, bytes: 400 },
      {
        type: 'batch-flushed',
        stage: 'sink',
        items: 500,
        bytes: 2048,
        reason: 'items',
        durationMs: 120,
      },
      { type: 'batch-flushed', stage: 'sink', items: 3, bytes: 100, reason: 'age', durationMs: 10 },
      { type: 'batch-flushed', stage: 'sink', items: 7, bytes: 100, reason: 'age', durationMs: 10 },
    ];
    for (const event of events) observe(event);

    const s = await scrape(registry);
    const n = pipelineMetricNames;
    const enrich = { stage: 'enrich' };
    expect(s.get(sampleKey(n.received, enrich))).toBe(3);
    expect(s.get(sampleKey(n.received, { stage: 'sink' }))).toBe(1);
    expect(s.get(sampleKey(n.acked, enrich))).toBe(1);
    expect(s.get(sampleKey(n.nacked, enrich))).toBe(1);
    expect(s.get(sampleKey(n.deadLettered, { stage: 'enrich', code: 'INVALID_PAYLOAD' }))).toBe(2);
    expect(s.get(sampleKey(n.retried, enrich))).toBe(1);
    expect(s.get(sampleKey(n.skipped, enrich))).toBe(1);
    expect(s.get(sampleKey(n.inflightMessages, enrich))).toBe(4);
    expect(s.get(sampleKey(n.inflightBytes, enrich))).toBe(400);

    const latency = n.latency;
    expect(s.get(sampleKey(`${latency}_count`, { stage: 'enrich', outcome: 'acked' }))).toBe(1);
    expect(s.get(sampleKey(`${latency}_sum`, { stage: 'enrich', outcome: 'acked' }))).toBe(0.02);
    expect(s.get(sampleKey(`${latency}_sum`, { stage: 'enrich', outcome: 'nacked' }))).toBe(3);
    expect(
      s.get(sampleKey(`${latency}_bucket`, { stage: 'enrich', outcome: 'acked', le: '0.025' })),
    ).toBe(1);
    expect(
      s.get(sampleKey(`${latency}_bucket`, { stage: 'enrich', outcome: 'acked', le: '0.01' })),
    ).toBe(0);

    const sink = { stage: 'sink' };
    expect(s.get(sampleKey(`${n.batchItems}_count`, sink))).toBe(3);
    expect(s.get(sampleKey(`${n.batchItems}_sum`, sink))).toBe(510);
    expect(s.get(sampleKey(`${n.batchItems}_bucket`, { ...sink, le: '5' }))).toBe(1);
    expect(s.get(sampleKey(`${n.batchBytes}_sum`, sink))).toBe(2248);
    expect(s.get(sampleKey(`${n.batchFlushDuration}_sum`, sink))).toBeCloseTo(0.14);
    expect(s.get(sampleKey(n.batchFlushes, { stage: 'sink', reason: 'items' }))).toBe(1);
    expect(s.get(sampleKey(n.batchFlushes, { stage: 'sink', reason: 'age' }))).toBe(2);
  });

  it('names every metric with the tributary_ prefix and documents it', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    createPipelineMetrics(registry);
    const text = await registry.metrics();
    for (const name of Object.values(pipelineMetricNames)) {
      expect(name.startsWith('tributary_')).toBe(true);
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });

  it('shares the metrics when called twice on one registry', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const a = createPipelineMetrics(registry);
    const b = createPipelineMetrics(registry);
    a({ type: 'received', stage: 'x', message });
    b({ type: 'received', stage: 'x', message });
    const s = await scrape(registry);
    expect(s.get(sampleKey(pipelineMetricNames.received, { stage: 'x' }))).toBe(2);
  });

  it('binds label children once per stage (cheap on the hot path)', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const observe = createPipelineMetrics(registry);
    const labels = vi.spyOn(Counter.prototype, 'labels');
    observe({ type: 'received', stage: 'hot', message });
    const afterFirst = labels.mock.calls.length;
    expect(afterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) {
      observe({ type: 'received', stage: 'hot', message });
      observe({ type: 'acked', stage: 'hot', message, latencyMs: 1 });
      observe({
        type: 'dead-lettered',
        stage: 'hot',
        message,
        error: TributaryError.permanent('INVALID_PAYLOAD', 'x'),
      });
    }
    // One more bind for the first dead-letter code; nothing per event.
    expect(labels.mock.calls.length).toBe(afterFirst + 1);
  });
});

describe('combineObservers', () => {
  it('forwards every event to each observer, even when one throws', () => {
    const seen: string[] = [];
    const observe = combineObservers(
      (e) => seen.push(`a:${e.type}`),
      () => {
        throw new Error('bad observer');
      },
      (e) => seen.push(`c:${e.type}`),
    );
    observe({ type: 'received', stage: 's', message });
    expect(seen).toEqual(['a:received', 'c:received']);
  });
});

describe('exposeStats', () => {
  interface Stats {
    readonly connected: boolean;
    readonly received: number;
    readonly inFlightMessages: number;
    readonly name: string;
  }
  const description: StatsDescription<Stats> = {
    connected: { kind: 'gauge', help: 'connected' },
    received: { kind: 'counter', help: 'received' },
    inFlightMessages: { kind: 'gauge', help: 'in flight' },
  };

  it('reads stats() at scrape time, with _total on counters and booleans as 0/1', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    let stats: Stats = { connected: false, received: 3, inFlightMessages: 2, name: 'x' };
    exposeStats(registry, { prefix: 'demo', stats: () => stats, description });
    let text = await registry.metrics();
    expect(text).toContain('# TYPE tributary_demo_received_total counter');
    expect(text).toContain('tributary_demo_received_total 3');
    expect(text).toContain('# TYPE tributary_demo_in_flight_messages gauge');
    expect(text).toContain('tributary_demo_in_flight_messages 2');
    expect(text).toContain('tributary_demo_connected 0');
    stats = { connected: true, received: 10, inFlightMessages: 0, name: 'x' };
    text = await registry.metrics();
    expect(text).toContain('tributary_demo_received_total 10');
    expect(text).toContain('tributary_demo_connected 1');
    expect(text).not.toContain('tributary_demo_name');
  });

  it('shares one metric between components told apart by labels', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const make = (received: number) => () => ({
      connected: true,
      received,
      inFlightMessages: 0,
      name: 'x',
    });
    exposeStats(registry, { prefix: 'p', stats: make(5), description, labels: { topic: 'a' } });
    exposeStats(registry, { prefix: 'p', stats: make(7), description, labels: { topic: 'b' } });
    const text = await registry.metrics();
    expect(text).toContain('tributary_p_received_total{topic="a"} 5');
    expect(text).toContain('tributary_p_received_total{topic="b"} 7');
  });
});
