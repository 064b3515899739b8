import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEnvironment } from './env-check.js';
import {
  readTerraformFolder,
  references,
  type TerraformBlock,
  type TerraformFolder,
} from './terraform.js';
import { deployableApps, loadAppSchema, root } from './test-support/workspace.js';

const infra = join(root, 'infra');
let tf: TerraformFolder;
let modulesByDir: Map<string, TerraformFolder>;

const services = (): TerraformBlock[] =>
  tf.modules.filter((m) => m.body['source'] === './modules/cloud-run-app');
const subscriptions = (): TerraformBlock[] =>
  tf.modules.filter((m) => m.body['source'] === './modules/subscription');
const appOf = (service: TerraformBlock): string => service.body['app'] as string;
const envOf = (service: TerraformBlock): Record<string, unknown> => {
  const env = service.body['env'];
  // A literal object, so its keys can be checked (a merge() would hide them).
  expect(typeof env, `${service.name}.env must be an object literal`).toBe('object');
  return env as Record<string, unknown>;
};
const mapOf = (service: TerraformBlock, key: string): Record<string, Record<string, unknown>> =>
  (service.body[key] ?? {}) as Record<string, Record<string, unknown>>;

/** The account an app runs as: `google_service_account.<name>`. */
const accountOf = (service: TerraformBlock): string => {
  const [account] = references(service.body['service_account_email']);
  return account!;
};

beforeAll(async () => {
  tf = await readTerraformFolder(infra);
  modulesByDir = new Map();
  for (const dir of ['subscription', 'cloud-run-app', 'archive-bucket', 'bigquery-events']) {
    modulesByDir.set(dir, await readTerraformFolder(join(infra, 'modules', dir)));
  }
});

