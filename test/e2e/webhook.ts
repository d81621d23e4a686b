/**
 * Installs the webhook into an e2e cluster the way a user does — `helm template` of charts/dns01-webhook,
 * every object applied server-side — and runs it the way the chart's Deployment would: the container's
 * args, the serving Secret's files, a ServiceAccount token (TokenRequest) as its identity, inside the
 * network-namespace test host that the Service's Endpoints point at.
 *
 * The serving certificate comes either from a CA made here (default: pki.enabled=false +
 * apiService.caBundle, for clusters without cert-manager) or, with `pki: 'cert-manager'`, from the chart's
 * own PKI issued by cert-manager's real controllers, with the APIService's caBundle written by cainjector
 * (support/cert-manager.ts must be running); the Secret's files are laid out like a Secret volume.
 *
 * Differences from a real cluster, because there is no kubelet or controller-manager:
 * - `--kubeconfig` with the pod's token replaces the in-cluster config (no /var/run/secrets mount);
 * - objects of APIs this cluster does not serve (monitoring.coreos.com; cert-manager.io without
 *   cert-manager) are not applied and are listed in `skipped`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createCA, issueCertificate, type KeyPairPem } from '@dns01-webhook/core/testing';
import { parseAllDocuments } from 'yaml';
import { binary, type Cluster } from './cluster/cluster.js';
import { waitUntil, type ManagedProcess } from './cluster/processes.js';

const exec = promisify(execFile);
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/dns01-webhook');
/** APIs this control plane does not have (no CRDs installed; cert-manager's only with `pki: 'cert-manager'`). */
export const UNSERVED_GROUPS = ['cert-manager.io', 'monitoring.coreos.com'];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface WebhookInstall {
  groupName: string;
  /** Release namespace (where the Service, Deployment, ServiceAccount live). */
  namespace: string;
  serviceName: string;
  serviceAccount: string;
  /** CA that signed the serving certificate (= the APIService caBundle). */
  servingCa: Pick<KeyPairPem, 'certPem'>;
  /** The APIService's caBundle as kube-apiserver has it once Available (written by cainjector with `pki: 'cert-manager'`). */
  apiServiceCaBundle: string;
  /** The webhook's own HTTPS URL inside the test host (bypassing kube-apiserver). */
  directUrl: string;
  /** TLS server name kube-apiserver uses: `<svc>.<ns>.svc`. */
  serverName: string;
  objects: KubeObject[];
  skipped: KubeObject[];
  /** The args the chart's Deployment gives the container, as rendered. */
  deploymentArgs: string[];
  process: ManagedProcess;
}

export interface InstallOptions {
  groupName: string;
  /** Release name and namespace, default `e2e` / `dns01-webhook`. */
  release?: string;
  namespace?: string;
  /** Extra `--set` values (key=value), e.g. `solvers.enabled={dnspod}`. */
  set?: string[];
  /** Extra environment for the webhook process (the chart's extraEnv is applied too). */
  env?: NodeJS.ProcessEnv;
  /** Time the APIService gets to become Available. */
  availableTimeoutMs?: number;
  /**
   * Where the serving certificate comes from: 'test-ca' (default) makes one here; 'cert-manager' applies the
   * chart's Issuers/Certificates and waits for cert-manager to issue the Secret and cainjector to fill the
   * APIService's caBundle.
   */
  pki?: 'test-ca' | 'cert-manager';
  /** How the pod's container is run; default: `node packages/core/dist/cli/main.js serve` in the test host. */
  launch?: WebhookLauncher;
}

/** What a pod of the chart's Deployment gets, for a launcher to run the webhook container with. */
export interface WebhookPod {
  /** Process name (`<release>-webhook`). */
  name: string;
  /** The container's args exactly as the chart renders them (TLS paths under /tls). */
  args: string[];
  /** The container's env (the chart's `extraEnv` values and InstallOptions.env). */
  env: Record<string, string>;
  /** Container port name → number. */
  ports: Record<string, number>;
  /** The Deployment's container spec as rendered (securityContext, probes, volumeMounts, resources). */
  container: Record<string, any>;
  /** The pod spec's securityContext (fsGroup, ...). */
  podSecurityContext: Record<string, any>;
  /** The pod spec's volumes (the tls Secret's defaultMode, the tmp emptyDir). */
  volumes: Array<Record<string, any>>;
  /** The serving Secret's data (what is mounted at /tls). */
  tls: Record<string, string>;
  /** A token of the Deployment's ServiceAccount (what the projected volume holds). */
  token: string;
  namespace: string;
}

export type WebhookLauncher = (cluster: Cluster, pod: WebhookPod) => ManagedProcess | Promise<ManagedProcess>;

