#!/usr/bin/env node
// The `tributary` command: runs the built CLI (npm start and npm run build build it).
import { access } from 'node:fs/promises';

const main = new URL('../dist/main.js', import.meta.url);
try {
  await access(main);
} catch {
  process.stderr.write('tributary: not built yet; run `npm run build` (or `npm start`) first\n');
  process.exit(69);
}
await import(main.href);