describe('infra/ (Terraform, parsed with @cdktf/hcl2json)', () => {
  it('has one Cloud Run service per deployable app, each with its own service account', async () => {
    const apps = services().map(appOf).sort();
    expect(apps).toEqual(await deployableApps());
    const accounts = services().map(accountOf);
    expect(new Set(accounts).size).toBe(accounts.length);
    for (const account of accounts) expect(account).toMatch(/^google_service_account\./);
  });

  it('sets on each service only variables of its config schema, and every required one', async () => {
    for (const service of services()) {
      const schema = await loadAppSchema(appOf(service));
      const names = [...Object.keys(envOf(service)), ...Object.keys(mapOf(service, 'secret_env'))];
      // Cloud Run sets PORT itself (and refuses it in the template).
      expect(names, appOf(service)).not.toContain('PORT');
      expect(checkEnvironment(schema, names, ['PORT']), appOf(service)).toEqual({
        unknown: [],
        missingRequired: [],
      });
    }
  });

  it('mounts every secret file where a variable of the app points', () => {
    for (const service of services()) {
      const values = Object.values(envOf(service)).map(String);
      for (const [name, file] of Object.entries(mapOf(service, 'secret_files'))) {
        const path = `${String(file['mount_path'])}/${String(file['file_name'])}`;
        expect(
          values.some((v) => v.includes(path)),
          `${appOf(service)} ${name}`,
        ).toBe(true);
      }
    }
  });

  it('gives every subscription a dead-letter policy on an existing topic, and a retry policy', () => {
    const topics = new Set(
      tf.resources
        .filter((r) => r.type === 'google_pubsub_topic')
        .map((r) => `google_pubsub_topic.${r.name}`),
    );
    expect(subscriptions().length).toBeGreaterThan(0);
    for (const sub of subscriptions()) {
      const [deadLetter] = references(sub.body['dead_letter_topic']);
      expect(topics.has(deadLetter!), `${sub.name} dead-letter topic ${deadLetter}`).toBe(true);
      const [topic] = references(sub.body['topic']);
      expect(topics.has(topic!), `${sub.name} topic`).toBe(true);
      expect(deadLetter).not.toBe(topic);
    }
    const [subscription] = modulesByDir
      .get('subscription')!
      .resources.filter((r) => r.type === 'google_pubsub_subscription');
    const policy = (subscription!.body['dead_letter_policy'] as Record<string, unknown>[])[0]!;
    expect(policy['dead_letter_topic']).toBe('${var.dead_letter_topic}');
    expect(policy['max_delivery_attempts']).toBe('${var.max_delivery_attempts}');
    expect(subscription!.body['retry_policy']).toHaveLength(1);
    // Subscriptions outside the module: only on the dead-letter topic itself (for inspection).
    for (const other of tf.resources.filter((r) => r.type === 'google_pubsub_subscription')) {
      expect(references(other.body['topic'])).toEqual(['google_pubsub_topic.dead_letter']);
    }
  });

  it('points each consumer at its own subscription, and dead-letters after the same attempts', () => {
    for (const service of services()) {
      const env = envOf(service);
      const subscriptionVariable = ['SUBSCRIPTION', 'INPUT_SUBSCRIPTION'].find((n) => n in env);
      if (subscriptionVariable === undefined) continue;
      const [module] = references(env[subscriptionVariable]);
      const sub = subscriptions().find((s) => `module.${s.name}` === module);
      expect(sub, `${appOf(service)} ${subscriptionVariable}`).toBeDefined();
      expect(references(sub!.body['subscriber'])[0]).toBe(accountOf(service));
      if ('MAX_DELIVERY_ATTEMPTS' in env) {
        expect(String(env['MAX_DELIVERY_ATTEMPTS'])).toContain(
          String(sub!.body['max_delivery_attempts']).slice(2, -1),
        );
      }
    }
    const used = services().flatMap((s) =>
      references(envOf(s)['SUBSCRIPTION'] ?? envOf(s)['INPUT_SUBSCRIPTION']),
    );
    expect(
      subscriptions()
        .map((s) => `module.${s.name}`)
        .sort(),
    ).toEqual([...used].sort());
  });

  it('wires the topics as the flow runs: raw -> enrichment -> enriched -> sinks', () => {
    const env = (app: string) => envOf(services().find((s) => appOf(s) === app)!);
    const topicOf = (sub: string) =>
      references(subscriptions().find((s) => `module.${s.name}` === sub)!.body['topic'])[0];
    expect(references(env('http-ingest')['TOPIC'])).toEqual(['google_pubsub_topic.raw']);
    expect(references(env('enrichment')['OUTPUT_TOPIC'])).toEqual(['google_pubsub_topic.enriched']);
    expect(topicOf(references(env('enrichment')['INPUT_SUBSCRIPTION'])[0]!)).toBe(
      'google_pubsub_topic.raw',
    );
    expect(topicOf(references(env('archiver')['SUBSCRIPTION'])[0]!)).toBe(
      'google_pubsub_topic.raw',
    );
    expect(topicOf(references(env('bigquery-sink')['SUBSCRIPTION'])[0]!)).toBe(
      'google_pubsub_topic.enriched',
    );
    for (const service of services()) {
      const deadLetter = envOf(service)['DEAD_LETTER_TOPIC'];
      if (deadLetter !== undefined)
        expect(references(deadLetter)).toEqual(['google_pubsub_topic.dead_letter']);
    }
    // The ingestion routes uploaded as its secret publish to the raw topic's default name.
    const raw = tf.resources.find((r) => r.type === 'google_pubsub_topic' && r.name === 'raw')!;
    const prefix = tf.variables.find((v) => v.name === 'name_prefix')!.body['default'] as string;
    const rawName = String(raw.body['name']).replace('${var.name_prefix}', prefix);
    const routes = parseYaml(readFileSync(join(infra, 'config', 'routes.yaml'), 'utf8')) as {
      routes: { destination: string }[];
    };
    expect(new Set(routes.routes.map((r) => r.destination))).toEqual(new Set([rawName]));
  });

  it('grants no primitive role anywhere', () => {
    const primitive = /roles\/(owner|editor|viewer)\b/;
    for (const folder of [tf, ...modulesByDir.values()]) {
      for (const block of [...folder.resources, ...folder.modules]) {
        expect(JSON.stringify(block.body), `${block.type}.${block.name}`).not.toMatch(primitive);
      }
    }
  });

  it('grants each service account roles on its own resources only', () => {
    const expected: Record<string, string[]> = {
      ingestion: [
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.dead_letter',
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.raw',
      ],
      enrichment: [
        'google_project_iam_member roles/datastore.viewer var.project_id (registry database only)',
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.dead_letter',
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.enriched',
        'subscription roles/pubsub.subscriber module.enrichment_subscription',
      ],
      'bigquery-sink': [
        'google_bigquery_dataset_iam_member roles/bigquery.dataEditor module.bigquery',
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.dead_letter',
        'subscription roles/pubsub.subscriber module.bigquery_sink_subscription',
      ],
      archiver: [
        'google_storage_bucket_iam_member roles/storage.legacyBucketReader module.archive_bucket',
        'google_storage_bucket_iam_member roles/storage.objectCreator module.archive_bucket',
        'subscription roles/pubsub.subscriber module.archiver_subscription',
      ],
      'http-ingest': [
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.raw',
      ],
      'sql-sink': [
        'google_pubsub_topic_iam_member roles/pubsub.publisher google_pubsub_topic.dead_letter',
        'subscription roles/pubsub.subscriber module.sql_sink_subscription',
      ],
    };
    const actual: Record<string, string[]> = {};
    const appByAccount = new Map(services().map((s) => [accountOf(s), appOf(s)]));
    const record = (member: unknown, grant: string) => {
      const [account] = references(member);
      const app = account === undefined ? undefined : appByAccount.get(account);
      if (app === undefined) return false;
      (actual[app] ??= []).push(grant);
      return true;
    };
    for (const r of tf.resources.filter((r) => r.type.endsWith('_iam_member'))) {
      if (r.type === 'google_service_account_iam_member') {
        // Workload Identity: only the app's own Kubernetes service account, on its own account.
        const app = appByAccount.get(references(r.body['service_account_id'])[0]!);
        expect(app, r.name).toBeDefined();
        expect(r.body['role']).toBe('roles/iam.workloadIdentityUser');
        expect(r.body['member']).toMatch(new RegExp(`/\\$\\{var\\.name_prefix\\}${app!}\\]$`));
        continue;
      }
      const target =
        r.body['topic'] ??
        r.body['dataset_id'] ??
        r.body['bucket'] ??
        r.body['project'] ??
        r.body['name'];
      const condition = (r.body['condition'] as Record<string, unknown>[] | undefined)?.[0];
      if (r.type === 'google_project_iam_member') {
        // A project-wide grant only where no resource-level one exists, and narrowed.
        expect(condition, `${r.type}.${r.name} needs a condition`).toBeDefined();
      }
      const suffix = condition === undefined ? '' : ` (${String(condition['title'])})`;
      const granted = record(
        r.body['member'],
        `${r.type} ${String(r.body['role'])} ${references(target)[0]}${suffix}`,
      );
      // Grants to others: the Pub/Sub service agent (dead letters) and the public invoker.
      if (!granted)
        expect(['local.pubsub_service_agent', 'allUsers']).toContain(
          references(r.body['member'])[0] ?? r.body['member'],
        );
    }
    for (const sub of subscriptions()) {
      record(sub.body['subscriber'], `subscription roles/pubsub.subscriber module.${sub.name}`);
    }
    for (const grants of Object.values(actual)) grants.sort();
    // An app made by the service generator reads its own subscription and nothing else.
    for (const service of services()) {
      const sub = references(envOf(service)['SUBSCRIPTION'])[0];
      expected[appOf(service)] ??= [`subscription roles/pubsub.subscriber ${sub}`];
    }
    expect(actual).toEqual(expected);
    // Inside the Cloud Run module: only secretAccessor, per secret, for the service's own account.
    const inner = modulesByDir
      .get('cloud-run-app')!
      .resources.filter((r) => r.type.endsWith('_iam_member'));
    expect(inner.map((r) => [r.type, r.body['role'], r.body['member']])).toEqual([
      [
        'google_secret_manager_secret_iam_member',
        'roles/secretmanager.secretAccessor',
        'serviceAccount:${var.service_account_email}',
      ],
    ]);
  });

  it('probes /readyz at startup and /healthz for liveness on every service', () => {
    const [service] = modulesByDir
      .get('cloud-run-app')!
      .resources.filter((r) => r.type === 'google_cloud_run_v2_service');
    const container = (
      (service!.body['template'] as Record<string, unknown>[])[0]!['containers'] as Record<
        string,
        unknown
      >[]
    )[0]!;
    const path = (probe: string) =>
      (
        (container[probe] as Record<string, unknown>[])[0]!['http_get'] as Record<string, unknown>[]
      )[0]!['path'];
    expect(path('startup_probe')).toBe('/readyz');
    expect(path('liveness_probe')).toBe('/healthz');
  });

  it('keeps ingestion at one always-on instance (one MQTT client id, no requests to wake it)', () => {
    const ingestion = services().find((s) => appOf(s) === 'ingestion')!;
    expect(ingestion.body['min_instances']).toBe(1);
    expect(ingestion.body['max_instances']).toBe(1);
    expect(ingestion.body['cpu_always_allocated']).toBe(true);
    for (const service of services().filter(
      (s) => 'SUBSCRIPTION' in envOf(s) || 'INPUT_SUBSCRIPTION' in envOf(s),
    )) {
      expect(service.body['cpu_always_allocated'], appOf(service)).toBe(true);
    }
  });

  it('documents and types every variable of the root and the modules', () => {
    for (const folder of [tf, ...modulesByDir.values()]) {
      for (const variable of folder.variables) {
        expect(variable.body['description'], variable.name).toEqual(expect.any(String));
        expect(variable.body['type'], variable.name).toEqual(expect.any(String));
      }
    }
  });
});
