/**
 * Issue 12 §3: taking over from imroc's DNSPod webhook without a window where challenges fail.
 *
 * A stand-in for the old release (test/e2e/migration/imroc-standin: imroc's chart's kinds, names, labels,
 * PKI, and the ClusterIssuer `dnspod` + credentials Secret it creates by default) is installed with real helm
 * and serves `acme.imroc.cc` (dns01-webhook's server plays the old process). While a steady stream of
 * Present/CleanUp with that ClusterIssuer's config flows through kube-apiserver as cert-manager, the steps of
 * charts/dns01-webhook/MIGRATION.md run verbatim (helm + kubectl against the real kube-apiserver):
 *   1. install dns01-webhook without the APIService, pods Ready;
 *   2. adopt the APIService into the new release and `helm upgrade` with it: one update switches kube-apiserver
 *      to the new Service, with the new CA (read by the chart from its serving Secret);
 *   3. make Helm forget the old release and delete its objects, keeping the ClusterIssuer and its Secret.
 * Expected: 0 failed requests, 0 records lost or left behind; the old pod takes no call after the switch.
 *
 * The test plays the missing controllers: cert-manager (it writes the serving Secrets; cainjector's value is in
 * the stand-in's caBundle) and the kubelet/endpoints controllers (support/rollout.ts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueCertificate, type KeyPairPem } from '@dns01-webhook/core/testing';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { binDir, startCluster, type Cluster } from './cluster/cluster.js';
import { waitUntil } from './cluster/processes.js';
import { ChallengeLoad } from './support/challenge-load.js';
import { CURRENT_BUILD, FakeDeployment, podTemplate, writeTlsDir, type Pod } from './support/rollout.js';
import { REPO_ROOT, type KubeObject } from './webhook.js';

const run = promisify(execFile);
const NS = 'cert-manager';
const OLD = 'cert-manager-webhook-dnspod';
const GROUP = 'acme.imroc.cc';
const SECRET_ID = 'AKIDmigration00000000000000000000000';
const SECRET_KEY = 'migration-secret-key';
const STANDIN_CHART = join(REPO_ROOT, 'test/e2e/migration/imroc-standin');
const MIGRATION_MD = join(REPO_ROOT, 'charts/dns01-webhook/MIGRATION.md');

/**
 * The migration's commands, exactly as MIGRATION.md shows them (a test below checks that it does). The
 * `kubectl rollout status` line of step 1 is left out here: the test starts the pods itself.
 */
const STEP_1 = [
  `helm install dns01-webhook ./charts/dns01-webhook -n "$NS" --set groupName="$GROUP" --set 'solvers.enabled={dnspod}' --set apiService.create=false --set image.repository=registry.example.com/dns01-webhook`,
];
/** Step 2 switches with one patch (a bash script: CA is a shell variable), then hands the object to Helm. */
const STEP_2_SWITCH = [
  `CA="$(kubectl get secret -n "$NS" dns01-webhook-tls -o jsonpath='{.data.ca\\.crt}')"`,
  `kubectl patch apiservice "v1alpha1.$GROUP" --type merge -p "{\\"metadata\\":{\\"annotations\\":{\\"cert-manager.io/inject-ca-from\\":\\"$NS/dns01-webhook-tls\\"}},\\"spec\\":{\\"service\\":{\\"name\\":\\"dns01-webhook\\",\\"namespace\\":\\"$NS\\",\\"port\\":443},\\"caBundle\\":\\"$CA\\"}}"`,
];
const STEP_2_ADOPT = [
  `kubectl annotate apiservice "v1alpha1.$GROUP" meta.helm.sh/release-name=dns01-webhook meta.helm.sh/release-namespace="$NS" --overwrite`,
  `kubectl label apiservice "v1alpha1.$GROUP" app.kubernetes.io/managed-by=Helm app- chart- release- heritage- --overwrite`,
  `helm upgrade dns01-webhook ./charts/dns01-webhook -n "$NS" --reuse-values --set apiService.create=true`,
];
const STEP_3 = [
  `helm get manifest "$OLD" -n "$NS" > "$OLD-release.yaml"`,
  `kubectl delete secret -n "$NS" -l "owner=helm,name=$OLD"`,
  `kubectl delete -n "$NS" deployment,service,serviceaccount,issuers.cert-manager.io,certificates.cert-manager.io -l "release=$OLD"`,
  `kubectl delete clusterrole,clusterrolebinding -l "release=$OLD"`,
  `kubectl delete rolebinding -n kube-system -l "release=$OLD"`,
  `kubectl delete secret -n "$NS" "$OLD-ca" "$OLD-webhook-tls" --ignore-not-found`,
];

