/**
 * The container image without a Docker engine: hadolint on the Dockerfile, its shape (multi-stage, distroless,
 * numeric non-root user, exec-form entrypoint), and a replay of its production install and COPY lines into a temp
 * root, from which the entrypoint must run as uid 65532, load every bundled solver, and serve with the chart's
 * args against a real kube-apiserver (test/e2e/cluster).
 * Needs `npm run build` first (the build stage is `npm ci && npm run build`, which `npm run test:e2e` runs).
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../e2e/cluster/cluster.js';
import { freePort, spawnManaged, waitUntil, type ManagedProcess } from '../e2e/cluster/processes.js';
import { ensureE2eTools, one, parseManifests, renderChart, repoRoot } from './helm.js';
import { applyCopy, copySteps, parseDockerfile, runCommands, stage } from './dockerfile.js';

const run = promisify(execFile);
const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const WORKDIR = '/app';
const NONROOT = 65532;
const SOLVERS = ['@dns01-webhook/solver-dnspod', '@dns01-webhook/solver-route53', '@dns01-webhook/solver-cloudflare', '@dns01-webhook/solver-rfc2136'];

let cluster: Cluster | undefined;
let server: ManagedProcess | undefined;
const scratch: string[] = [];
function tempRoot(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `dns01-image-${label}-`));
  chmodSync(dir, 0o755); // the non-root user must be able to traverse it
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** HTTPS GET status, trusting only `ca`. */
function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Runs a command as the image's user when we can switch to it (the test machine runs as root). */
async function runAsImageUser(file: string, args: string[], cwd: string) {
  const asNonRoot = process.getuid?.() === 0 ? { uid: NONROOT, gid: NONROOT } : {};
  return run(file, args, { cwd, timeout: 30_000, env: { NODE_ENV: 'production', PATH: '/usr/bin:/bin' }, ...asNonRoot });
}

/**
 * Replays the Dockerfile: the deps stage's COPY lines and npm command into a temp root, then the runtime stage's
 * COPY lines (--from=deps from that root, --from=build from the repo's built dist/). Returns the image's /app.
 */
