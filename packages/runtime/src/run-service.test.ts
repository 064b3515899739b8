import { silentLogger } from '@tributary/messagepipeline';
import { deferred } from '@tributary/messagepipeline/kernel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runService, type RunServiceOptions, type ServiceRun } from './run-service.js';
import { captureLogger, type LogLine } from './test-support/capture-logger.js';
import { createFakeProcess, type FakeProcess } from './test-support/fake-process.js';
import { createFakeService } from './test-support/fake-service.js';

const runs: ServiceRun[] = [];

afterEach(async () => {
  // A test that failed half-way must not leave a server listening.
  await Promise.all(runs.splice(0).map((run) => run.server.stop({ timeoutMs: 0 })));
});

function start(options: Partial<RunServiceOptions> & Pick<RunServiceOptions, 'services'>): {
  run: ServiceRun;
  proc: FakeProcess;
  lines: LogLine[];
} {
  const proc = createFakeProcess();
  const { logger, lines } = captureLogger();
  const run = runService({
    name: 'test-app',
    logger,
    port: 0,
    host: '127.0.0.1',
    process: proc,
    ...options,
  });
  runs.push(run);
  return { run, proc, lines };
}

const messages = (lines: LogLine[]): string[] => lines.map((line) => String(line.message));

describe('runService', () => {
  it('starts services in order, is ready, drains in reverse on SIGTERM and exits 0', async () => {
    const journal: string[] = [];
    const seenDuringDrain: string[] = [];
    const current: { run?: ServiceRun } = {};
    const producer = createFakeService('producer', journal);
    const consumer = createFakeService('consumer', journal, {
      stop: async () => {
        seenDuringDrain.push(current.run!.server.readiness().status);
        const res = await fetch(`${current.run!.server.url}/readyz`);
        seenDuringDrain.push(String(res.status));
      },
    });
    const started = start({ services: { producer, consumer }, shutdownTimeoutMs: 5_000 });
    const run = (current.run = started.run);
    await run.started;
    expect(journal).toEqual([
      'start producer',
      'started producer',
      'start consumer',
      'started consumer',
    ]);
    expect((await fetch(`${run.server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${run.server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${run.server.url}/metrics`)).status).toBe(200);

    started.proc.signal('SIGTERM');
    expect(await run.exitCode).toBe(0);
    expect(started.proc.exits).toEqual([0]);
    expect(journal.slice(4)).toEqual([
      'stop consumer',
      'stopped consumer',
      'stop producer',
      'stopped producer',
    ]);
    expect(seenDuringDrain).toEqual(['draining', '503']);
    expect(messages(started.lines)).toEqual(
      expect.arrayContaining([
        'test-app started',
        'received SIGTERM, draining',
        'test-app stopped cleanly',
      ]),
    );
    expect(started.proc.listenerCount).toBe(0);
    expect(run.server.state).toBe('stopped');
  });

  it('gives each stop the time left before the shared deadline', async () => {
    const journal: string[] = [];
    const a = createFakeService('a', journal);
    const b = createFakeService('b', journal, {
      stop: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    const { run, proc } = start({ services: { a, b }, shutdownTimeoutMs: 3_000 });
    await run.started;
    proc.signal('SIGINT');
    expect(await run.exitCode).toBe(0);
    const bTimeout = b.stopCalls[0]?.timeoutMs ?? Infinity;
    const aTimeout = a.stopCalls[0]?.timeoutMs ?? Infinity;
    expect(bTimeout).toBeLessThanOrEqual(3_000);
    expect(bTimeout).toBeGreaterThan(0);
    expect(aTimeout).toBeLessThan(bTimeout);
  });

  it('exits 1 and names what is still running when the deadline passes', async () => {
    const journal: string[] = [];
    const sink = createFakeService('sink', journal);
    const stuck = createFakeService('stuck', journal, { stop: () => new Promise(() => undefined) });
    const { run, proc, lines } = start({ services: { sink, stuck }, shutdownTimeoutMs: 200 });
    await run.started;
    proc.signal('SIGTERM');
    expect(await run.exitCode).toBe(1);
    const deadline = lines.find((line) => String(line.message).startsWith('drain deadline'));
    expect(deadline).toMatchObject({
      severity: 'ERROR',
      message: 'drain deadline of 200 ms passed; still running: stuck, sink',
      stillRunning: ['stuck', 'sink'],
    });
    expect(lines.at(-1)).toMatchObject({
      message: 'test-app stopped with exit code 1',
      exitCode: 1,
    });
  });

  it('exits 1 when a stop fails, after stopping the others', async () => {
    const journal: string[] = [];
    const first = createFakeService('first', journal);
    const broken = createFakeService('broken', journal, {
      stop: () => Promise.reject(new Error('flush failed')),
    });
    const { run, proc, lines } = start({ services: { first, broken } });
    await run.started;
    proc.signal('SIGTERM');
    expect(await run.exitCode).toBe(1);
    expect(journal).toContain('stopped first');
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'service broken failed to stop', severity: 'ERROR' }),
    );
  });

  it('turns a failed start into one fatal log, drains what started, and exits 1', async () => {
    const journal: string[] = [];
    const onFatal = vi.fn();
    const ok = createFakeService('ok', journal);
    const bad = createFakeService('bad', journal, {
      start: () => Promise.reject(new Error('cannot connect')),
    });
    const never = createFakeService('never', journal);
    const { run, proc, lines } = start({ services: { ok, bad, never }, onFatal });
    await expect(run.started).rejects.toThrow(/bad failed to start/);
    expect(await run.exitCode).toBe(1);
    expect(proc.exits).toEqual([1]);
    expect(journal).not.toContain('start never');
    expect(journal).toEqual(expect.arrayContaining(['stopped bad', 'stopped ok']));
    expect(journal.indexOf('stop bad')).toBeLessThan(journal.indexOf('stop ok'));
    const fatal = lines.filter((line) => String(line.message).startsWith('fatal'));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      message: 'fatal: service bad failed to start',
      err: expect.objectContaining({ message: 'cannot connect' }),
    });
    expect(onFatal).toHaveBeenCalledTimes(1);
  });

  it('turns a service crash (done rejecting) into exit 1', async () => {
    const journal: string[] = [];
    const worker = createFakeService('worker', journal);
    const { run, lines } = start({ services: { worker } });
    await run.started;
    worker.crash(new Error('subscription lost'));
    expect(await run.exitCode).toBe(1);
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'fatal: service worker failed',
        reason: 'service worker failed',
      }),
    );
  });

  it('treats a service stopping on its own as fatal', async () => {
    const worker = createFakeService('worker', []);
    const { run, lines } = start({ services: { worker } });
    await run.started;
    worker.finish();
    expect(await run.exitCode).toBe(1);
    expect(messages(lines)).toContain('fatal: service worker stopped on its own');
  });

  it('turns an unhandled rejection into exit 1', async () => {
    const worker = createFakeService('worker', []);
    const { run, proc, lines } = start({ services: { worker } });
    await run.started;
    proc.fail(new Error('nobody caught me'), 'unhandledRejection');
    expect(await run.exitCode).toBe(1);
    expect(messages(lines)).toContain('fatal: unhandledRejection');
    expect(messages(lines).filter((m) => m.startsWith('fatal'))).toHaveLength(1);
  });

  it('drains a service whose start was still running when SIGTERM came', async () => {
    const journal: string[] = [];
    const gate = deferred<undefined>();
    const slow = createFakeService('slow', journal, { start: () => gate.promise });
    const { run, proc } = start({ services: { slow } });
    await vi.waitFor(() => {
      expect(journal).toContain('start slow');
    });
    proc.signal('SIGTERM');
    expect(await run.exitCode).toBe(0);
    expect(journal).toContain('stopped slow');
    await expect(run.started).rejects.toThrow(/interrupted/);
    gate.resolve(undefined);
  });

  it('exits 1 at once on a second signal during the drain', async () => {
    const stuck = createFakeService('stuck', [], { stop: () => new Promise(() => undefined) });
    const { run, proc } = start({ services: { stuck }, shutdownTimeoutMs: 60_000 });
    await run.started;
    proc.signal('SIGINT');
    await vi.waitFor(() => {
      expect(stuck.stopCalls).toHaveLength(1);
    });
    proc.signal('SIGINT');
    expect(await run.exitCode).toBe(1);
    expect(proc.exits).toEqual([1]);
  });

  it('puts services with health() and extra reporters on /readyz', async () => {
    let connected = false;
    const connection = {
      health: () => ({ ready: connected, detail: connected ? 'connected' : 'not connected' }),
    };
    const consumer = createFakeService('consumer', [], {
      health: () => ({ ready: true, detail: 'streaming' }),
    });
    const { run, proc } = start({ services: { consumer }, health: { connection } });
    await run.started;
    const res = await fetch(`${run.server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      status: 'not-ready',
      components: {
        consumer: { ready: true, detail: 'streaming' },
        connection: { ready: false, detail: 'not connected' },
      },
    });
    connected = true;
    expect((await fetch(`${run.server.url}/readyz`)).status).toBe(200);
    proc.signal();
    expect(await run.exitCode).toBe(0);
  });

  it('is not ready before the services started', async () => {
    const gate = deferred<undefined>();
    const slow = createFakeService('slow', [], { start: () => gate.promise });
    const { run } = start({ services: { slow } });
    await vi.waitFor(async () => {
      const res = await fetch(`${run.server.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'starting' });
    });
    expect((await fetch(`${run.server.url}/healthz`)).status).toBe(200);
    gate.resolve(undefined);
    await run.started;
    expect((await fetch(`${run.server.url}/readyz`)).status).toBe(200);
    expect(await run.shutdown()).toBe(0);
  });

  it('exits 1 when the port is taken', async () => {
    const first = start({ services: {} });
    await first.run.started;
    const second = start({
      services: { a: createFakeService('a', []) },
      port: first.run.server.port,
    });
    expect(await second.run.exitCode).toBe(1);
    expect(messages(second.lines)).toContain(
      `fatal: http server could not listen on port ${first.run.server.port}`,
    );
    expect(await first.run.shutdown()).toBe(0);
  });

  it('validates shutdownTimeoutMs', () => {
    expect(() =>
      runService({
        name: 'x',
        logger: silentLogger,
        services: {},
        shutdownTimeoutMs: -1,
        process: createFakeProcess(),
      }),
    ).toThrow(/shutdownTimeoutMs/);
  });
});
