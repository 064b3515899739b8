import { createStaticSource, type Fetcher } from '@tributary/cache';
import { ENVELOPE_ATTRIBUTE, TributaryError } from '@tributary/messagepipeline';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Reference } from './fetchers.js';
import { startHarness } from './test-support/harness.js';

const devices = createStaticSource<Reference>(
  new Map([
    ['d1', { name: 'pump', location: 'north', siteId: 's1', secret: 'x' }],
    ['d2', { name: 'valve', location: 'south', siteId: 's9' }],
  ]),
);
const sites = createStaticSource<Reference>(
  new Map([['s1', { site: 'North Field', region: 'eu' }]]),
);
const fetchers = new Map<string, Fetcher<string, Reference>>([
  ['devices', devices],
  ['sites', sites],
]);

const deviceLookup = (policies = '') => `
fetchers:
  devices: { source: { file: unused.json } }
  sites: { source: { file: unused.json } }
lookups:
  - name: device
    fetcher: devices
    key: { attribute: deviceId }
    fields: [name, location, siteId]
    attributes: { location: location }
${policies}
`;

/** One lookup keyed by a JSON path into the payload. */
const payloadLookup = (path: string) => `
fetchers:
  devices: { source: { file: unused.json } }
lookups:
  - name: device
    fetcher: devices
    key: { payload: ${path} }
`;

async function harness(
  yaml: string,
  extra: {
    fetchers?: Map<string, Fetcher<string, Reference>>;
    retry?: { maxAttempts: number; initialBackoffMs?: number };
  } = {},
) {
  const h = await startHarness({ yaml, fetchers: extra.fetchers ?? fetchers, retry: extra.retry });
  onTestFinished(() => h.close());
  return h;
}