async function buildRuntimeTree(): Promise<string> {
  const depsRoot = tempRoot('deps');
  const deps = stage(stages, 'deps');
  for (const step of copySteps(deps)) {
    for (const src of step.sources) applyCopy(repoRoot, src, depsRoot, step.dest, WORKDIR);
  }
  const [install, ...more] = runCommands(deps);
  expect(more).toEqual([]);
  expect(install).toMatch(/^npm ci --omit=dev /);
  await run('bash', ['-c', install!], { cwd: join(depsRoot, WORKDIR), timeout: 4 * 60_000, maxBuffer: 16 << 20 });
  expect(existsSync(join(depsRoot, WORKDIR, 'node_modules/vitest'))).toBe(false);
  expect(existsSync(join(depsRoot, WORKDIR, 'node_modules/typescript'))).toBe(false);
  expect(existsSync(join(depsRoot, WORKDIR, 'node_modules/acme-client'))).toBe(false); // test workspace stays out
  // The runtime stage copies only the root node_modules: a version conflict that npm resolves by nesting under
  // packages/<name>/node_modules would be lost in the image.
  for (const pkg of ['core', 'solver-dnspod', 'solver-route53', 'solver-cloudflare', 'solver-rfc2136']) {
    expect(existsSync(join(depsRoot, WORKDIR, 'packages', pkg, 'node_modules')), `packages/${pkg}/node_modules must be copied by the Dockerfile`).toBe(false);
  }

  const runtimeRoot = tempRoot('runtime');
  for (const step of copySteps(stage(stages, 'runtime'))) {
    const srcRoot = step.from === 'deps' ? depsRoot : repoRoot;
    for (const src of step.sources) {
      const relative = step.from === 'build' ? src.replace(/^\/app\//, '') : src;
      if (!existsSync(join(srcRoot, relative))) {
        throw new Error(`${relative} does not exist: run "npm run build" first (it is the Dockerfile's build stage)`);
      }
      applyCopy(srcRoot, relative, runtimeRoot, step.dest, WORKDIR);
    }
  }
  return join(runtimeRoot, WORKDIR);
}
let runtimeTree: Promise<string> | undefined;
const runtimeApp = () => (runtimeTree ??= buildRuntimeTree());
const entrypoint = () =>
  JSON.parse(stage(stages, 'runtime').instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];

describe('Dockerfile', () => {
  it('passes hadolint', async () => {
    const { stdout: bin } = await run('bash', [join(repoRoot, 'test/chart/install-hadolint.sh')], { timeout: 5 * 60_000 });
    const result = await run(bin.trim(), ['Dockerfile'], { cwd: repoRoot }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  }, 300_000);

  it('is multi-stage with a shell-less runtime as numeric user 65532 and an exec-form entrypoint', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    const runtime = stage(stages, 'runtime');
    expect(runtime.from).toMatch(/^gcr\.io\/distroless\/nodejs\$\{NODE_VERSION\}-debian12:nonroot$/);
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
    expect(runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(['65532:65532']);
    const entrypoint = runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!;
    expect(JSON.parse(entrypoint.args)).toEqual(['/nodejs/bin/node', 'packages/core/dist/cli/main.js', 'serve']);
    // Everything the runtime gets comes from the other stages: no source, tests or dev tooling.
    expect(copySteps(runtime).every((c) => c.from === 'deps' || c.from === 'build')).toBe(true);
    expect(runCommands(stage(stages, 'build'))).toEqual(['npm ci --no-audit --no-fund', 'npm run build']);
  });

  it('build context files it copies exist and are not excluded by .dockerignore', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8');
    expect(ignore).toMatch(/^\*\*\/node_modules$/m);
    expect(ignore).toMatch(/^\*\*\/dist$/m);
    for (const s of stages) {
      for (const step of copySteps(s).filter((c) => c.from === undefined)) {
        for (const src of step.sources) expect(existsSync(join(repoRoot, src)), src).toBe(true);
      }
    }
  });

  it('its production install and COPY lines give a runtime tree that serves --help and loads every solver as uid 65532', async () => {
    const app = await runtimeApp();
    const help = await runAsImageUser(process.execPath, [...entrypoint().slice(1), '--help'], app);
    expect(help.stdout).toContain('--group-name');
    expect(help.stdout).toContain('--tls-cert-file');

    const load = `for (const p of ${JSON.stringify(SOLVERS)}) { const m = await import(p); if (Object.keys(m).length === 0) throw new Error(p + ' exports nothing'); } console.log('loaded');`;
    const loaded = await runAsImageUser(process.execPath, ['--input-type=module', '-e', load], app);
    expect(loaded.stdout.trim()).toBe('loaded');
  }, 300_000);

  it("the runtime tree starts `serve` with the chart's args as uid 65532 against a real kube-apiserver: HTTPS /healthz, /readyz and /metrics answer", async () => {
    const app = await runtimeApp();
    await ensureE2eTools();
    cluster = await startCluster();
    // What the pod has: the serving certificate mounted from a Secret and a kubeconfig (in the pod: in-cluster).
    const files = tempRoot('pod');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=dns01-webhook', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(files, 'tls.key'), '-out', join(files, 'tls.crt')]);
    chmodSync(join(files, 'tls.key'), 0o644);
    copyFileSync(cluster.kubeconfig, join(files, 'kubeconfig'));
    chmodSync(join(files, 'kubeconfig'), 0o644);

    const objects = parseManifests(await renderChart({ valuesFile: 'defaults' }));
    const chartArgs = (one(objects, 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<{ args: string[] }> } } } })
      .spec.template.spec.containers[0]!.args;
    const [securePort, metricsPort] = [await freePort(), await freePort()];
    // Tests bind to loopback and free ports; the TLS paths point at this test's files instead of /tls.
    const overrides: Record<string, string> = {
      '--bind-address': '127.0.0.1',
      '--secure-port': String(securePort),
      '--metrics-port': String(metricsPort),
      '--tls-cert-file': join(files, 'tls.crt'),
      '--tls-private-key-file': join(files, 'tls.key'),
    };
    const args = chartArgs.map((a) => {
      const flag = a.split('=')[0]!;
      return flag in overrides ? `${flag}=${overrides[flag]}` : a;
    });
    expect(args.filter((a, i) => a !== chartArgs[i]).length).toBe(Object.keys(overrides).length);
    args.push(`--kubeconfig=${join(files, 'kubeconfig')}`);

    server = spawnManaged('webhook-image', process.execPath, [...entrypoint().slice(1), ...args], {
      logFile: join(files, 'webhook.log'),
      cwd: app,
      env: { NODE_ENV: 'production', PATH: '/usr/bin:/bin' },
      wrapper: process.getuid?.() === 0 ? ['setpriv', `--reuid=${NONROOT}`, `--regid=${NONROOT}`, '--clear-groups'] : [],
    });
    const ca = readFileSync(join(files, 'tls.crt'));
    await waitUntil('webhook /healthz', async () => (await httpsStatus(`https://127.0.0.1:${securePort}/healthz`, ca)) === 200, {
      timeoutMs: 30_000,
      proc: server,
    });
    await waitUntil('webhook /readyz', async () => (await httpsStatus(`https://127.0.0.1:${securePort}/readyz`, ca)) === 200, {
      timeoutMs: 30_000,
      proc: server,
    });
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# HELP');
    // An anonymous request to an API path is refused: the image's server enforces authentication.
    expect(await httpsStatus(`https://127.0.0.1:${securePort}/apis/acme.example.com/v1alpha1`, ca)).toBe(401);
    expect(readFileSync(join(files, 'webhook.log'), 'utf8')).not.toMatch(/EACCES|EROFS/);
    if (process.getuid?.() === 0) {
      // setpriv execs node in place, so the managed pid is the server itself.
      expect(readFileSync(`/proc/${server.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${NONROOT}\\s`, 'm'));
    }
  }, 300_000);
});
