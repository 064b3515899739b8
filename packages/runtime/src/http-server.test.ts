import type { HealthReporter } from '@tributary/messagepipeline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHealthServer,
  sendJson,
  type HealthServer,
  type HealthServerOptions,
} from './http-server.js';
import { createMetricsRegistry, createPipelineMetrics, pipelineMetricNames } from './metrics.js';
import { captureLogger } from './test-support/capture-logger.js';
import { parsePrometheus, sampleKey } from './test-support/prometheus.js';

const servers: HealthServer[] = [];

async function serve(options: HealthServerOptions = {}): Promise<HealthServer> {
  const server = createHealthServer({ port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  await server.start();
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const ready = (detail?: string): HealthReporter => ({
  health: () => ({ ready: true, detail }),
});
const notReady = (detail: string): HealthReporter => ({
  health: () => ({ ready: false, detail }),
});

describe('createHealthServer', () => {
  it('answers /healthz with 200 while the process lives', async () => {
    const server = await serve({ health: { broken: notReady('down') }, state: 'draining' });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'alive' });
  });

  it('answers /readyz with 200 when every component is ready', async () => {
    const server = await serve({ health: { consumer: ready('connected'), producer: ready() } });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      ready: true,
      status: 'ready',
      components: { consumer: { ready: true, detail: 'connected' }, producer: { ready: true } },
    });
  });

  it('answers /readyz with 503 listing each component when one is not ready', async () => {
    const server = await serve({
      health: {
        consumer: notReady('stalled: work pending but no progress for 30000 ms'),
        producer: ready('ok'),
        flaky: {
          health: () => {
            throw new Error('boom');
          },
        },
      },
    });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      status: 'not-ready',
      components: {
        consumer: { ready: false, detail: 'stalled: work pending but no progress for 30000 ms' },
        producer: { ready: true, detail: 'ok' },
        flaky: { ready: false, detail: 'health check threw: Error: boom' },
      },
    });
  });

  it('is not ready while starting or draining, whatever the components say', async () => {
    const server = await serve({ health: { consumer: ready() }, state: 'starting' });
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ ready: false, status: 'starting' });
    server.setState('running');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    server.setState('draining');
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'draining' });
  });

  it('takes health reporters added later', async () => {
    const server = await serve();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    server.addHealthReporter('late', notReady('connecting'));
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('serves the registry on /metrics as Prometheus text', async () => {
    const registry = createMetricsRegistry();
    createPipelineMetrics(registry)({ type: 'in-flight', stage: 'sink', count: 3, bytes: 42 });
    const server = await serve({ registry });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await res.text());
    expect(samples.get(sampleKey(pipelineMetricNames.inflightBytes, { stage: 'sink' }))).toBe(42);
    expect(samples.has('process_resident_memory_bytes')).toBe(true);
  });

  it('answers 404 JSON for unknown paths (and /metrics without a registry)', async () => {
    const server = await serve();
    for (const path of ['/nope', '/metrics', '/healthz/extra']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found', path });
    }
  });

  it('answers 405 with Allow for a known path and another method; HEAD works like GET', async () => {
    const server = await serve();
    const post = await fetch(`${server.url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('ignores the query string', async () => {
    const server = await serve();
    expect((await fetch(`${server.url}/healthz?verbose=1`)).status).toBe(200);
  });

  it('runs routes the app adds, before or after start', async () => {
    const server = await serve({
      routes: [
        {
          method: 'POST',
          path: '/events',
          handler: async (req, res) => {
            let body = '';
            for await (const chunk of req) body += String(chunk);
            sendJson(res, 202, { accepted: JSON.parse(body) as unknown });
          },
        },
      ],
    });
    server.addRoute({
      method: 'get',
      path: '/version',
      handler: (_req, res) => {
        sendJson(res, 200, { version: '1' });
      },
    });
    const res = await fetch(`${server.url}/events`, { method: 'POST', body: '{"id":1}' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: { id: 1 } });
    expect(await (await fetch(`${server.url}/version`)).json()).toEqual({ version: '1' });
  });

  it('turns a failing route into a logged 500', async () => {
    const { logger, lines } = captureLogger();
    const server = await serve({
      logger,
      routes: [
        {
          method: 'GET',
          path: '/fail',
          handler: () => Promise.reject(new Error('handler broke')),
        },
      ],
    });
    const res = await fetch(`${server.url}/fail`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'request handler failed',
        path: '/fail',
        severity: 'ERROR',
      }),
    );
  });

  it('refuses a duplicate route or a relative path', () => {
    const server = createHealthServer();
    expect(() => {
      server.addRoute({ method: 'GET', path: '/healthz', handler: () => undefined });
    }).toThrow(/GET \/healthz is already registered/);
    expect(() => {
      server.addRoute({ method: 'GET', path: 'x', handler: () => undefined });
    }).toThrow(/must start with/);
  });

  it('stops idempotently, settles done, and frees the port', async () => {
    const server = await serve();
    const { port } = server;
    expect(port).toBeGreaterThan(0);
    await fetch(`${server.url}/healthz`); // leaves a keep-alive connection open
    const first = server.stop();
    expect(server.stop()).toBe(first);
    await first;
    await server.done;
    expect(server.state).toBe('stopped');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('rejects start when the port is taken', async () => {
    const first = await serve();
    const second = createHealthServer({ port: first.port, host: '127.0.0.1' });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
    await second.stop();
  });
});