/** MIGRATION.md's rollback (before step 3): one write points the APIService back at the old webhook. */
const ROLLBACK = [
  `CA="$(kubectl get secret -n "$NS" "$OLD-webhook-tls" -o jsonpath='{.data.ca\\.crt}')"`,
  `kubectl patch apiservice "v1alpha1.$GROUP" --type merge -p "{\\"metadata\\":{\\"annotations\\":{\\"meta.helm.sh/release-name\\":\\"$OLD\\",\\"cert-manager.io/inject-ca-from\\":\\"$NS/$OLD-webhook-tls\\"}},\\"spec\\":{\\"service\\":{\\"name\\":\\"$OLD\\"},\\"caBundle\\":\\"$CA\\"}}"`,
];

let cluster: Cluster;
let emulator: RunningDnspodEmulator;
let workDir: string;
let oldCa: KeyPairPem;
let newCa: KeyPairPem;
let oldPods: FakeDeployment;
let newPods: FakeDeployment;

/** Runs one documented command with bash, against the e2e cluster, in a directory with ./charts. */
async function sh(command: string): Promise<string> {
  const home = join(cluster.dir, 'helm');
  try {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', command], {
      cwd: workDir,
      env: {
        ...process.env,
        PATH: `${binDir()}:${process.env.PATH}`,
        KUBECONFIG: cluster.kubeconfig,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
        NS,
        OLD,
        GROUP,
      },
      maxBuffer: 16 << 20,
      timeout: 120_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${command}\n${e.stderr?.trim() || e.message}`);
  }
}

async function kubeJson<T = any>(args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
}

/** cert-manager's part: a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt for `<service>.<ns>.svc`. */
async function writeServingSecret(name: string, service: string, ca: KeyPairPem): Promise<KeyPairPem> {
  const host = `${service}.${NS}.svc`;
  const serving = await issueCertificate(ca, { commonName: host, dnsNames: [service, `${service}.${NS}`, host], usage: 'server', validDays: 2 });
  await cluster.apply([{
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name, namespace: NS },
    stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': ca.certPem },
  }]);
  return serving;
}

/** The kubelet's part for one Deployment: its pods, as the stored Deployment describes them. */
async function runDeployment(name: string, service: string, ca: KeyPairPem, serving: KeyPairPem, replicas: number): Promise<FakeDeployment> {
  const deployment = await kubeJson<KubeObject>(['get', 'deployment', name, '-n', NS]);
  const serviceAccount = (deployment as any).spec.template.spec.serviceAccountName as string;
  const token = await cluster.createToken(NS, serviceAccount);
  const d = new FakeDeployment({
    cluster,
    tlsDir: writeTlsDir(join(cluster.dir, `${name}-tls`), serving),
    servingCa: ca,
    serverName: `${service}.${NS}.svc`,
    kubeconfig: cluster.writeTokenKubeconfig(`${name}-pod`, token),
  }, NS, service, name);
  const template = podTemplate(CURRENT_BUILD, deployment);
  for (let i = 0; i < replicas; i++) await d.scaleUp(template);
  return d;
}

async function apiService(): Promise<{ spec: { service: { name: string }; caBundle?: string }; metadata: { annotations?: Record<string, string>; labels?: Record<string, string> }; status?: { conditions?: Array<{ type: string; status: string }> } }> {
  return kubeJson(['get', 'apiservice', `v1alpha1.${GROUP}`]);
}

const served = (pods: Pod[]) => pods.reduce((n, p) => n + p.challengesServed(), 0);

beforeAll(async () => {
  cluster = await startCluster();
  // The commands run here, as from a checkout: ./charts is the repository's; files they write stay here.
  workDir = join(cluster.dir, 'migration');
  mkdirSync(workDir, { recursive: true });
  symlinkSync(join(REPO_ROOT, 'charts'), join(workDir, 'charts'));
  emulator = await startDnspodEmulator({ host: cluster.host.hostIp, domains: ['example.test'], credentials: { [SECRET_ID]: SECRET_KEY } });
  const { stdout } = await run('bash', [join(REPO_ROOT, 'test/chart/crds/fetch.sh')], { timeout: 5 * 60_000 });
  for (const file of stdout.trim().split('\n').filter((f) => f.includes('cert-manager.io'))) await cluster.apply(readFileSync(file, 'utf8'));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/issuers.cert-manager.io', 'crd/clusterissuers.cert-manager.io', 'crd/certificates.cert-manager.io']);
  await cluster.ensureServiceAccount(NS, 'cert-manager');

  // The old release, as the user has it: installed by helm, served, its CA injected into the APIService.
  oldCa = await createCA('ca.dnspod-webhook.cert-manager', { validDays: 2 });
  newCa = await createCA('ca.dns01-webhook.cert-manager', { validDays: 2 });
  await sh(`helm install "$OLD" ${STANDIN_CHART} -n "$NS" --set clusterIssuer.secretId=${SECRET_ID} --set clusterIssuer.secretKey=${SECRET_KEY} --set caBundle=${Buffer.from(oldCa.certPem).toString('base64')}`);
  const oldServing = await writeServingSecret(`${OLD}-webhook-tls`, OLD, oldCa);
  oldPods = await runDeployment(OLD, OLD, oldCa, oldServing, 1);
  await waitUntil(`APIService v1alpha1.${GROUP} Available`, async () => (await apiService()).status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false, {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 600_000);

afterAll(async () => {
  await emulator?.close();
  await cluster?.stop();
});

describe('zero-gap migration from the imroc webhook (MIGRATION.md, run verbatim)', () => {
  it('MIGRATION.md shows each command the test runs, verbatim', () => {
    const doc = readFileSync(MIGRATION_MD, 'utf8');
    for (const command of [...STEP_1, ...STEP_2_SWITCH, ...STEP_2_ADOPT, ...STEP_3, ...ROLLBACK]) expect(doc, command).toContain(command);
  });

  it('switches kube-apiserver to dns01-webhook under load: 0 failed, 0 lost, 0 left behind; the ClusterIssuer and its Secret stay', async () => {
    // The imroc ClusterIssuer's config, verbatim from the object the old chart made (+ the emulator's endpoint).
    const issuer = await kubeJson<{ spec: { acme: { solvers: Array<{ dns01: { webhook: { config: Record<string, unknown> } } }> } } }>(['get', 'clusterissuer', 'dnspod']);
    const config = { ...issuer.spec.acme.solvers[0]!.dns01.webhook.config, endpoint: emulator.url };
    expect(config).toMatchObject({ secretId: SECRET_ID, secretKeyRef: { name: `${OLD}-secret`, key: 'secret-key' }, ttl: 600 });
    const load = new ChallengeLoad({
      server: cluster.server,
      ca: cluster.caPem,
      token: await cluster.createToken(NS, 'cert-manager'),
      groupName: GROUP,
      solverName: 'dnspod',
      fqdns: ['_acme-challenge.example.test.', '_acme-challenge.www.example.test.'],
      zone: 'example.test.',
      resourceNamespace: NS,
      config,
      valuesAt: (fqdn) => emulator.records().filter((r) => r.fqdn === fqdn && r.type === 'TXT').map((r) => r.value),
      requestsPerSecond: 20,
      maxDurationMs: 4 * 60_000,
    }).start();
    await waitUntil('challenges flowing through the old webhook', async () => load.completed >= 20 || load.failures > 0, { timeoutMs: 30_000 });

    // Step 1: the new release next to the old one, without the APIService; cert-manager issues its serving
    // certificate (the test writes that Secret), the pods start and become Ready behind the new Service.
    for (const command of STEP_1) await sh(command);
    expect((await apiService()).spec.service.name).toBe(OLD);
    const newServing = await writeServingSecret('dns01-webhook-tls', 'dns01-webhook', newCa);
    newPods = await runDeployment('dns01-webhook', 'dns01-webhook', newCa, newServing, 2);
    expect(served(newPods.pods)).toBe(0);

    // Step 2: switch in one write (new Service and new CA together), then the new release adopts the object.
    await sh(STEP_2_SWITCH.join('\n'));
    const switchedAt = Date.now();
    const switched = await apiService();
    expect(switched.spec.service.name).toBe('dns01-webhook');
    expect(Buffer.from(switched.spec.caBundle ?? '', 'base64').toString()).toBe(newCa.certPem);
    for (const command of STEP_2_ADOPT) await sh(command);
    const adopted = await apiService();
    expect(adopted.spec).toEqual(switched.spec);
    expect(adopted.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'dns01-webhook', 'cert-manager.io/inject-ca-from': `${NS}/dns01-webhook-tls` });
    // No label selects it as part of either release (the rollback's cleanup relies on that).
    expect(adopted.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'Helm' });
    expect(await sh('helm get manifest dns01-webhook -n "$NS"')).toContain(`name: v1alpha1.${GROUP}`);
    await waitUntil('challenges served by the new pods', async () => served(newPods.pods) >= 20 || load.failures > 0, { timeoutMs: 30_000 });
    // Calls already on their way to the old pod finish there; none arrives later.
    let oldServed = served(oldPods.pods);
    let newServed = served(newPods.pods);
    await waitUntil('a few more challenges', async () => served(newPods.pods) >= newServed + 40 || load.failures > 0, { timeoutMs: 30_000 });
    expect(served(oldPods.pods)).toBe(oldServed);

    // The documented rollback (one write back to the old webhook and its CA), then forward again with step 2's
    // switch: traffic follows each switch, still without a failed call.
    await sh(ROLLBACK.join('\n'));
    const rolledBack = await apiService();
    expect(rolledBack.spec.service.name).toBe(OLD);
    expect(Buffer.from(rolledBack.spec.caBundle ?? '', 'base64').toString()).toBe(oldCa.certPem);
    oldServed = served(oldPods.pods);
    await waitUntil('challenges served by the old pod again', async () => served(oldPods.pods) >= oldServed + 20 || load.failures > 0, { timeoutMs: 30_000 });
    await sh(STEP_2_SWITCH.join('\n'));
    expect((await apiService()).spec.service.name).toBe('dns01-webhook');
    newServed = served(newPods.pods);
    await waitUntil('challenges served by the new pods again', async () => served(newPods.pods) >= newServed + 20 || load.failures > 0, { timeoutMs: 30_000 });
    oldServed = served(oldPods.pods);
    await waitUntil('a few more challenges', async () => served(newPods.pods) >= newServed + 60 || load.failures > 0, { timeoutMs: 30_000 });
    expect(served(oldPods.pods)).toBe(oldServed);

    // Step 3: Helm forgets the old release; its objects go (the old pod terminates), the APIService stays ours.
    for (const command of STEP_3) await sh(command);
    await oldPods.deletePod(oldPods.pods[0]!, { serviceDeleted: true });
    const after = load.completed;
    await waitUntil('challenges after the cleanup', async () => load.completed >= after + 20 || load.failures > 0, { timeoutMs: 30_000 });
    const result = await load.stop();
    console.log(`[migration] ${JSON.stringify({ challenges: result.challenges, requests: result.requests, failed: result.failed.length, lost: result.lost.length, leftBehind: result.leftBehind.length, durationMs: result.durationMs, oldPodServed: served(oldPods.pods.length ? oldPods.pods : []), newPodsServed: newPods.pods.map((p) => p.challengesServed()) })}`);

    expect({ failed: result.failed.length, lost: result.lost.length, leftBehind: result.leftBehind.length },
      JSON.stringify({ ...result, failed: result.failed.slice(0, 5), lost: result.lost.slice(0, 5), leftBehind: result.leftBehind.slice(0, 5), switchedAt: switchedAt - load.startedAt }, null, 1))
      .toEqual({ failed: 0, lost: 0, leftBehind: 0 });

    // What is left: our release only, the APIService Available on our Service; the user's ClusterIssuer and
    // its credentials Secret untouched; nothing of the old webhook.
    expect((await sh('helm list -n "$NS" -q')).trim().split('\n')).toEqual(['dns01-webhook']);
    const final = await apiService();
    expect(final.spec.service.name).toBe('dns01-webhook');
    expect(final.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
    await cluster.kubectl(['get', 'clusterissuer', 'dnspod']);
    await cluster.kubectl(['get', 'secret', `${OLD}-secret`, '-n', NS]);
    for (const gone of [['deployment', OLD, '-n', NS], ['service', OLD, '-n', NS], ['clusterrole', `${OLD}:domain-solver`], ['rolebinding', `${OLD}:webhook-authentication-reader`, '-n', 'kube-system'], ['issuer', `${OLD}-ca`, '-n', NS]]) {
      await expect(cluster.kubectl(['get', ...gone]), gone.join(' ')).rejects.toThrow(/NotFound|not found/);
    }
  });
});
