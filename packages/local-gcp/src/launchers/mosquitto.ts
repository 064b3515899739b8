import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { launchProcess } from './launch.js';
import type { LocalProcess, ProcessLaunchOptions } from './local-process.js';
import { DEFAULT_HOST } from './local-process.js';
import { answersMqttConnect } from './probes.js';

/** Options for {@link startPrivateMosquitto}. */
export interface PrivateMosquittoOptions extends ProcessLaunchOptions {
  /**
   * The mosquitto executable. @defaultValue '/usr/sbin/mosquitto' when it exists (Debian puts it
   * there, outside most users' PATH), else 'mosquitto'
   */
  readonly mosquittoPath?: string | undefined;
}

/** Options for {@link startMosquitto}. */
export interface MosquittoOptions extends PrivateMosquittoOptions {
  /**
   * Use a broker that already accepts an MQTT CONNECT on `host:existingPort` instead of starting
   * one. @defaultValue true
   */
  readonly reuseExisting?: boolean | undefined;
  /** Where to look for an existing broker. @defaultValue 1883 */
  readonly existingPort?: number | undefined;
}

/** An MQTT broker on loopback: an existing one, or one this launcher started. */
export interface MosquittoBroker extends LocalProcess {
  /** `mqtt://host:port`, the value for `MQTT_URL`. */
  readonly url: string;
  /** True when this launcher started the broker (and `stop()` ends it). */
  readonly started: boolean;
}

/** A broker only its creator uses, which can be restarted without losing persistent sessions. */
export interface PrivateMosquittoBroker extends MosquittoBroker {
  readonly pid: number;
  readonly started: true;
  /**
   * Stops the broker (it saves sessions and queued QoS 1/2 messages on SIGTERM) and starts it
   * again on the same port with the same persistence directory, so `clean: false` sessions and
   * their queued messages survive. Connected clients see the connection drop and reconnect.
   */
  restart(): Promise<void>;
}

/** The standard MQTT port. */
export const MQTT_STANDARD_PORT = 1883;

function defaultMosquittoPath(): string {
  return existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
}

/**
 * Starts a mosquitto broker on a free port (or `options.port`) even when another one runs on
 * 1883, with a generated config: anonymous access on `host` only, persistence in a temporary
 * directory that lives until `stop()`, and limits raised for bursts: at most 100000 queued
 * messages per client instead of 1000 (`max_queued_messages`), 1000 in flight instead of 20
 * (`max_inflight_messages`).
 */
export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquittoBroker> {
  const launched = await launchProcess(
    {
      name: 'mosquitto',
      command: options.mosquittoPath ?? defaultMosquittoPath(),
      installHint: 'install the mosquitto package',
      async args(host, port, workDir) {
        const dataDir = join(workDir, 'data');
        await mkdir(dataDir, { recursive: true });
        const configFile = join(workDir, 'mosquitto.conf');
        await writeFile(
          configFile,
          [
            `listener ${port} ${host}`,
            'allow_anonymous true',
            'persistence true',
            `persistence_location ${dataDir}/`,
            // mosquitto's default of 1000 queued messages per client silently drops QoS 1
            // messages for an offline persistent session; restart tests queue more than that.
            'max_queued_messages 100000',
            // The default of 20 is also the Receive Maximum granted to MQTT 5 publishers: at most
            // 20 QoS 1/2 publishes in flight each, which throttles a burst to round trips.
            'max_inflight_messages 1000',
            // As root, mosquitto would switch to the `mosquitto` user, which cannot write here.
            `user ${userInfo().username}`,
            'log_dest stdout',
            '',
          ].join('\n'),
        );
        return ['-c', configFile];
      },
      probe: (host, port) => answersMqttConnect(host, port),
    },
    options,
  );
  return {
    host: launched.host,
    port: launched.port,
    get pid() {
      return launched.pid;
    },
    logFile: launched.logFile,
    url: `mqtt://${launched.host}:${launched.port}`,
    started: true,
    restart: () => launched.restart(),
    stop: () => launched.stop(),
  };
}

/**
 * Returns the broker answering on the standard port, or starts a private one
 * ({@link startPrivateMosquitto}) on a free port.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const host = options.host ?? DEFAULT_HOST;
  const existingPort = options.existingPort ?? MQTT_STANDARD_PORT;
  if ((options.reuseExisting ?? true) && (await answersMqttConnect(host, existingPort))) {
    return {
      host,
      port: existingPort,
      pid: undefined,
      logFile: undefined,
      url: `mqtt://${host}:${existingPort}`,
      started: false,
      stop: () => Promise.resolve(),
    };
  }
  return startPrivateMosquitto(options);
}
