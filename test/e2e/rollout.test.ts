/**
 * Issue 12 §1: rolling the webhook under challenge load loses nothing.
 *
 * Two webhook pods behind the chart's Service (two endpoints, each its own pod IP in the test host) serve a
 * steady stream of Present/CleanUp through the real kube-apiserver as cert-manager's ServiceAccount (20
 * requests/s, DNSPod solver against its emulator). The pods are then replaced one at a time the way a
 * Deployment rollout with the chart's strategy does it (support/rollout.ts): a new pod is started and Ready,
 * then an old pod is deleted — its endpoint turns not-ready at once, its own spec's preStop sleep runs, SIGTERM,
 * exit within the grace period. Twice:
 *   1. upgrade: the previous release (its own build and its own chart's args) → this tree (its chart);
 *   2. a changed flag set: this tree → this tree with another port, log level, drain and challenge timeout.
 * Counted per rollout: failed requests seen by the client, records lost (Present said success, the provider
 * has no value) and left behind (CleanUp said success or never ran, the value is still there). Goal 0 / 0 / 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueCertificate, type KeyPairPem } from '@dns01-webhook/core/testing';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { waitUntil } from './cluster/processes.js';
import { ChallengeLoad, type LoadResult } from './support/challenge-load.js';
import { chartDirOf, CURRENT_BUILD, FakeDeployment, podTemplate, previousBuild, writeTlsDir, type PodTemplate, type WebhookBuild } from './support/rollout.js';
import { groupOf, renderChart, UNSERVED_GROUPS, type KubeObject } from './webhook.js';

const GROUP = 'acme.rollout-e2e.test';
const RELEASE = 'rollout';
const NAMESPACE = 'dns01-webhook';
const CERT_MANAGER_NS = 'cert-manager';
const CREDENTIALS_SECRET = 'dnspod-credentials';
const SERVING_SECRET = 'rollout-serving';
const ZONE = 'example.test.';
const FQDNS = ['_acme-challenge.example.test.', '_acme-challenge.www.example.test.', '_acme-challenge.api.example.test.'];
/**
 * The chart's preStop default is 10 s; 3 s keeps the test short. The sleep only has to outlast the endpoint
 * change reaching kube-apiserver's aggregator (a watch event: milliseconds here), which 0 failures shows.
 */
const PRESTOP_SECONDS = 3;
/** Values a user might change in one `helm upgrade`: port, log level, drain and challenge timeout. */
const CHANGED_FLAGS = ['securePort=9443', 'metrics.port=9412', 'logLevel=debug', 'shutdownGraceSeconds=30', 'extraArgs={--challenge-timeout=25}'];

let cluster: Cluster;
let emulator: RunningDnspodEmulator;
let servingCa: KeyPairPem;
let deployment: FakeDeployment;
let serviceName: string;
let certManagerToken: string;
let previous: WebhookBuild;

/** `helm upgrade` without helm: the build's chart rendered and applied server-side; returns the pod template. */
async function applyRelease(build: WebhookBuild, set: string[]): Promise<PodTemplate> {
  const objects = await renderChart(RELEASE, NAMESPACE, [
    '--set', `groupName=${GROUP}`,
    '--set', 'solvers.enabled={dnspod}',
    '--set', 'pki.enabled=false',
    '--set', `pki.existingSecret=${SERVING_SECRET}`,
    '--set', `apiService.caBundle=${Buffer.from(servingCa.certPem).toString('base64')}`,
    '--kube-version', cluster.versions.kubeApiserver.replace(/^Kubernetes v/, ''),
    ...set.flatMap((s) => ['--set', s]),
  ], chartDirOf(build));
  const applied = objects.filter((o) => !UNSERVED_GROUPS.includes(groupOf(o.apiVersion)));
  const namespaces = new Set([NAMESPACE, ...applied.map((o) => o.metadata.namespace).filter((n): n is string => !!n)]);
  await cluster.apply([...[...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })), ...applied]);
  const find = (kind: string) => applied.find((o) => o.kind === kind) as KubeObject;
  serviceName = find('Service').metadata.name;
  return podTemplate(build, find('Deployment'));
}

function startLoad(): ChallengeLoad {
  return new ChallengeLoad({
    server: cluster.server,
    ca: cluster.caPem,
    token: certManagerToken,
    groupName: GROUP,
    solverName: 'dnspod',
    fqdns: FQDNS,
    zone: ZONE,
    resourceNamespace: CERT_MANAGER_NS,
    config: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: CREDENTIALS_SECRET, key: 'secretKey' }, ttl: 600, endpoint: emulator.url },
    valuesAt: (fqdn) => emulator.records().filter((r) => r.fqdn === fqdn && r.type === 'TXT').map((r) => r.value),
    requestsPerSecond: 20,
    maxDurationMs: 4 * 60_000,
  }).start();
}

/** Runs a rollout under load: traffic flows first, the rollout, a few more seconds, then the counts. */
async function rollUnderLoad(template: PodTemplate): Promise<LoadResult> {
  const load = startLoad();
  await waitUntil('challenges flowing before the rollout', async () => load.completed >= 20 || load.failures > 0, { timeoutMs: 30_000 });
  const t0 = Date.now();
  await deployment.rollTo(template);
  const rolloutMs = Date.now() - t0;
  const after = load.completed;
  await waitUntil('challenges flowing after the rollout', async () => load.completed >= after + 20 || load.failures > 0, { timeoutMs: 30_000 });
  const result = await load.stop();
  console.log(`[rollout] ${template.build.name}: rollout ${rolloutMs} ms under load; ${summary(result)}`);
  return result;
}

