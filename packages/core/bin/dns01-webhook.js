#!/usr/bin/env node
// The `dns01-webhook` command. This file is committed, not compiled, so `npm ci` links it before anything is
// built (npm links no bin whose target does not exist yet, and a fresh clone has no dist/). The CLI itself is
// the compiled TypeScript in dist/: in a source checkout whose dist/ is missing it is built once, here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(new URL('../tsconfig.json', import.meta.url))) {
    process.stderr.write(`error: ${fileURLToPath(main)} is missing; reinstall @dns01-webhook/core\n`);
    process.exit(1);
  }
  process.stderr.write('dns01-webhook: first run in this checkout, building the CLI (npm run build builds everything)...\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', packageDir], { stdio: ['ignore', 2, 2] });
  if (built.status !== 0 || !existsSync(main)) {
    process.stderr.write('error: building the CLI failed (see above); run "npm run build" in the repository\n');
    process.exit(1);
  }
}
await import(main.href);
