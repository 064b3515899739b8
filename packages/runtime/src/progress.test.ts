import { createMessage } from '@tributary/messagepipeline';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgressMonitor } from './progress.js';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const message = createMessage({ id: '1', data: new Uint8Array(1) });

describe('createProgressMonitor', () => {
  it('is ready while idle, however long nothing happens', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000 });
    vi.advanceTimersByTime(60_000);
    expect(monitor.health()).toEqual({ ready: true, detail: 'idle' });
  });

  it('is not ready when work is pending and nothing moved for stallAfterMs', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000 });
    vi.advanceTimersByTime(10_000); // a long idle period does not count against new work
    monitor.markWorkPending(true);
    vi.advanceTimersByTime(999);
    expect(monitor.health().ready).toBe(true);
    vi.advanceTimersByTime(1);
    const health = monitor.health();
    expect(health.ready).toBe(false);
    expect(health.detail).toMatch(/stalled: work pending but no progress for 1000 ms/);
  });

  it('progress resets the stall clock; the end of work makes it ready again', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000 });
    monitor.markWorkPending(true);
    vi.advanceTimersByTime(800);
    monitor.markProgress();
    vi.advanceTimersByTime(800);
    expect(monitor.health().ready).toBe(true);
    vi.advanceTimersByTime(500);
    expect(monitor.health().ready).toBe(false);
    monitor.markProgress();
    expect(monitor.health()).toEqual({ ready: true, detail: 'working, last progress 0 ms ago' });
    vi.advanceTimersByTime(5_000);
    monitor.markWorkPending(false);
    expect(monitor.health().ready).toBe(true);
  });

  it('repeated markWorkPending(true) does not restart the clock', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000 });
    monitor.markWorkPending(true);
    vi.advanceTimersByTime(600);
    monitor.markWorkPending(true);
    vi.advanceTimersByTime(600);
    expect(monitor.health().ready).toBe(false);
  });

  it('is not ready while disconnected, with the reason', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000, connected: false });
    expect(monitor.health()).toEqual({ ready: false, detail: 'not connected' });
    monitor.markConnected(true);
    expect(monitor.health().ready).toBe(true);
    monitor.markConnected(false, 'subscription stream closed: UNAVAILABLE');
    expect(monitor.health()).toEqual({
      ready: false,
      detail: 'subscription stream closed: UNAVAILABLE',
    });
  });

  it('follows pipeline events: in-flight is pending work, settlements are progress', () => {
    const monitor = createProgressMonitor({ stallAfterMs: 1_000 });
    monitor.observe({ type: 'in-flight', stage: 's', count: 3, bytes: 30 });
    monitor.observe({ type: 'received', stage: 's', message });
    vi.advanceTimersByTime(900);
    monitor.observe({ type: 'acked', stage: 's', message, latencyMs: 900 });
    vi.advanceTimersByTime(900);
    expect(monitor.health().ready).toBe(true);
    vi.advanceTimersByTime(100);
    expect(monitor.health().ready).toBe(false);
    monitor.observe({
      type: 'batch-flushed',
      stage: 's',
      items: 2,
      bytes: 20,
      reason: 'age',
      durationMs: 5,
    });
    expect(monitor.health().ready).toBe(true);
    monitor.observe({ type: 'in-flight', stage: 's', count: 0, bytes: 0 });
    vi.advanceTimersByTime(10_000);
    expect(monitor.health()).toEqual({ ready: true, detail: 'idle' });
  });

  it('rejects a non-positive stallAfterMs', () => {
    expect(() => createProgressMonitor({ stallAfterMs: 0 })).toThrow(/stallAfterMs/);
    expect(() => createProgressMonitor({ stallAfterMs: Number.NaN })).toThrow(/stallAfterMs/);
  });
});
