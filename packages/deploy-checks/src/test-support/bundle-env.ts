import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { uniqueName, type StackEnv } from '@tributary/local-gcp';
import { readCompose, readImageRuntime } from './manifests.js';
import { root } from './workspace.js';

/** `node scripts/bundle.mjs <app> --out <out>`, as the Dockerfile runs it; throws with its output. */
export function bundleApp(app: string, out: string): string {
  const run = spawnSync(process.execPath, ['scripts/bundle.mjs', app, '--out', out], {
    cwd: root,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`bundling ${app} failed: ${run.stderr}`);
  return out;
}

/** The node arguments of the image's CMD, between `node` and the bundle. */
export function imageNodeArgs(): string[] {
  return readImageRuntime().cmd.slice(1, -1);
}

/**
 * The environment the image and docker/compose.yaml give `app`, pointed at `stack` and at fresh
 * resources of its own (topics, subscriptions, a bucket, a table name), which `cleanups` delete:
 * - paths into the image (`/app/...`) point into `bundleDir`; mounted files into docker/;
 * - the emulator variables, the project, and MQTT/Redis/MySQL URLs come from the stack.
 */
export async function bundleEnvironment(
  app: string,
  bundleDir: string,
  stack: StackEnv,
  cleanups: (() => Promise<unknown>)[],
): Promise<Record<string, string>> {
  const image = readImageRuntime();
  const service = readCompose().services[app];
  if (service === undefined) throw new Error(`docker/compose.yaml has no service ${app}`);
  const pubsub = new PubSub({ projectId: stack.GOOGLE_CLOUD_PROJECT });
  const topic = async (name: string): Promise<string> => {
    const [created] = await pubsub.createTopic(uniqueName(name));
    cleanups.push(() => created.delete());
    return created.name.split('/').pop()!;
  };
  const env: Record<string, string> = { ...image.env };
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    env[name] = String(value ?? '');
  }
  const mounts = (service.volumes ?? []).map((v) => v.split(':'));
  for (const [name, value] of Object.entries(env)) {
    if (value.startsWith(`${image.workdir}/`)) {
      env[name] = join(bundleDir, value.slice(image.workdir.length + 1));
    }
    const mount = mounts.find(([, target]) => target === value);
    if (mount !== undefined) env[name] = join(root, 'docker', mount[0]!);
  }
  for (const name of Object.keys(stack) as (keyof StackEnv)[]) {
    if (name in env) env[name] = stack[name];
  }
  env['GOOGLE_CLOUD_PROJECT'] = stack.GOOGLE_CLOUD_PROJECT;
  env['METADATA_SERVER_DETECTION'] = 'none';
  env['LOG_LEVEL'] = 'warn';
  for (const name of ['TOPIC', 'OUTPUT_TOPIC', 'DEAD_LETTER_TOPIC']) {
    if (name in env) env[name] = await topic(`${app}-${env[name]!}`);
  }
  for (const name of ['SUBSCRIPTION', 'INPUT_SUBSCRIPTION']) {
    if (!(name in env)) continue;
    const [created] = await pubsub.topic(await topic(app)).createSubscription(uniqueName(app));
    cleanups.push(() => created.delete());
    env[name] = created.name.split('/').pop()!;
  }
  if ('MYSQL_URL' in env) {
    env['MYSQL_URL'] = process.env['MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';
    env['MYSQL_TABLE'] = uniqueName('bundle').replaceAll('-', '_').slice(0, 40);
  }
  if ('BIGQUERY_DATASET' in env)
    env['BIGQUERY_DATASET'] = uniqueName('bundle').replaceAll('-', '_');
  if ('MQTT_CLIENT_ID' in env) env['MQTT_CLIENT_ID'] = uniqueName('bundle');
  if ('BUCKET' in env) {
    const storage = new Storage({ apiEndpoint: stack.STORAGE_EMULATOR_HOST, projectId: 'p' });
    const [bucket] = await storage.createBucket(uniqueName('bundle'));
    cleanups.push(() => bucket.delete());
    env['BUCKET'] = bucket.name;
  }
  if ('ROUTES_FILE' in env) {
    // The same routes, to a topic of this run.
    const raw = await topic('bundle-raw');
    const routes = readFileSync(env['ROUTES_FILE'], 'utf8').replaceAll(
      /destination: \S+/g,
      `destination: ${raw}`,
    );
    env['ROUTES_FILE'] = join(bundleDir, '..', `${app}-routes.yaml`);
    writeFileSync(env['ROUTES_FILE'], routes);
  }
  return env;
}
