// Runs every benchmark (packages/*/bench/*.bench.ts, apps/*/bench/*.bench.ts), one process each,
// one after another so they do not compete for the two cores, and prints one table.
//
// Each benchmark is first compiled with esbuild the way production code is compiled (workspace
// packages from source, npm packages left as imports, no `keepNames`): running through tsx
// would add esbuild's keepNames wrappers to every named closure, a cost production code, built by
// tsc, does not pay.
//
// Contract for a benchmark file: a standalone script that measures our component AND a raw
// baseline doing the same work in the same run, and prints one line per result:
//   BENCH {"name": "...", "value": 123, "unit": "msg/s", "baseline": 150, "ratio": 0.82,
//          "target": ">= 0.7", "peakRssMb": 80, "notes": "..."}
// Only "name", "value" and "unit" are required. A non-zero exit fails the run.
// Usage: npm run bench [-- <substring filter>]
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const filter = process.argv[2] ?? '';
// node:fs globSync arrived in Node 22; this walks the two known levels by hand.
const files = ['packages', 'apps']
  .flatMap((root) => readdirSync(root).map((project) => join(root, project, 'bench')))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir).map((file) => join(dir, file)))
  .filter((file) => file.endsWith('.bench.ts') && file.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches '${filter}'`);
  process.exit(1);
}

/** Leaves every bare import except our own workspace packages to Node's resolver at run time. */
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@tributary/') || hasNestedCopy(args)
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/**
 * True when the importing workspace has its own copy of the package (another version than the
 * root's, such as ioredis 5 in packages/cache while the root has 6): the bundle then includes
 * that copy, since the compiled benchmark, run from the root, would otherwise load the root's.
 */
function hasNestedCopy(args) {
  const name = args.path.startsWith('@')
    ? args.path.split('/').slice(0, 2).join('/')
    : args.path.split('/')[0];
  const workspace = /^(.*\/(?:packages|apps)\/[^/]+)\//.exec(`${args.resolveDir}/`)?.[1];
  return workspace !== undefined && existsSync(join(workspace, 'node_modules', name));
}

/** Compiles one entry as production code is compiled (see the top of this file). */
async function buildBench(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    conditions: ['@tributary/source'],
    logLevel: 'warning',
    plugins: [externalNpmPackages],
    // Bundled CommonJS packages (see hasNestedCopy) require Node's built-ins.
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
  });
}

const rows = [];
let failed = false;
for (const file of files) {
  console.log(`\n>>> ${file}`);
  const outfile = join('.tributary', 'bench', file.replaceAll('/', '__').replace(/\.ts$/, '.mjs'));
  await buildBench(file, outfile);
  // A `<name>.child.ts` beside the benchmark is the process it forks to measure: built on its
  // own, beside the benchmark's output, so that process loads only what it imports.
  const child = file.replace(/\.bench\.ts$/, '.child.ts');
  if (existsSync(child)) await buildBench(child, outfile.replace(/\.bench\.mjs$/, '.child.mjs'));
  const run = spawnSync(process.execPath, ['--enable-source-maps', '--expose-gc', outfile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
  });
  for (const line of run.stdout.split('\n')) {
    if (line.startsWith('BENCH ')) rows.push({ file, ...JSON.parse(line.slice(6)) });
    else if (line.trim() !== '') console.log(line);
  }
  if (run.status !== 0) {
    console.error(`${file} exited with ${run.status}`);
    failed = true;
  }
}

const cell = (value) => (value === undefined ? '' : String(value));
const table = [
  '| benchmark | result | raw baseline | ratio | target | peak RSS (MB) | notes |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${cell(r.value)} ${r.unit} | ${r.baseline === undefined ? '' : `${r.baseline} ${r.unit}`} | ${cell(r.ratio)} | ${cell(r.target)} | ${cell(r.peakRssMb)} | ${cell(r.notes)} |`,
  ),
].join('\n');
console.log(`\n${table}`);
mkdirSync('.tributary', { recursive: true });
writeFileSync('.tributary/bench-results.md', `${table}\n`);
process.exit(failed ? 1 : 0);
