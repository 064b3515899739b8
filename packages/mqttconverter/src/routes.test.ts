import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRouter } from './router.js';
import { loadRoutesFile, parseRoutes, RouteConfigError, type RouteProblem } from './routes.js';

const valid = `
routes:
  - name: telemetry
    topic: devices/{deviceId}/telemetry
    destination: raw-telemetry
    qos: 1
  - name: events
    topic: events/#
    destination: projects/test-proj/topics/raw-events
    qos: 2
  - name: status
    topic: devices/+/status
    destination: raw-status
`;

function problems(text: string): readonly RouteProblem[] {
  try {
    parseRoutes(text, 'routes.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(RouteConfigError);
    return (error as RouteConfigError).problems;
  }
  throw new Error('expected a RouteConfigError');
}

describe('parseRoutes', () => {
  it('parses routes, compiles templates and defaults qos to 1', () => {
    const routes = parseRoutes(valid, 'routes.yaml');
    expect(routes.map((r) => [r.name, r.filter, r.destination, r.qos])).toEqual([
      ['telemetry', 'devices/+/telemetry', 'raw-telemetry', 1],
      ['events', 'events/#', 'projects/test-proj/topics/raw-events', 2],
      ['status', 'devices/+/status', 'raw-status', 1],
    ]);
    expect(routes[0]?.template.params).toEqual(['deviceId']);
  });

  it('names file, route, field and problem', () => {
    const found = problems(`
routes:
  - name: a
    topic: a/#/b
    destination: dest-a
  - name: b
    topic: b
    destination: dest-b
    qos: 3
  - name: a
    topic: c
    destination: dest-c
  - name: d
    topic: d
    destination: goog-x
  - topic: e
    destination: dest-e
  - name: f
    topic: f
    destination: dest-f
    qso: 1
`);
    expect(found).toEqual([
      expect.objectContaining({
        file: 'routes.yaml',
        route: 'a',
        field: 'topic',
        problem: expect.stringContaining("'#'"),
      }),
      expect.objectContaining({ route: 'b', field: 'qos', problem: 'must be 0, 1 or 2' }),
      expect.objectContaining({
        route: 'a',
        field: 'name',
        problem: 'duplicate route name (also routes[0])',
      }),
      expect.objectContaining({ route: 'd', field: 'destination' }),
      expect.objectContaining({ route: 'routes[4]', field: 'name' }),
      expect.objectContaining({ route: 'f', problem: "unknown field(s) 'qso'" }),
    ]);
  });

  it('reports every field problem of one route', () => {
    const found = problems(`
routes:
  - name: bad
    topic: x/#/y
    destination: dl
    qos: 3
`);
    expect(found.map((p) => [p.route, p.field])).toEqual([
      ['bad', 'topic'],
      ['bad', 'destination'],
      ['bad', 'qos'],
    ]);
    expect(found[1]?.problem).toBe(
      "must be a Pub/Sub topic id or projects/<project>/topics/<id>: 'dl' has 2 characters; a Pub/Sub id has 3 to 255",
    );
  });

  it('finds duplicates even when the first route of a name or filter is invalid', () => {
    const found = problems(`
routes:
  - { name: twin, topic: "a/{id}", destination: dest-a, qos: 9 }
  - { name: twin, topic: "a/+", destination: dest-b }
  - { name: "bad name!", topic: "b/#", destination: dest-c }
  - { name: other, topic: "b/#", destination: "projects/p/subscriptions/s" }
`);
    expect(found.map((p) => `${p.route}: ${p.field}: ${p.problem}`)).toEqual([
      'twin: qos: must be 0, 1 or 2',
      'twin: name: duplicate route name (also routes[0])',
      "twin: topic: subscribes the same filter 'a/+' as route 'twin' (MQTT keeps one subscription per filter)",
      'bad name!: name: must be 1-128 characters of letters, digits, ".", "_" or "-"',
      "other: topic: subscribes the same filter 'b/#' as route 'bad name!' (MQTT keeps one subscription per filter)",
      "other: destination: must be a Pub/Sub topic id or projects/<project>/topics/<id>: 'projects/p/subscriptions/s' is neither an id nor a full name projects/<project>/topics/<id>",
    ]);
  });

  it('puts every problem in the error message', () => {
    expect(() =>
      parseRoutes(
        'routes:\n  - name: x\n    topic: a\n    destination: dd-x\n    qos: 7\n',
        'r.yaml',
      ),
    ).toThrow(/invalid routes \(1 problem\):\n {2}r\.yaml: route 'x': qos: must be 0, 1 or 2/);
  });

  it('rejects two routes on the same filter', () => {
    const found = problems(`
routes:
  - { name: one, topic: "devices/{id}/t", destination: d-one }
  - { name: two, topic: "devices/+/t", destination: d-two }
`);
    expect(found).toEqual([
      expect.objectContaining({
        route: 'two',
        field: 'topic',
        problem: expect.stringContaining("route 'one'"),
      }),
    ]);
  });

  it('reports YAML syntax errors, duplicate keys, missing and empty route lists', () => {
    expect(problems('routes: [\n')[0]?.problem).toMatch(/^YAML: /);
    expect(problems('routes: []\nroutes: []\n')[0]?.problem).toMatch(/^YAML: .*unique/i);
    expect(problems('{}')[0]).toEqual(expect.objectContaining({ field: 'routes' }));
    expect(problems('routes: []')[0]).toEqual(
      expect.objectContaining({ field: 'routes', problem: 'must list at least one route' }),
    );
    expect(problems('routes: [1]')[0]).toEqual(expect.objectContaining({ route: 'routes[0]' }));
    expect(problems('other: 1\nroutes: []').map((p) => p.problem)).toContain(
      "unknown field(s) 'other'",
    );
  });

  it('loads a file and names it when it cannot be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'routes-'));
    const file = join(dir, 'routes.yaml');
    await writeFile(file, valid);
    expect(await loadRoutesFile(file)).toHaveLength(3);
    await expect(loadRoutesFile(join(dir, 'missing.yaml'))).rejects.toThrow(
      `${join(dir, 'missing.yaml')}: cannot read the file (ENOENT)`,
    );
  });
});

describe('createRouter', () => {
  const router = createRouter(parseRoutes(valid));

  it('matches the first route in file order and lifts parameters', () => {
    const match = router.match('devices/d1/telemetry');
    expect(match?.route.name).toBe('telemetry');
    expect(match?.params).toEqual({ deviceId: 'd1' });
    expect(router.match('devices/d1/status')?.route.name).toBe('status');
    expect(router.match('events/a/b')?.route.name).toBe('events');
    expect(router.match('elsewhere/x')).toBeUndefined();
  });

  it('prefers the subscription the broker names, when its template matches', () => {
    const overlapping = createRouter(
      parseRoutes(`
routes:
  - { name: specific, topic: "a/{id}", destination: d-specific }
  - { name: all, topic: "a/#", destination: d-all }
`),
    );
    expect(overlapping.match('a/1', [2])?.route.name).toBe('all');
    expect(overlapping.match('a/1', [1])?.route.name).toBe('specific');
    // A stale identifier (an older configuration) whose template does not match: first match.
    expect(overlapping.match('a/1/2', [1])?.route.name).toBe('all');
    expect(overlapping.match('b', [1, 2])).toBeUndefined();
  });
});
