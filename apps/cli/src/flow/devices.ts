/** One device of the simulated fleet, as the device registry holds it. */
export interface Device {
  readonly id: string;
  readonly name: string;
  readonly site: string;
  readonly model: string;
}

/** The sites devices sit at: what the example query groups by. */
export const SITES: readonly string[] = ['north', 'south', 'east', 'west'];
const MODELS: readonly string[] = ['th-200', 'th-300', 'aq-10'];

/** `count` devices `dev-0001`, `dev-0002`, …, spread over {@link SITES}. */
export function createFleet(count: number): Device[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `dev-${String(i + 1).padStart(4, '0')}`;
    return {
      id,
      name: `sensor ${String(i + 1)}`,
      site: SITES[i % SITES.length] ?? 'north',
      model: MODELS[i % MODELS.length] ?? 'th-200',
    };
  });
}

/** One telemetry reading: what a device publishes. */
export interface Telemetry {
  readonly deviceId: string;
  /** Unique in a run: the identity the accounting counts by. */
  readonly seq: number;
  /** When the device published it (ISO 8601): the start of the end-to-end latency. */
  readonly ts: string;
  readonly temperature: number;
  readonly humidity: number;
  readonly battery: number;
  readonly readings: readonly { readonly name: string; readonly value: number }[];
}

/** A plausible reading of `deviceId` at `now`: a daily temperature curve plus noise. */
export function telemetry(
  deviceId: string,
  seq: number,
  now: Date,
  random = Math.random,
): Telemetry {
  const hour = now.getUTCHours() + now.getUTCMinutes() / 60;
  const temperature = 18 + 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI) + (random() - 0.5) * 2;
  const humidity = 40 + random() * 30;
  const round = (value: number): number => Math.round(value * 100) / 100;
  return {
    deviceId,
    seq,
    ts: now.toISOString(),
    temperature: round(temperature),
    humidity: round(humidity),
    battery: round(100 - (seq % 1000) / 20),
    readings: [
      { name: 'co2', value: round(400 + random() * 300) },
      { name: 'pm25', value: round(random() * 35) },
    ],
  };
}
