import { describe, expect, it } from 'vitest';
import { createRouter } from './router.js';
import { parseRoutes } from './routes.js';

const routes = parseRoutes(`routes:
  - { name: telemetry, topic: "site/{site}/devices/{deviceId}/telemetry", destination: raw }
  - { name: everything, topic: "site/#", destination: archive }
  - { name: alerts, topic: "alerts/+", destination: alerts }
`);
const router = createRouter(routes);

describe('MQTT router', () => {
  it('takes the first route in file order whose template matches, with its parameters', () => {
    expect(router.match('site/north/devices/d7/telemetry')).toEqual({
      route: routes[0],
      params: { site: 'north', deviceId: 'd7' },
    });
    expect(router.match('site/north/weather')?.route.name).toBe('everything');
    expect(router.match('alerts/fire')?.route.name).toBe('alerts');
  });

  it('prefers the route the broker names by subscription identifier (overlapping filters)', () => {
    const everything = routes[1];
    expect(everything).toBeDefined();
    if (everything === undefined) return;
    const id = router.subscriptionIdentifier(everything);
    expect(id).toBe(2);
    expect(router.match('site/north/devices/d7/telemetry', [id])?.route.name).toBe('everything');
  });

  it('falls back to file order for a stale identifier, and says undefined when nothing matches', () => {
    expect(router.match('site/north/devices/d7/telemetry', [99])?.route.name).toBe('telemetry');
    // Identifier 3 is the alerts route, whose template does not match this topic.
    expect(router.match('site/north/devices/d7/telemetry', [3])?.route.name).toBe('telemetry');
    expect(router.match('legacy/thing')).toBeUndefined();
    expect(router.match('alerts/fire/extra')).toBeUndefined();
  });

  it('refuses a route that is not its own', () => {
    const [other] = parseRoutes('routes:\n  - { name: x, topic: "x/+", destination: xyz }\n');
    expect(other).toBeDefined();
    if (other !== undefined) expect(() => router.subscriptionIdentifier(other)).toThrow(/'x'/);
  });
});
