/**
 * Run by cleanup.test.ts as a separate process: starts a private Redis, a private Mosquitto and,
 * when `argv[3]` is `java`, the Pub/Sub emulator; prints their PIDs and temporary directories as one JSON line, then dies
 * the way `argv[2]` says (`throw`: an uncaught exception; `wait`: waits to be killed by a signal)
 * without stopping them.
 */
import { dirname } from 'node:path';
import { startPrivateMosquitto } from '../mosquitto.js';
import { startPubSubEmulator } from '../pubsub-emulator.js';
import { startRedis } from '../redis.js';

const started = await Promise.all([
  startRedis({ reuseExisting: false }),
  startPrivateMosquitto(),
  ...(process.argv[3] === 'java' ? [startPubSubEmulator()] : []),
]);
const pids = started.map((service) => service.pid);
const dirs = started.map((service) => dirname(service.logFile ?? ''));
process.stdout.write(`${JSON.stringify({ pids, dirs })}\n`);
if (process.argv[2] === 'throw') throw new Error('crash-fixture: dying half-way');
setInterval(() => undefined, 1_000);