describe('enrichment stage', () => {
  it('attaches the result under enrichment.<name>, lifts attributes, keeps attributes and the ordering key', async () => {
    const h = await harness(deviceLookup());
    await h.publishJson({ t: 21.5 }, { deviceId: 'd1', source: 'mqtt' }, 'd1');
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    const [out] = h.enriched;
    expect(out!.raw.attributes).toEqual({
      deviceId: 'd1',
      source: 'mqtt',
      location: 'north',
      [ENVELOPE_ATTRIBUTE]: '1',
    });
    expect(out!.raw.orderingKey).toBe('d1');
    expect(JSON.parse(new TextDecoder().decode(out!.raw.data))).toEqual({
      v: 1,
      payload: { t: 21.5 },
      enrichment: { device: { name: 'pump', location: 'north', siteId: 's1' } },
    });
    expect(h.enricher.lookupStats('device')).toMatchObject({ enriched: 1 });
  });

  it('runs dependent lookups: device, then its site', async () => {
    const h = await harness(`${deviceLookup()}
  - name: site
    fetcher: sites
    key: { lookup: device, field: siteId }
`);
    await h.publishJson({ t: 1 }, { deviceId: 'd1' });
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    expect(h.enriched[0]!.decoded.enrichment).toEqual({
      device: { name: 'pump', location: 'north', siteId: 's1' },
      site: { site: 'North Field', region: 'eu' },
    });
  });

  it('takes the key from a JSON path into the payload', async () => {
    const h = await harness(payloadLookup('$.meta.device'));
    await h.publishJson({ meta: { device: 'd2' } });
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    expect(h.enriched[0]!.decoded.enrichment).toEqual({
      device: { name: 'valve', location: 'south', siteId: 's9' },
    });
  });

  it('no key: passes through unenriched with a marker, or dead-letters, as configured; counted', async () => {
    const pass = await harness(deviceLookup());
    await pass.publishJson({ t: 1 }, { other: 'x' });
    await pass.until(() => pass.enriched.length === 1, 'the passed message');
    expect(pass.enriched[0]!.raw.attributes).toEqual({ other: 'x', 'enrichment.device': 'no-key' });
    expect(JSON.parse(new TextDecoder().decode(pass.enriched[0]!.raw.data))).toEqual({ t: 1 });
    expect(pass.enricher.lookupStats('device')).toMatchObject({ noKeyPassed: 1 });

    const dead = await harness(deviceLookup('    onMissingKey: dead-letter'));
    await dead.publishJson({ t: 1 }, { other: 'x' });
    await dead.until(() => dead.deadLetters.length === 1, 'the dead letter');
    expect(dead.deadLetters[0]!.raw.attributes).toMatchObject({
      'error.code': 'INVALID_PAYLOAD',
      'error.stage': 'enrichment',
    });
    expect(dead.deadLetters[0]!.raw.attributes['error.message']).toContain(
      "no key for lookup 'device' (attribute 'deviceId')",
    );
    expect(dead.enricher.lookupStats('device')).toMatchObject({ noKeyDeadLettered: 1 });
    expect(dead.enriched).toEqual([]);
  });

  it('miss: passes with a marker, dead-letters, or nacks for redelivery, as configured', async () => {
    const pass = await harness(deviceLookup());
    await pass.publishJson({ t: 1 }, { deviceId: 'ghost' });
    await pass.until(() => pass.enriched.length === 1, 'the passed message');
    expect(pass.enriched[0]!.raw.attributes).toEqual({
      deviceId: 'ghost',
      'enrichment.device': 'miss',
    });

    const dead = await harness(deviceLookup('    onMiss: dead-letter'));
    await dead.publishJson({ t: 1 }, { deviceId: 'ghost' });
    await dead.until(() => dead.deadLetters.length === 1, 'the dead letter');
    expect(dead.deadLetters[0]!.raw.attributes).toMatchObject({
      'error.code': 'NOT_FOUND',
      deviceId: 'ghost',
    });

    // Reference data that arrives late: nacked (and redelivered) until it is there.
    const late = new Map<string, Reference>();
    const nack = await harness(deviceLookup('    onMiss: nack'), {
      fetchers: new Map([
        ['devices', createStaticSource(late)],
        ['sites', sites],
      ]),
      // The retry backoff is the delay between attempts (the in-memory broker redelivers a nack
      // at once; Pub/Sub waits for the subscription's retry policy).
      retry: { maxAttempts: 2, initialBackoffMs: 20 },
    });
    await nack.publishJson({ t: 1 }, { deviceId: 'late' });
    await nack.until(() => nack.enricher.lookupStats('device').missNacked >= 3, 'redeliveries');
    expect(nack.enriched).toEqual([]);
    late.set('late', { name: 'new', location: 'east' });
    await nack.until(() => nack.enriched.length === 1, 'the enriched message');
    expect(nack.enriched[0]!.decoded.enrichment).toEqual({
      device: { name: 'new', location: 'east' },
    });
    expect(nack.deadLetters).toEqual([]);
  });

  it('a failing source is retried and nacked, never acked unenriched', async () => {
    let down = true;
    const flaky: Fetcher<string, Reference> = {
      name: 'flaky',
      get: (key) =>
        down ? Promise.reject(TributaryError.transient('UNAVAILABLE', 'down')) : devices.get(key),
      getMany: (keys) =>
        down
          ? Promise.reject(TributaryError.transient('UNAVAILABLE', 'down'))
          : devices.getMany(keys),
    };
    const h = await harness(deviceLookup(), {
      fetchers: new Map([
        ['devices', flaky],
        ['sites', sites],
      ]),
      retry: { maxAttempts: 2 },
    });
    await h.publishJson({ t: 1 }, { deviceId: 'd1' });
    await h.until(() => h.enricher.lookupStats('device').errors >= 4, 'retries and redeliveries');
    expect(h.enriched).toEqual([]);
    expect(h.deadLetters).toEqual([]);
    down = false;
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    expect(h.enriched[0]!.decoded.enrichment).toMatchObject({ device: { name: 'pump' } });
  });

  it('dead-letters a payload that must be JSON and is not', async () => {
    const h = await harness(payloadLookup('$.deviceId'));
    await h.publish({ data: new TextEncoder().encode('not json {'), attributes: { a: '1' } });
    await h.until(() => h.deadLetters.length === 1, 'the dead letter');
    expect(h.deadLetters[0]!.raw.attributes).toMatchObject({
      a: '1',
      'error.code': 'INVALID_PAYLOAD',
    });
    expect(h.enricher.stats().invalidJson).toBe(1);
  });

  it('keeps the upstream enrichmentData of a Go envelope and adds ours', async () => {
    const h = await harness(deviceLookup());
    const goEnvelope = {
      id: 'go-1',
      payload: Buffer.from(JSON.stringify({ t: 7 })).toString('base64'),
      publishTime: '2026-01-02T03:04:05Z',
      enrichmentData: { name: 'client-7', serviceTag: 'gold' },
    };
    await h.publishJson(goEnvelope, { deviceId: 'd1' });
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    expect(h.enriched[0]!.payload).toEqual({ t: 7 });
    expect(h.enriched[0]!.decoded.enrichment).toEqual({
      name: 'client-7',
      serviceTag: 'gold',
      device: { name: 'pump', location: 'north', siteId: 's1' },
    });
  });

  it('merges with the enrichment of a v1 envelope instead of overwriting it', async () => {
    const h = await harness(deviceLookup());
    await h.publish({
      data: new TextEncoder().encode(
        JSON.stringify({ v: 1, payload: { t: 3 }, enrichment: { upstream: { tenant: 'acme' } } }),
      ),
      attributes: { deviceId: 'd2', [ENVELOPE_ATTRIBUTE]: '1' },
    });
    await h.until(() => h.enriched.length === 1, 'the enriched message');
    expect(h.enriched[0]!.payload).toEqual({ t: 3 });
    expect(h.enriched[0]!.decoded.enrichment).toEqual({
      upstream: { tenant: 'acme' },
      device: { name: 'valve', location: 'south', siteId: 's9' },
    });
  });
});
