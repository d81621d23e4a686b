#!/usr/bin/env node
/**
 * The `dns01-webhook` entry point (bin, image ENTRYPOINT). Runs the bundled CLI that `npm run build` makes
 * (dist/bundle/cli.js, see scripts/bundle.mjs): start-up is then a few files instead of ≈1,000 modules. The
 * package's exports point at the bundle too, so solver packages share its modules.
 *
 * In a development checkout a bundle older than the last tsc build would run stale code: it is rebuilt first
 * (as is a missing one). An installed package or the image has no bundler and runs the bundle it shipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../bundle/cli.js', import.meta.url);
const tscStamp = new URL('../.tsbuildinfo', import.meta.url);
const bundler = new URL('../../scripts/bundle.mjs', import.meta.url);

const mtime = (url: URL) => (existsSync(url) ? statSync(url).mtimeMs : -1);

if (import.meta.url.endsWith('.ts')) {
  // Run from source (tsx, --conditions=source): no bundle involved.
  await import('./cli.js');
} else {
  const canBundle = existsSync(bundler); // a development checkout, not an installed package or the image
  const missing = !existsSync(bundle);
  if (missing || (canBundle && mtime(bundle) < mtime(tscStamp))) {
    const why = missing ? 'missing' : 'older than the last tsc build';
    if (!canBundle) {
      process.stderr.write(`error: ${fileURLToPath(bundle)} is ${why}; run "npm run build"\n`);
      process.exit(1);
    }
    process.stderr.write(`dns01-webhook: the bundled CLI is ${why}, bundling (npm run build does this)...\n`);
    const made = spawnSync(process.execPath, [fileURLToPath(bundler)], { stdio: ['ignore', 2, 2] });
    if (made.status !== 0) {
      process.stderr.write('error: bundling the CLI failed (see above); run "npm run build" in the repository\n');
      process.exit(1);
    }
  }
  await import(bundle.href);
}
