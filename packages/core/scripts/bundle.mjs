#!/usr/bin/env node
/**
 * Bundles the compiled core (dist/) into dist/bundle/: the CLI and the package's entry points, their shared
 * code in common chunks. Start-up was mostly module loading (≈1,000 files resolved, stat-ed and read one by
 * one, most of them express's, zod's and prom-client's); one file per chunk takes about a third of the CPU
 * time off `serve`'s start (docs/performance.md). `npm run build` runs it after tsc.
 *
 * The package's exports point at these files, so the CLI, the bundled solvers and any other solver package
 * importing `@dns01-webhook/core` share one instance of every module (one SolverError class, one process
 * economy). Chunks sit directly in dist/bundle/, two levels below the package root like dist/cli/*.js, so
 * the `../../package.json` and `../../templates/` URLs in the code resolve the same from both.
 */
import { build } from 'esbuild';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/bundle`;

/** Loaded on demand only (exotic kubeconfigs, the self-signed generator): left out, imported from node_modules when needed. */
export const EXTERNAL = ['@kubernetes/client-node', '@peculiar/*', 'tsyringe', 'reflect-metadata'];

// Built next to it, then swapped in: a CLI starting meanwhile finds the old bundle or the new one, not half of one.
const next = `${out}.${process.pid}`;
rmSync(next, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'dist/cli/cli.js', out: 'cli' },
    { in: 'dist/index.js', out: 'index' },
    { in: 'dist/server-api.js', out: 'server-api' },
    { in: 'dist/conformance/index.js', out: 'conformance' },
    { in: 'dist/testing/index.js', out: 'testing' },
  ],
  outdir: next,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // CommonJS dependencies (express, prom-client, pino) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'linked',
});
const old = `${out}.old.${process.pid}`;
if (existsSync(out)) renameSync(out, old);
renameSync(next, out);
rmSync(old, { recursive: true, force: true });
