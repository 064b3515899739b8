import { connectAsync, type MqttClient } from 'mqtt';
import { telemetry, type Device } from './devices.js';

/** How the simulated fleet publishes. */
export interface SimulatorOptions {
  readonly mqttUrl: string;
  /** MQTT 4 (3.1.1) or 5. @defaultValue 4, which every broker speaks */
  readonly protocolVersion?: 4 | 5 | undefined;
  /** Put before `devices/<id>/telemetry`. @defaultValue '' */
  readonly topicPrefix?: string | undefined;
  readonly devices: readonly Device[];
  /** Messages per second, over the whole fleet. */
  readonly ratePerSecond: number;
  readonly durationMs: number;
  /**
   * Share of messages deliberately bad, half malformed JSON and half from devices the registry
   * does not know, so the dead-letter path is visible. @defaultValue 0.02
   */
  readonly badShare?: number | undefined;
  /** Size of the one oversized payload sent mid-run; 0 sends none. */
  readonly oversizedBytes: number;
  /** Publishes waiting for their PUBACK, at most. @defaultValue 1_000 */
  readonly maxInFlight?: number | undefined;
  readonly random?: (() => number) | undefined;
  /** The first message's `seq`; later ones count up from it. @defaultValue 0 */
  readonly seqStart?: number | undefined;
}

/** What the simulator sent, by kind; a message counts once its PUBACK arrived. */
export interface SimulatorCounts {
  good: number;
  malformed: number;
  unknownDevice: number;
  oversized: number;
  /** Publishes the broker refused or that failed. */
  failed: number;
}

/** A running simulator. */
export interface Simulator {
  readonly counts: Readonly<SimulatorCounts>;
  /** Every message sent so far, of every kind. */
  sent(): number;
  /** Resolves when the duration is over and every publish was acknowledged or failed. */
  readonly done: Promise<void>;
  /** Ends early; `done` then resolves. */
  stop(): void;
}

const TICK_MS = 10;

/** Connects to `mqttUrl` and publishes telemetry at the rate for the duration (QoS 1). */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const random = options.random ?? Math.random;
  const prefix = options.topicPrefix ?? '';
  const seqStart = options.seqStart ?? 0;
  const badShare = options.badShare ?? 0.02;
  const maxInFlight = options.maxInFlight ?? 1_000;
  const client: MqttClient = await connectAsync(options.mqttUrl, {
    clientId: `tributary-simulator-${String(process.pid)}`,
    clean: true,
    reconnectPeriod: 1_000,
    protocolVersion: options.protocolVersion ?? 4,
  });
  const counts: SimulatorCounts = {
    good: 0,
    malformed: 0,
    unknownDevice: 0,
    oversized: 0,
    failed: 0,
  };
  const total = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1_000));
  const oversizedAt = options.oversizedBytes > 0 ? Math.floor(total / 2) : -1;
  let issued = 0;
  let inFlight = 0;
  let stopped = false;
  const started = performance.now();

  const publish = (topic: string, payload: string | Buffer, kind: keyof SimulatorCounts): void => {
    inFlight += 1;
    client.publish(topic, payload, { qos: 1 }, (error) => {
      inFlight -= 1;
      counts[error instanceof Error ? 'failed' : kind] += 1;
    });
  };

  const issueOne = (): void => {
    const index = issued;
    issued += 1;
    const seq = seqStart + index;
    const device = options.devices[index % options.devices.length];
    if (device === undefined) throw new Error('the simulator needs at least one device');
    const now = new Date();
    if (index === oversizedAt) {
      const body = telemetry(device.id, seq, now, random);
      const padding = 'x'.repeat(options.oversizedBytes);
      publish(
        `${prefix}devices/${device.id}/telemetry`,
        JSON.stringify({ ...body, padding }),
        'oversized',
      );
      return;
    }
    const draw = random();
    if (draw < badShare / 2) {
      publish(
        `${prefix}devices/${device.id}/telemetry`,
        `{"deviceId":"${device.id}","seq":${String(seq)},`,
        'malformed',
      );
    } else if (draw < badShare) {
      const ghost = `ghost-${String(seq % 7).padStart(4, '0')}`;
      publish(
        `${prefix}devices/${ghost}/telemetry`,
        JSON.stringify(telemetry(ghost, seq, now, random)),
        'unknownDevice',
      );
    } else {
      publish(
        `${prefix}devices/${device.id}/telemetry`,
        JSON.stringify(telemetry(device.id, seq, now, random)),
        'good',
      );
    }
  };

  const done = new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = stopped
        ? issued
        : Math.min(
            total,
            Math.floor(((performance.now() - started) / 1_000) * options.ratePerSecond),
          );
      while (issued < due && inFlight < maxInFlight) issueOne();
      const settled =
        counts.good + counts.malformed + counts.unknownDevice + counts.oversized + counts.failed;
      if ((issued >= total || stopped) && settled === issued) {
        client.end(false, {}, () => {
          resolve();
        });
        return;
      }
      setTimeout(tick, TICK_MS);
    };
    tick();
  });

  return {
    counts,
    sent: () => counts.good + counts.malformed + counts.unknownDevice + counts.oversized,
    done,
    stop() {
      stopped = true;
    },
  };
}
