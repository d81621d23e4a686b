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

/**
 * express requires these when it loads, for features the webhook never uses (the body-parser middlewares,
 * MIME type lookups for res.type/req.accepts/send): bundled as they are, but evaluated on first use (about
 * 90 ms of the start-up CPU, most of it mime-db's tables indexed twice). Everything still works if an
 * embedder's code does reach them.
 */
const lazyModules = {
  name: 'lazy-modules',
  setup(b) {
    b.onResolve({ filter: /^(body-parser|mime-types)$/ }, (args) =>
      args.pluginData?.real
        ? undefined
        : { path: `${args.path}:${args.resolveDir}`, namespace: 'lazy', pluginData: { name: args.path, resolveDir: args.resolveDir } },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, (args) => {
      const { name, resolveDir } = args.pluginData;
      const load = `let real; const load = () => (real ??= require(${JSON.stringify(name)}));`;
      // express copies body-parser's four factories when it loads: wrappers that load it when called.
      const contents =
        name === 'body-parser'
          ? `${load}\nfor (const k of ['json', 'raw', 'text', 'urlencoded']) exports[k] = function (...a) { return load()[k].apply(this, a); };`
          : `${load}\nmodule.exports = new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load() });`;
      return { contents, resolveDir, loader: 'js', pluginData: { real: true } };
    });
  },
};

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
  plugins: [lazyModules],
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