/** The default launcher: the built CLI under node inside the test host, TLS files laid out like a Secret volume. */
export const launchNodeProcess: WebhookLauncher = (cluster, pod) => {
  const tlsDir = join(cluster.dir, `${pod.name}-tls`);
  writeSecretVolume(tlsDir, pod.tls);
  const kubeconfig = cluster.writeTokenKubeconfig(pod.name, pod.token);
  const args = pod.args.map((a) => a.replace(/=\/tls\//, `=${tlsDir}/`));
  return cluster.spawnInHost(pod.name, process.execPath, [join(REPO_ROOT, 'packages/core/dist/cli/main.js'), 'serve', ...args, `--kubeconfig=${kubeconfig}`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...pod.env },
  });
};

/** `helm template` of the chart (this tree's, or another build's `chartDir`), parsed (null documents dropped). */
export async function renderChart(release: string, namespace: string, args: string[], chartDir = CHART_DIR): Promise<KubeObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await exec(binary('helm'), ['template', release, chartDir, '--namespace', namespace, ...args], { maxBuffer: 32 << 20 }));
  } catch (err) {
    throw new Error(`helm template failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  }
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

/** Minimal HTTPS JSON client (kube-apiserver or the webhook), trusting `ca`. */
export function httpsJson(
  url: string,
  options: { method?: string; ca: string; token?: string; body?: unknown; headers?: Record<string, string>; cert?: string; key?: string; servername?: string },
): Promise<{ status: number; body: any; text: string }> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        servername: options.servername,
        timeout: 70_000,
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolvePromise({ status: res.statusCode ?? 0, body, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The Deployment's webhook container and pod spec, as rendered. */
export function podSpec(deployment: KubeObject): { container: Record<string, any>; pod: Record<string, any>; env: Record<string, string>; ports: Record<string, number> } {
  const spec = (deployment as any).spec.template.spec;
  const container = spec.containers.find((c: any) => c.name === 'webhook') ?? spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  const ports: Record<string, number> = {};
  for (const p of container.ports ?? []) ports[p.name] = p.containerPort;
  return { container, pod: spec, env, ports };
}

/**
 * Writes `data` into `dir` the way kubelet lays out a Secret volume (atomic writer): the files live in a
 * timestamped `..<ts>` dir, `..data` links to it, and each key is a link through `..data`. A second call
 * swaps `..data` atomically, as kubelet does when the Secret changes (what the webhook's TLS reload watches).
 */
export function writeSecretVolume(dir: string, data: Record<string, string>, mode = 0o440): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint()}`;
  const target = join(dir, stamp);
  mkdirSync(target, { mode: 0o755 });
  for (const [key, value] of Object.entries(data)) writeFileSync(join(target, key), value, { mode });
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(stamp, tmpLink);
  renameSync(tmpLink, join(dir, '..data'));
  for (const key of Object.keys(data)) {
    const link = join(dir, key);
    if (!existsSync(link)) symlinkSync(join('..data', key), link);
  }
}

interface SecretObject {
  data?: Record<string, string>;
}

/** Waits until Secret `namespace/name` has every key in `keys`; returns its decoded data. */
export async function waitForSecret(cluster: Cluster, namespace: string, name: string, keys: string[], timeoutMs = 90_000): Promise<Record<string, string>> {
  let data: Record<string, string> = {};
  await waitUntil(`Secret ${namespace}/${name} with ${keys.join(', ')}`, async () => {
    const out = await cluster.kubectl(['get', 'secret', name, '-n', namespace, '-o', 'json', '--ignore-not-found']);
    if (!out.trim()) return false;
    const secret = JSON.parse(out) as SecretObject;
    data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    return keys.every((k) => (data[k] ?? '').length > 0);
  }, { timeoutMs, intervalMs: 500 });
  return data;
}

/** Waits for APIService `name` to be Available; returns its caBundle (base64). */
export async function waitForApiService(cluster: Cluster, name: string, options: { timeoutMs?: number; proc?: ManagedProcess; logs?: () => string } = {}): Promise<string> {
  let lastConditions = '';
  let caBundle = '';
  await waitUntil(`APIService ${name} Available`, async () => {
    const out = JSON.parse(await cluster.kubectl(['get', 'apiservice', name, '-o', 'json'])) as {
      spec?: { caBundle?: string };
      status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
    };
    caBundle = out.spec?.caBundle ?? '';
    const available = out.status?.conditions?.find((x) => x.type === 'Available');
    lastConditions = JSON.stringify(available ?? null);
    return available?.status === 'True';
  }, { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 500, proc: options.proc }).catch((err: Error) => {
    throw new Error(`${err.message}\nlast Available condition: ${lastConditions}; caBundle ${caBundle ? 'set' : 'empty'}\n${options.logs?.() ?? ''}`);
  });
  return caBundle;
}

export async function installWebhook(cluster: Cluster, options: InstallOptions): Promise<WebhookInstall> {
  const release = options.release ?? 'e2e';
  const namespace = options.namespace ?? 'dns01-webhook';
  const byCertManager = options.pki === 'cert-manager';
  const testCa = byCertManager ? undefined : await createCA('dns01-e2e-webhook-serving-ca', { validDays: 2 });
  const servingSecret = `${release}-e2e-serving`;
  const pkiValues = testCa
    ? ['--set', 'pki.enabled=false', '--set', `pki.existingSecret=${servingSecret}`, '--set', `apiService.caBundle=${Buffer.from(testCa.certPem).toString('base64')}`]
    : [];
  const objects = await renderChart(release, namespace, [
    '--set', `groupName=${options.groupName}`,
    ...pkiValues,
    // What `helm install` would learn from this cluster (helm template alone assumes an old default).
    '--kube-version', cluster.versions.kubeApiserver.replace(/^Kubernetes /, ''),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
  ]);
  const unserved = byCertManager ? UNSERVED_GROUPS.filter((g) => g !== 'cert-manager.io') : UNSERVED_GROUPS;
  const skipped = objects.filter((o) => unserved.includes(groupOf(o.apiVersion)));
  const applied = objects.filter((o) => !skipped.includes(o));
  const find = (kind: string) => {
    const o = applied.find((x) => x.kind === kind);
    if (!o) throw new Error(`the chart rendered no ${kind}`);
    return o;
  };
  const service = find('Service');
  const deployment = find('Deployment');
  const apiService = find('APIService');
  const serviceAccount = (deployment as any).spec.template.spec.serviceAccountName as string;
  const serverName = `${service.metadata.name}.${namespace}.svc`;
  const secretVolume = ((deployment as any).spec.template.spec.volumes as Array<{ name: string; secret?: { secretName: string } }>)
    .find((v) => v.name === 'tls')?.secret?.secretName;
  if (!secretVolume) throw new Error('the Deployment has no Secret volume named tls');

  // Namespaces the chart expects to exist: its own, and those its Roles/RoleBindings land in.
  const namespaces = new Set([namespace, ...applied.map((o) => o.metadata.namespace).filter((n): n is string => !!n)]);
  const prerequisites: object[] = [...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  if (testCa) {
    const serving = await issueCertificate(testCa, {
      commonName: serverName,
      dnsNames: [service.metadata.name, `${service.metadata.name}.${namespace}`, serverName],
      usage: 'server',
      validDays: 2,
    });
    prerequisites.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: servingSecret, namespace },
      stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': testCa.certPem },
    });
  }
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: prerequisites }));
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: applied }));

  // The pod's view: the serving Secret mounted at /tls (once cert-manager issued it), the ServiceAccount's token as its identity.
  const tls = await waitForSecret(cluster, namespace, secretVolume, ['tls.crt', 'tls.key', 'ca.crt']);
  const spec = podSpec(deployment);
  const securePort = spec.ports.https;
  if (!securePort) throw new Error('the Deployment has no container port named https');
  const proc = await (options.launch ?? launchNodeProcess)(cluster, {
    name: `${release}-webhook`,
    args: [...(spec.container.args ?? [])],
    env: { ...spec.env, ...(options.env as Record<string, string> | undefined) },
    ports: spec.ports,
    container: spec.container,
    podSecurityContext: spec.pod.securityContext ?? {},
    volumes: spec.pod.volumes ?? [],
    tls,
    token: await cluster.createToken(namespace, serviceAccount),
    namespace,
  });
  const directUrl = `https://${cluster.host.ip}:${securePort}`;
  await waitUntil('webhook /healthz', async () => (await httpsJson(`${directUrl}/healthz`, { ca: tls['ca.crt']!, servername: serverName })).status === 200, {
    timeoutMs: 30_000,
    proc,
  });
  await cluster.pointServiceAt(namespace, service.metadata.name, spec.ports);
  const apiServiceCaBundle = await waitForApiService(cluster, apiService.metadata.name, {
    timeoutMs: options.availableTimeoutMs ?? 60_000,
    proc,
    logs: () => `--- webhook log ---\n${proc.logTail()}`,
  });

  return {
    groupName: options.groupName,
    namespace,
    serviceName: service.metadata.name,
    serviceAccount,
    servingCa: { certPem: tls['ca.crt']! },
    apiServiceCaBundle,
    directUrl,
    serverName,
    objects: applied,
    skipped,
    deploymentArgs: [...(spec.container.args ?? [])],
    process: proc,
  };
}