function summary(result: LoadResult): string {
  return JSON.stringify({
    challenges: result.challenges,
    requests: result.requests,
    failed: result.failed.length,
    lost: result.lost.length,
    leftBehind: result.leftBehind.length,
    firstFailures: result.failed.slice(0, 5),
    terminations: deployment.terminations,
    podsReadyMs: deployment.pods.map((p) => p.readyMs),
  });
}

beforeAll(async () => {
  previous = previousBuild();
  cluster = await startCluster();
  emulator = await startDnspodEmulator({ host: cluster.host.hostIp, domains: ['example.test'] });
  await cluster.ensureServiceAccount(CERT_MANAGER_NS, 'cert-manager');
  servingCa = await createCA('dns01-e2e-rollout-ca', { validDays: 2 });
  const serverName = `${RELEASE}-dns01-webhook.${NAMESPACE}.svc`;
  const serving = await issueCertificate(servingCa, { commonName: serverName, dnsNames: [serverName], usage: 'server', validDays: 2 });
  await cluster.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: SERVING_SECRET, namespace: NAMESPACE }, stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: CREDENTIALS_SECRET, namespace: CERT_MANAGER_NS }, stringData: { secretKey: DEFAULT_SECRET_KEY } },
  ]);

  // Revision 1: the previous release, installed with its own chart, two Ready pods.
  const old = await applyRelease(previous, []);
  const token = await cluster.createToken(NAMESPACE, `${RELEASE}-dns01-webhook`);
  deployment = new FakeDeployment({
    cluster,
    tlsDir: writeTlsDir(`${cluster.dir}/rollout-tls`, serving),
    servingCa,
    serverName,
    kubeconfig: cluster.writeTokenKubeconfig('rollout-webhook', token),
  }, NAMESPACE, serviceName, 'webhook');
  await deployment.scaleUp(old);
  await deployment.scaleUp(old);
  await waitUntil(`APIService v1alpha1.${GROUP} Available`, async () => {
    const out = JSON.parse(await cluster.kubectl(['get', 'apiservice', `v1alpha1.${GROUP}`, '-o', 'json'])) as { status?: { conditions?: Array<{ type: string; status: string }> } };
    return out.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  certManagerToken = await cluster.createToken(CERT_MANAGER_NS, 'cert-manager');
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  await cluster?.stop();
});

describe('rolling the webhook under a steady challenge stream through kube-apiserver', () => {
  it('previous release → this tree: 0 failed requests, 0 records lost, 0 left behind', async () => {
    const oldPods = [...deployment.pods];
    const next = await applyRelease(CURRENT_BUILD, [`preStopSleepSeconds=${PRESTOP_SECONDS}`]);
    expect(next.preStopSeconds).toBe(PRESTOP_SECONDS);
    const result = await rollUnderLoad(next);
    expect({ failed: result.failed.length, lost: result.lost.length, leftBehind: result.leftBehind.length }, summary(result)).toEqual({ failed: 0, lost: 0, leftBehind: 0 });
    expect(result.challenges).toBeGreaterThan(60);
    // Both old pods drained and exited on their own; both new pods took traffic.
    expect(deployment.terminations.map((t) => ({ exit: t.exit, killed: t.killed }))).toEqual([{ exit: 0, killed: false }, { exit: 0, killed: false }]);
    expect(deployment.pods.map((p) => p.template)).toEqual([next, next]);
    for (const pod of [...oldPods, ...deployment.pods]) expect(pod.challengesServed(), pod.name).toBeGreaterThan(0);
  });

  it('a changed flag set (port, log level, drain, challenge timeout): 0 failed, 0 lost, 0 left behind', async () => {
    const before = deployment.terminations.length;
    const current = deployment.pods[0]!.template;
    const changed = await applyRelease(CURRENT_BUILD, [`preStopSleepSeconds=${PRESTOP_SECONDS}`, ...CHANGED_FLAGS]);
    expect(changed.ports.https).toBe(9443);
    expect(changed.args).toEqual(expect.arrayContaining(['--log-level=debug', '--shutdown-grace=30', '--challenge-timeout=25', '--secure-port=9443']));
    expect(current.ports.https).toBe(8443);
    const result = await rollUnderLoad(changed);
    expect({ failed: result.failed.length, lost: result.lost.length, leftBehind: result.leftBehind.length }, summary(result)).toEqual({ failed: 0, lost: 0, leftBehind: 0 });
    expect(deployment.terminations.slice(before).map((t) => ({ exit: t.exit, killed: t.killed }))).toEqual([{ exit: 0, killed: false }, { exit: 0, killed: false }]);
    for (const pod of deployment.pods) expect(pod.challengesServed(), pod.name).toBeGreaterThan(0);
    // The endpoints now name the new port only.
    const slices = JSON.parse(await cluster.kubectl(['get', 'endpointslices', '-n', NAMESPACE, '-l', `kubernetes.io/service-name=${serviceName}`, '-o', 'json'])) as {
      items: Array<{ ports: Array<{ name: string; port: number }> }>;
    };
    expect(slices.items.flatMap((s) => s.ports.filter((p) => p.name === 'https').map((p) => p.port))).toEqual([9443]);
  });
});
