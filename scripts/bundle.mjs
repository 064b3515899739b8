// Bundles one app into one ESM file: `node scripts/bundle.mjs <app> [--out DIR]` writes
// `dist-bundle/<app>/main.mjs` (and its source map). The bundle is the artifact: the Dockerfile
// runs this script and copies the folder into the runtime image, and the deploy-checks tests
// start the same file with `node` and wait for `/healthz`.
//
// - `<app>` is a folder of apps/ (entry apps/<app>/src/main.ts), or `local-gcp` (our local GCS
//   and BigQuery servers, packages/local-gcp/src/cli/servers.ts).
// - Workspace packages are bundled from source (the `@tributary/source` condition), so no `tsc`
//   build is needed first; npm packages are bundled too, so the image needs no node_modules.
// - Native modules cannot be bundled: the packages in NATIVE_PACKAGES are left as imports and,
//   when the bundle imports one, copied with their installed dependencies into
//   `<out>/node_modules/`, where Node's resolver finds them beside main.mjs.
// - pino-pretty (a devDependency for local runs) is left out: the logger falls back to JSON.
// - `apps/<app>/*.example.*` files are copied to `<out>/examples/`, so a container can start
//   with the example routes or lookups without a volume.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');

/** Entry points that are not apps/<app>/src/main.ts. */
const SPECIAL_ENTRIES = { 'local-gcp': 'packages/local-gcp/src/cli/servers.ts' };

/** Packages with a compiled `.node` addon: kept outside the bundle and copied beside it. */
const NATIVE_PACKAGES = ['@duckdb/node-bindings'];

/**
 * Files read at run time rather than imported, copied beside the bundle when a source file that
 * reads them is in it: the local Storage Write API server loads the client package's `.proto`
 * files (and google-gax's, which they import) with @grpc/proto-loader.
 */
const RUNTIME_FILES = {
  'packages/local-gcp/src/bigquery/write-api.ts': {
    '@google-cloud/bigquery-storage': ['package.json', 'build/protos'],
    'google-gax': ['package.json', 'build/protos'],
  },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' } },
});
const app = positionals[0];
if (app === undefined || positionals.length !== 1) {
  console.error('usage: node scripts/bundle.mjs <app> [--out DIR]');
  process.exit(64);
}
const entry = SPECIAL_ENTRIES[app] ?? join('apps', app, 'src', 'main.ts');
if (!existsSync(join(root, entry))) {
  console.error(`no entry point for '${app}': ${entry} does not exist`);
  process.exit(66);
}
const out = resolve(values.out ?? join(root, 'dist-bundle', app));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile: join(out, 'main.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Whitespace and syntax only: a smaller file parses faster at cold start, and names stay
  // readable in stack traces. The source map is beside it for NODE_OPTIONS=--enable-source-maps
  // (off by default: reading a 15 MB map at startup costs a cold start hundreds of ms).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  conditions: ['@tributary/source'],
  external: ['pino-pretty', ...NATIVE_PACKAGES],
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  // Bundled CommonJS packages use require, __filename and __dirname, which ESM lacks.
  banner: {
    js: [
      "import { createRequire as __bundleRequire } from 'node:module';",
      "import { fileURLToPath as __bundleFileUrlToPath } from 'node:url';",
      "import { dirname as __bundleDirname } from 'node:path';",
      'const require = __bundleRequire(import.meta.url);',
      'const __filename = __bundleFileUrlToPath(import.meta.url);',
      'const __dirname = __bundleDirname(__filename);',
    ].join(' '),
  },
});

// Copy each native package the bundle imports, with the dependencies installed for it.
const imported = new Set(
  Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports.filter((i) => i.external).map((i) => i.path),
  ),
);
const copied = new Set();
function packageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
function copyPackage(name, from) {
  if (copied.has(name)) return;
  const source = packageDir(name, from);
  if (source === undefined) return; // an optional dependency for another platform
  copied.add(name);
  cpSync(source, join(out, 'node_modules', name), { recursive: true, dereference: true });
  const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
  for (const dependency of Object.keys({
    ...manifest.dependencies,
    ...manifest.optionalDependencies,
  })) {
    copyPackage(dependency, source);
  }
}
for (const name of NATIVE_PACKAGES) if (imported.has(name)) copyPackage(name, root);

for (const [input, packages] of Object.entries(RUNTIME_FILES)) {
  if (result.metafile.inputs[input] === undefined) continue;
  for (const [name, files] of Object.entries(packages)) {
    const source = packageDir(name, root);
    if (source === undefined) throw new Error(`${input} needs ${name}, which is not installed`);
    for (const file of files) {
      cpSync(join(source, file), join(out, 'node_modules', name, file), {
        recursive: true,
        dereference: true,
        // From folders, the .proto files alone (not the generated JS beside them).
        filter: (path) => !/\.[a-z]+$/.test(path) || /\.(proto|json)$/.test(path),
      });
    }
  }
}

const appDir = join(root, 'apps', app);
if (existsSync(appDir)) {
  for (const file of readdirSync(appDir).filter((f) => f.includes('.example.'))) {
    mkdirSync(join(out, 'examples'), { recursive: true });
    cpSync(join(appDir, file), join(out, 'examples', file));
  }
}

const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.mjs'))
  .reduce((sum, [, output]) => sum + output.bytes, 0);
const natives = copied.size === 0 ? '' : `; native: ${[...copied].join(', ')}`;
console.log(`${app}: ${join(out, 'main.mjs')} (${(bytes / 1e6).toFixed(1)} MB${natives})`);
