// Renders deploy/gke/overlays/example with kubectl's kustomize as it is, with KEDA, and with every
// optional part its comments offer switched on (the sql-sink base, the KEDA components). Then
// checks that every autoscaler aims at a Deployment that is rendered, and that no Deployment has
// both a HorizontalPodAutoscaler and a KEDA ScaledObject (KEDA makes its own HPA).
// Needs kubectl (with its built-in kustomize); `.ci/run` calls it where kubectl is installed.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const example = 'deploy/gke/overlays/example';
const variant = 'deploy/gke/overlays/.check-variant'; // same depth: the ../../ paths hold

function render(dir) {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(text).map((doc) => doc.toJS());
}

function check(name, manifests) {
  const deployments = new Set(
    manifests.filter((m) => m.kind === 'Deployment').map((m) => m.metadata.name),
  );
  const scaled = new Map();
  for (const m of manifests) {
    if (m.kind !== 'HorizontalPodAutoscaler' && m.kind !== 'ScaledObject') continue;
    const target = m.spec.scaleTargetRef.name;
    if (!deployments.has(target)) {
      throw new Error(`${name}: ${m.kind} ${m.metadata.name} aims at ${target}, not rendered`);
    }
    if (scaled.has(target)) {
      throw new Error(`${name}: ${target} has both ${scaled.get(target)} and ${m.kind}`);
    }
    scaled.set(target, m.kind);
  }
  const kinds = [...scaled.values()];
  console.log(
    `${name}: ${deployments.size} Deployments, ${kinds.filter((k) => k === 'ScaledObject').length} ScaledObjects, ${kinds.filter((k) => k !== 'ScaledObject').length} HPAs`,
  );
}

/** The example overlay with the commented lines of `parts` switched on, rendered and checked. */
function checkWith(name, parts) {
  rmSync(variant, { recursive: true, force: true });
  try {
    cpSync(example, variant, { recursive: true });
    const file = `${variant}/kustomization.yaml`;
    let text = readFileSync(file, 'utf8');
    for (const part of parts) {
      const line = new RegExp(`^( {2})?# ( {2})?- (\\.\\./\\.\\./${part})([ \\t].*)?$`, 'm');
      if (!line.test(text)) {
        throw new Error(`the example overlay no longer offers ../../${part} as a commented line`);
      }
      text = text.replace(line, '  - $3');
    }
    if (parts.some((part) => part.startsWith('components/'))) {
      text = text.replace(/^# components:$/m, 'components:');
    }
    writeFileSync(file, text);
    check(name, render(variant));
  } finally {
    rmSync(variant, { recursive: true, force: true });
  }
}

check('example', render(example));
checkWith('example with KEDA', ['components/keda']);
checkWith('example with the sql-sink and KEDA', [
  'base/sql-sink',
  'components/keda',
  'components/keda-sql-sink',
]);
