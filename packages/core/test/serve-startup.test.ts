/**
 * What `dns01-webhook serve` loads before it is ready: with the bundled solvers registered, no provider
 * SDK (they load on a solver's first challenge) and no @kubernetes/client-node (the kube client speaks plain
 * HTTPS; client-node is only for exotic kubeconfigs) and no ASN.1 library (certificates are read with
 * node:crypto). These imports were most of the start-up time and of the
 * memory at ready. The built CLI (dist/) runs with a preload that records every module it resolves.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';
import type { ServingPki } from '../src/testing/serving-pki.js';
import { CLI, prepareServe } from './fixtures/built-serve.js';
import { call } from './fixtures/https-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const RECORDER = join(here, 'fixtures', 'record-imports.mjs');

let dir: string;
let kube: KubeStub;
let pki: ServingPki;

beforeAll(async () => {
  ({ dir, pki } = await prepareServe('serve-startup-'));
  kube = await startKubeStub({
    configMaps: { 'kube-system/extension-apiserver-authentication': authenticationConfigData({ requestheaderCaPem: pki.frontProxyCa.certPem, allowedNames: ['front-proxy-client'] }) },
  });
});
afterAll(async () => {
  await kube?.close();
  await rm(dir, { recursive: true, force: true });
});

it('reaches ready with every bundled solver registered but no provider SDK and no @kubernetes/client-node loaded', async () => {
  const imports = join(dir, 'imports.txt');
  await writeFile(imports, '');
  const child = spawn(
    process.execPath,
    ['--import', RECORDER, CLI, 'serve', '--group-name', 'acme.example.com', '--secure-port', '0', '--bind-address', '127.0.0.1', '--metrics-port', '0',
      '--tls-cert-file', pki.files.cert, '--tls-private-key-file', pki.files.key, '--kubeconfig', kube.kubeconfigPath],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RECORD_IMPORTS_FILE: imports, GROUP_NAME: '' } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 20_000;
    let port: number | undefined;
    let ready = false;
    while (!ready) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`serve not ready in time: ${stderr}${stdout}`);
      port ??= stdout.split('\n').filter((l) => l.includes('"webhook server listening"')).map((l) => (JSON.parse(l) as { port: number }).port)[0];
      if (port) ready = (await call({ port, ca: pki.servingCa.certPem, path: '/readyz' }).catch(() => ({ status: 0 }))).status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    expect(stdout).toMatch(/"solvers":\["cloudflare","dnspod","rfc2136","route53"\]/);
    const loaded = readFileSync(imports, 'utf8').split('\n').filter(Boolean);
    expect(loaded.some((u) => u.includes('/solver-route53/'))).toBe(true); // the recorder works
    // Nor the ASN.1 stack (@peculiar/x509): serving reads certificates with node:crypto only.
    const heavy = loaded.filter((u) => /node_modules\/(@kubernetes\/client-node|@aws-sdk|tencentcloud-sdk-nodejs[^/]*|cloudflare|@peculiar\/x509)\//.test(u));
    expect(heavy).toEqual([]);
    // The core runs from its bundle (scripts/bundle.mjs): one file per chunk instead of ≈1,000 modules, and the
    // solver packages' `@dns01-webhook/core` is that same bundle, not a second copy of the core's modules.
    const files = new Set(loaded.filter((u) => u.startsWith('file:')));
    const core = [...files].filter((u) => u.includes('/packages/core/') && !u.includes('/node_modules/'));
    expect(core.filter((u) => !/\/dist\/bundle\/[^/]+\.js$/.test(u) && !u.endsWith('/dist/cli/main.js'))).toEqual([]);
    process.stderr.write(`serve-startup: ${files.size} files resolved before ready\n`);
    expect(files.size).toBeLessThan(150);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
