/**
 * `dns01-webhook serve` as a real process (the built CLI, dist/ — the root `npm test` builds first):
 * delegated auth against the Kubernetes API stub, a solver plugin loaded by absolute path, and SIGTERM
 * draining an in-flight challenge before a clean exit. Also: bad flags exit 2 with one line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';
import type { ServingPki } from '../src/testing/serving-pki.js';
import { CLI, prepareServe } from './fixtures/built-serve.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'slow-solver.mjs');
const GROUP = 'acme.example.com';
const CERT_MANAGER = 'system:serviceaccount:cert-manager:cert-manager';

let dir: string;
let kube: KubeStub;
let pki: ServingPki;
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ dir, pki } = await prepareServe('serve-sigterm-'));
  kube = await startKubeStub({
    // The ConfigMap supplies the client CA; the front-proxy CA comes from the flag override.
    configMaps: { 'kube-system/extension-apiserver-authentication': authenticationConfigData({ clientCaPem: pki.clientCa.certPem }) },
    authorize: [{ user: CERT_MANAGER, verb: 'create', apiGroup: GROUP, resource: 'slow', allowed: true }],
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await kube?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  lines: Array<Record<string, any>>;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GROUP_NAME: '' } });
  children.push(child);
  const lines: Array<Record<string, any>> = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        lines.push({ text: p });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, lines, stderr: () => stderr, exited };
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('drains an in-flight challenge on SIGTERM, refuses new connections, exits 0', async () => {
  const server = run([
    'serve', '--group-name', GROUP, '--secure-port', '0', '--bind-address', '127.0.0.1', '--metrics-port', '0',
    '--tls-cert-file', pki.files.cert, '--tls-private-key-file', pki.files.key,
    '--kubeconfig', kube.kubeconfigPath, '--solver-packages', FIXTURE,
    '--requestheader-client-ca-file', pki.files.frontProxyCa, '--requestheader-allowed-names', 'front-proxy-client',
    '--shutdown-grace', '10', '--log-level', 'info',
  ]);
  const listening = await waitFor('the listening log line', () => {
    if (server.child.exitCode !== null) throw new Error(`serve exited early: ${server.stderr()}`);
    return server.lines.find((l) => l.msg === 'webhook server listening');
  });
  const port = listening.port as number;
  expect(listening.solvers).toEqual(['slow']);
  await waitFor('readiness', async () => ((await call({ port, ca: pki.servingCa.certPem, path: '/readyz' })).status === 200 ? true : undefined));

  const proxied = { cert: pki.frontProxy.certPem, key: pki.frontProxy.keyPem, headers: { ...JSON_HEADERS, 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': 'system:serviceaccounts' } };
  const path = `/apis/${GROUP}/v1alpha1/slow`;
  // Delegated authorization really runs: another user is denied by the stub's SubjectAccessReview.
  const denied = await call({ port, ca: pki.servingCa.certPem, path, method: 'POST', body: challengeBody(), ...proxied, headers: { ...proxied.headers, 'X-Remote-User': 'mallory' } });
  expect(denied.status).toBe(403);

  const inFlight = call({ port, ca: pki.servingCa.certPem, path, method: 'POST', body: challengeBody({ uid: 'drain-1', config: { delayMs: 1500 } }), ...proxied });
  await waitFor('the challenge to start', () => (kube.requestsOf('subjectaccessreview').some((r) => r.body?.spec?.user === CERT_MANAGER) ? true : undefined));
  await new Promise((r) => setTimeout(r, 200));
  const signalledAt = Date.now();
  server.child.kill('SIGTERM');
  await waitFor('shutdown to begin', () => server.lines.find((l) => l.msg?.startsWith('shutting down')));
  await expect(call({ port, ca: pki.servingCa.certPem, path: '/healthz' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

  const res = await inFlight;
  expect(res.status).toBe(201);
  expect(res.json.response).toEqual({ uid: 'drain-1', success: true });
  const exit = await server.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - signalledAt).toBeLessThan(8000);
  expect(server.lines.some((l) => l.msg === 'challenge done' && l.uid === 'drain-1')).toBe(true);
});

it('exits 2 with a one-line error for bad flags, 0 for --help', async () => {
  const [noGroup, badPort, halfTls, help] = [
    run(['serve', '--kubeconfig', kube.kubeconfigPath]),
    run(['serve', '--group-name', GROUP, '--secure-port', 'https']),
    run(['serve', '--group-name', GROUP, '--tls-cert-file', 'a.crt']),
    run(['serve', '--help']),
  ];
  expect((await noGroup.exited).code).toBe(2);
  expect(noGroup.stderr()).toMatch(/^error: --group-name \(or env GROUP_NAME\) is required.*\nRun "dns01-webhook serve --help" for usage\.\n$/);
  expect((await badPort.exited).code).toBe(2);
  expect(badPort.stderr()).toMatch(/^error: --secure-port must be a port number 0-65535, got "https"\n/);
  expect((await halfTls.exited).code).toBe(2);
  expect(halfTls.stderr()).toMatch(/^error: --tls-cert-file and --tls-private-key-file must be given together\n/);
  expect((await help.exited).code).toBe(0);
  expect(help.lines.map((l) => l.text).join('\n')).toContain('Usage: dns01-webhook serve --group-name <group>');
});
