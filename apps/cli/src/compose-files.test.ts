// docker/config holds what the compose stack's apps read for the simulator's devices: the
// device registry and the table schema must be the ones the simulator and `tributary start` use.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { targetFileSchema } from './check/target.js';
import { createFleet } from './flow/devices.js';
import { TABLE_SCHEMA } from './flow/flow-files.js';

const docker = join(import.meta.dirname, '../../../docker');
const json = async (file: string): Promise<unknown> =>
  JSON.parse(await readFile(join(docker, file), 'utf8')) as unknown;

describe('docker/config for the simulated devices', () => {
  it('registers exactly the fleet `tributary simulate` publishes as (its default 50 devices)', async () => {
    expect(await json('config/devices.json')).toEqual(createFleet(50));
  });

  it('gives the sink the table schema of the simulator telemetry', async () => {
    expect(await json('config/schema.json')).toEqual(TABLE_SCHEMA);
  });

  it('describes the compose stack as a valid `tributary check --target` file', async () => {
    const target = targetFileSchema.parse(await json('compose.target.json'));
    expect(createFleet(50).map((d) => d.id)).toContain(target.knownDeviceId);
  });
});
