import { join } from 'node:path';
import {
  formatFiles,
  generateFiles,
  installPackagesTask,
  names,
  updateJson,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';

/** Options of `nx g @tributary/tools:service` (see generators/service/schema.json). */
export interface ServiceGeneratorOptions {
  /** The app's folder under apps/ and its service name. */
  readonly name: string;
  /** The topic to subscribe to, as named in infra/main.tf without the prefix (raw, enriched). */
  readonly topic: string;
  /** Skip `npm install` afterwards. @defaultValue false */
  readonly skipInstall?: boolean | undefined;
}

const files = join(import.meta.dirname, '../../../generators/service/files');
const NAME = /^[a-z][a-z0-9-]{1,24}[a-z0-9]$/;

function read(tree: Tree, path: string): string {
  const text = tree.read(path, 'utf-8');
  if (text === null) throw new Error(`${path} is missing: run the generator at the workspace root`);
  return text;
}

/**
 * The topics of infra/main.tf: topic name (without `${var.name_prefix}`) to resource name, such
 * as `dead-letter` to `dead_letter`.
 */
export function topicsOf(mainTf: string): Map<string, string> {
  const topics = new Map<string, string>();
  const pattern =
    /resource "google_pubsub_topic" "(\w+)" \{\s*name\s*=\s*"\$\{var\.name_prefix\}([a-z0-9-]+)"/g;
  for (const [, resource, topic] of mainTf.matchAll(pattern)) {
    if (resource !== undefined && topic !== undefined) topics.set(topic, resource);
  }
  return topics;
}

function insertAfterLast(text: string, pattern: RegExp, insert: string, what: string): string {
  const matches = [...text.matchAll(pattern)];
  const last = matches.at(-1);
  if (last === undefined) throw new Error(`cannot find where to add ${what}`);
  const end = last.index + last[0].length;
  return `${text.slice(0, end)}${insert}${text.slice(end)}`;
}

/**
 * Scaffolds a subscriber app on `topic` from the patterns of the existing apps: apps/<name>
 * (config, main, pipeline, a test against the emulator, README), infra/app-<name>.tf (account,
 * subscription with dead-letter policy, Cloud Run service, Workload Identity binding),
 * deploy/gke/base/<name> (with its KEDA ScaledObject and a place in the example overlay), its
 * compose service and subscription, the root tsconfig reference and the README's variables link.
 */
export async function serviceGenerator(
  tree: Tree,
  options: ServiceGeneratorOptions,
): Promise<GeneratorCallback | undefined> {
  const { name, topic } = options;
  if (!NAME.test(name)) {
    throw new Error(`name '${name}': expected lower-case letters, digits and dashes (3-26)`);
  }
  if (tree.exists(join('apps', name))) throw new Error(`apps/${name} already exists`);
  const topics = topicsOf(read(tree, 'infra/main.tf'));
  const topicResource = topics.get(topic);
  if (topicResource === undefined || topic === 'dead-letter') {
    const known = [...topics.keys()].filter((t) => t !== 'dead-letter').join(', ');
    throw new Error(`topic '${topic}': expected one of the topics of infra/main.tf (${known})`);
  }
  const substitutions = {
    name,
    topic,
    topicResource,
    id: name.replaceAll('-', '_'),
    className: names(name).className,
  };
  generateFiles(tree, join(files, 'app'), join('apps', name), substitutions);
  generateFiles(tree, join(files, 'gke'), join('deploy/gke/base', name), substitutions);
  generateFiles(tree, join(files, 'infra'), 'infra', substitutions);

  // KEDA: scale on the new subscription's backlog, in place of the base HPA.
  const keda = 'deploy/gke/components/keda';
  tree.write(
    `${keda}/scaledobjects.yaml`,
    `${read(tree, `${keda}/scaledobjects.yaml`).trimEnd()}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: tributary-${name}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: tributary
spec:
  scaleTargetRef:
    name: tributary-${name}
  minReplicaCount: 1
  maxReplicaCount: 10
  cooldownPeriod: 300
  triggers:
    - type: gcp-pubsub
      authenticationRef:
        name: tributary-keda-gcp
      metadata:
        subscriptionName: tributary-${name}
        mode: SubscriptionSize
        value: '1000'
`,
  );
  tree.write(
    `${keda}/kustomization.yaml`,
    `${read(tree, `${keda}/kustomization.yaml`).trimEnd()}
  - target:
      kind: HorizontalPodAutoscaler
      name: tributary-${name}
    patch: |-
      $patch: delete
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata:
        name: tributary-${name}
`,
  );

  // The example overlay deploys it (so the KEDA component above has a Deployment to scale).
  const overlay = 'deploy/gke/overlays/example/kustomization.yaml';
  let overlayText = insertAfterLast(
    read(tree, overlay),
    /^ {2}- \.\.\/\.\.\/base\/[a-z0-9-]+$/gm,
    `\n  - ../../base/${name}`,
    'the base in the example overlay',
  );
  const registry = /^ {4}newName: (\S+)\/[a-z0-9-]+$/m.exec(overlayText)?.[1];
  const tag = /^ {4}newTag: (.+)$/m.exec(overlayText)?.[1];
  if (registry === undefined || tag === undefined) {
    throw new Error(`cannot find the images of ${overlay}`);
  }
  overlayText = insertAfterLast(
    overlayText,
    /^ {4}newTag: .+$/gm,
    `\n  - name: tributary/${name}\n    newName: ${registry}/${name}\n    newTag: ${tag}`,
    'the image in the example overlay',
  );
  tree.write(overlay, overlayText);

  // Compose: the service, and its subscription in the setup script.
  tree.write(
    'docker/compose.yaml',
    `${read(tree, 'docker/compose.yaml').trimEnd()}

  ${name}:
    build:
      <<: *app-build
      args: { APP: ${name} }
    image: tributary/${name}:local
    <<: *app
    environment:
      <<: *google-env
      SUBSCRIPTION: ${name}
    depends_on:
      <<: *after-setup
`,
  );
  tree.write(
    'docker/init-local.sh',
    insertAfterLast(
      read(tree, 'docker/init-local.sh'),
      /^subscription \S+ \S+ (true|false)$/gm,
      `\nsubscription ${name} ${topic} false`,
      'the compose subscription',
    ),
  );

  updateJson(tree, 'tsconfig.json', (json: { references: { path: string }[] }) => {
    json.references.push({ path: `./apps/${name}` });
    return json;
  });

  // The README's Deploy section links every app's variables table.
  tree.write(
    'README.md',
    insertAfterLast(
      read(tree, 'README.md'),
      /^\| [a-z0-9-]+ +\| \[apps\/[a-z0-9-]+\/README\.md\]\(apps\/[a-z0-9-]+\/README\.md#[a-z-]+\) +\|$/gm,
      `\n| ${name} | [apps/${name}/README.md](apps/${name}/README.md#variables) |`,
      'the variables link in README.md',
    ),
  );

  await formatFiles(tree);
  return options.skipInstall === true
    ? undefined
    : () => {
        installPackagesTask(tree, true);
      };
}

export default serviceGenerator;
