/**
 * The `local-gcp` container: our local GCS and BigQuery servers in one process, for Docker
 * Compose (`APP=local-gcp`). Unlike `npm run stack` it starts no emulators, Redis or Mosquitto:
 * compose runs those from their own images.
 *
 * Environment (a bad value exits 78 naming the variable):
 * - `HOST` (default `0.0.0.0`): where the four servers listen;
 * - `GCS_PORT` (default 4443): the GCS JSON API (`STORAGE_EMULATOR_HOST=http://host:4443`);
 * - `BIGQUERY_PORT` (default 9050): the BigQuery REST API (`BIGQUERY_EMULATOR_HOST=http://host:9050`);
 * - `BIGQUERY_STORAGE_PORT` (default 9060): the Storage Write API over gRPC, on the same tables
 *   (`BIGQUERY_STORAGE_EMULATOR_HOST=host:9060`);
 * - `PORT` (default 8080): `/healthz` and `/readyz`, 200 once both servers listen;
 * - `GCS_DATA_DIR`, `BIGQUERY_DATA_DIR` (default unset: in memory): folders that keep the data
 *   across restarts (a writable volume; the image's root filesystem is read-only).
 *
 * SIGTERM or SIGINT stops both servers and exits 0.
 */
import { createServer } from 'node:http';
import { startBigQueryServer } from '../bigquery/server.js';
import { startGcsServer } from '../gcs/server.js';

const CONFIG_EXIT_CODE = 78;

function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ service: 'local-gcp', ...fields })}\n`);
}

function port(name: string, fallback: number, problems: string[]): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    problems.push(`${name}: expected a port number 0-65535, got '${raw}'`);
  }
  return value;
}

async function main(): Promise<number> {
  const problems: string[] = [];
  const host = process.env['HOST'] || '0.0.0.0';
  const healthPort = port('PORT', 8080, problems);
  const gcsPort = port('GCS_PORT', 4443, problems);
  const bigqueryPort = port('BIGQUERY_PORT', 9050, problems);
  const writeApiPort = port('BIGQUERY_STORAGE_PORT', 9060, problems);
  if (problems.length > 0) {
    for (const problem of problems) log({ severity: 'CRITICAL', message: problem });
    return CONFIG_EXIT_CODE;
  }

  const shutdown = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const gcs = await startGcsServer({
    host,
    port: gcsPort,
    dataDir: process.env['GCS_DATA_DIR'] || undefined,
  });
  const bigquery = await startBigQueryServer({
    host,
    port: bigqueryPort,
    dataDir: process.env['BIGQUERY_DATA_DIR'] || undefined,
    writeApi: { host, port: writeApiPort },
  });
  const health = createServer((request, response) => {
    const known = request.url === '/healthz' || request.url === '/readyz';
    response.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(known ? { status: 'ready' } : { error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    health.once('error', reject);
    health.listen(healthPort, host, resolve);
  });
  log({
    severity: 'INFO',
    message: 'local-gcp started',
    gcsPort: gcs.port,
    bigqueryPort: bigquery.port,
    bigqueryStoragePort: bigquery.writeApi?.port,
    healthPort: (health.address() as { port: number }).port,
  });
  const signal = await shutdown;
  log({ severity: 'INFO', message: `${signal}: stopping` });
  health.closeAllConnections();
  await new Promise((resolve) => health.close(resolve));
  await Promise.all([gcs.stop(), bigquery.stop()]);
  return 0;
}

process.exitCode = await main().catch((error: unknown) => {
  log({ severity: 'CRITICAL', message: error instanceof Error ? error.message : String(error) });
  return 1;
});
