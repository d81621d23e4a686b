/**
 * Memory under many large bodies (issue 7 §2): `serve` as the chart's Deployment runs it — its args, its
 * bundled solvers and the NODE_OPTIONS the chart derives from `resources.limits.memory` — gets 64 concurrent
 * max-size (1 MiB) ChallengePayloads through front-proxy authentication, with the provider SDKs loaded: one long
 * string (parsed and echoed), and hundreds of thousands of objects or numbers (refused by the JSON value bound
 * after reading). The process's peak RSS (VmHWM) must stay under the chart's memory limit, nothing may answer
 * 5xx, and a normal challenge must work afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authenticationConfigData, startKubeStub, writeServingPki, type KubeStub, type ServingPki } from '@dns01-webhook/core/testing';
import { ensureHelm, one, parseManifests, renderChart, repoRoot } from './helm.js';

const GROUP = 'acme.example.com';
const CERT_MANAGER = 'system:serviceaccount:cert-manager:cert-manager';
const MAX_BODY = 1024 * 1024;
const CONCURRENCY = 64;
const ROUNDS = 2;

type Container = { args: string[]; env?: Array<{ name: string; value?: string }>; resources: { limits: { memory: string } } };

let dir: string;
let kube: KubeStub;
let pki: ServingPki;
let child: ChildProcess | undefined;
let container: Container;

function bytesOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`unexpected memory quantity ${quantity}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** A ChallengePayload of exactly `size` bytes whose config is `{"data": <fill>}`, the fill repeated. */
function bodyOf(size: number, unit: string, open = '[', close = ']'): string {
  const json = JSON.stringify({
    request: {
      uid: 'mem', action: 'Present', type: 'dns-01', dnsName: 'example.com', key: 'k', resourceNamespace: 'cert-manager',
      resolvedFQDN: '_acme-challenge.example.com.', resolvedZone: 'example.com.', allowAmbientCredentials: false, config: { data: 0 },
    },
  });
  const at = json.indexOf('"data":0') + '"data":'.length;
  const head = `${json.slice(0, at)}${open}`;
  const tail = `${close}${json.slice(at + 1)}`;
  const room = size - head.length - tail.length;
  const count = Math.floor((room + 1) / (unit.length + 1));
  const fill = unit === '' ? 'x'.repeat(room) : Array(count).fill(unit).join(',');
  return `${head}${fill}${tail}`;
}

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1', port, path: `/apis/${GROUP}/v1alpha1/dnspod`, method: 'POST', agent: false, servername: 'localhost',
        ca: pki.servingCa.certPem, cert: pki.frontProxy.certPem, key: pki.frontProxy.keyPem,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': 'system:serviceaccounts' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // A reset or refused connection is a failure of its own (status 0), never a pass.
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

beforeAll(async () => {
  await ensureHelm();
  const deployment = one(parseManifests(await renderChart({ set: [`groupName=${GROUP}`] })), 'Deployment') as unknown as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  container = deployment.spec.template.spec.containers[0]!;
  dir = await mkdtemp(join(tmpdir(), 'memory-test-'));
  pki = await writeServingPki(dir);
  kube = await startKubeStub({
    configMaps: { 'kube-system/extension-apiserver-authentication': authenticationConfigData({ clientCaPem: pki.clientCa.certPem }) },
    authorize: [{ user: CERT_MANAGER, verb: 'create', apiGroup: GROUP, allowed: true }],
  });
}, 600_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('64 concurrent 1 MiB bodies keep serve under the chart memory limit with the chart heap setting', async () => {
  const limit = bytesOf(container.resources.limits.memory);
  const nodeOptions = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  expect(nodeOptions).toMatch(/^--max-old-space-size=\d+$/);
  // The Deployment's own flags, with the paths and ports of this test instead of the pod's.
  const kept = container.args.filter((a) => /^--(group-name|solver-packages|log-level)=/.test(a));
  const args = [
    join(repoRoot, 'packages/core/dist/cli/main.js'), 'serve', ...kept,
    '--bind-address=127.0.0.1', '--secure-port=0', '--metrics-port=0',
    `--tls-cert-file=${pki.files.cert}`, `--tls-private-key-file=${pki.files.key}`, `--kubeconfig=${kube.kubeconfigPath}`,
    `--requestheader-client-ca-file=${pki.files.frontProxyCa}`, '--requestheader-allowed-names=front-proxy-client',
  ];
  // The provider SDKs loaded up front, as after each solver's first challenge (they load lazily).
  args.unshift('--import', join(repoRoot, 'test/chart/fixtures/preload-sdks.mjs'));
  const started = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: nodeOptions } });
  child = started;
  let out = '';
  started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const listening = () => out.split('\n').find((l) => l.includes('"msg":"webhook server listening"'));
  for (let i = 0; i < 300 && !listening(); i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (started.exitCode !== null) throw new Error(`serve exited: ${out}`);
  }
  const port = Number(JSON.parse(listening() ?? '{}').port ?? 0);
  expect(port, out).toBeGreaterThan(0);
  const idle = peakRssBytes(started.pid!);

  const shapes = {
    'one long string': bodyOf(MAX_BODY, '', '"', '"'),
    '{} objects': bodyOf(MAX_BODY, '{}'),
    'numbers': bodyOf(MAX_BODY, '7'),
  };
  const counts: Record<string, Record<number, number>> = {};
  const peaks: Record<string, number> = {};
  const t0 = Date.now();
  for (const [shape, body] of Object.entries(shapes)) {
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY);
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_BODY - 64);
    counts[shape] = {};
    for (let round = 0; round < ROUNDS; round++) {
      const statuses = await Promise.all(Array.from({ length: CONCURRENCY }, () => post(port, body)));
      for (const s of statuses) counts[shape]![s] = (counts[shape]![s] ?? 0) + 1;
    }
    peaks[shape] = peakRssBytes(started.pid!);
  }
  const peak = peakRssBytes(started.pid!);
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`memory: ${nodeOptions}, limit ${container.resources.limits.memory}; RSS idle ${mib(idle)}, peak ${mib(peak)} (after each shape: ${Object.entries(peaks).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}); ${Date.now() - t0} ms; answers ${JSON.stringify(counts)}`);

  // Every request answered: the long string processed (201: the solver refuses the config) or turned away for
  // now (429); the shapes that would parse into hundreds of thousands of values refused unparsed (400).
  const answered = (shape: string, allowed: number[]) =>
    expect(Object.keys(counts[shape]!).map(Number).filter((s) => !allowed.includes(s)), `${shape}: ${JSON.stringify(counts[shape])}`).toEqual([]);
  answered('one long string', [201, 429]);
  expect(counts['one long string']![201] ?? 0).toBeGreaterThanOrEqual(16);
  answered('{} objects', [400, 429]);
  answered('numbers', [400, 429]);
  expect(peak).toBeLessThan(limit);
  expect(started.exitCode).toBeNull();
  const normal = JSON.stringify({ request: { uid: 'after', action: 'Present', key: 'k', resourceNamespace: 'cert-manager', resolvedFQDN: '_acme-challenge.example.com.', resolvedZone: 'example.com.', config: {} } });
  expect(await post(port, normal)).toBe(201);
}, 300_000);
