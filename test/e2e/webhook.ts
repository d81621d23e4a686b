/**
 * Installs the webhook into an e2e cluster the way a user does — `helm template` of charts/dns01-webhook,
 * every object applied server-side — and runs it the way the chart's Deployment would: the container's
 * args, the serving Secret's files, a ServiceAccount token (TokenRequest) as its identity, inside the
 * network-namespace test host that the Service's Endpoints point at.
 *
 * Differences from a real cluster, because there is no kubelet, controller-manager or cert-manager:
 * - the serving certificate is made here (pki.enabled=false + apiService.caBundle, i.e. no cainjector);
 * - `--kubeconfig` with the pod's token replaces the in-cluster config (no /var/run/secrets mount);
 * - objects of APIs this cluster does not serve (cert-manager.io, monitoring.coreos.com) are not applied
 *   and are listed in `skipped`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
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
/** APIs this control plane does not have (no CRDs installed). */
const UNSERVED_GROUPS = ['cert-manager.io', 'monitoring.coreos.com'];

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
  servingCa: KeyPairPem;
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
}

/** `helm template` of the chart, parsed (null documents dropped). */
export async function renderChart(release: string, namespace: string, args: string[]): Promise<KubeObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await exec(binary('helm'), ['template', release, CHART_DIR, '--namespace', namespace, ...args], { maxBuffer: 32 << 20 }));
  } catch (err) {
    throw new Error(`helm template failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  }
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

function groupOf(apiVersion: string): string {
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

/** The Deployment's webhook container, with paths under its Secret mounts mapped to local directories. */
function containerArgs(deployment: KubeObject, mounts: Record<string, string>): { args: string[]; rendered: string[]; env: Record<string, string>; ports: Record<string, number> } {
  const spec = (deployment as any).spec.template.spec;
  const container = spec.containers.find((c: any) => c.name === 'webhook') ?? spec.containers[0];
  const rendered: string[] = [...(container.args ?? [])];
  const mapPath = (arg: string) => {
    for (const [mountPath, local] of Object.entries(mounts)) {
      arg = arg.replace(new RegExp(`=${mountPath}/`), `=${local}/`);
    }
    return arg;
  };
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  const ports: Record<string, number> = {};
  for (const p of container.ports ?? []) ports[p.name] = p.containerPort;
  return { args: rendered.map(mapPath), rendered, env, ports };
}

export async function installWebhook(cluster: Cluster, options: InstallOptions): Promise<WebhookInstall> {
  const release = options.release ?? 'e2e';
  const namespace = options.namespace ?? 'dns01-webhook';
  const servingCa = await createCA('dns01-e2e-webhook-serving-ca', { validDays: 2 });
  const servingSecret = `${release}-e2e-serving`;
  const objects = await renderChart(release, namespace, [
    '--set', `groupName=${options.groupName}`,
    '--set', 'pki.enabled=false',
    '--set', `pki.existingSecret=${servingSecret}`,
    '--set', `apiService.caBundle=${Buffer.from(servingCa.certPem).toString('base64')}`,
    // What `helm install` would learn from this cluster (helm template alone assumes an old default).
    '--kube-version', cluster.versions.kubeApiserver.replace(/^Kubernetes /, ''),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
  ]);
  const skipped = objects.filter((o) => UNSERVED_GROUPS.includes(groupOf(o.apiVersion)));
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
  const serving = await issueCertificate(servingCa, {
    commonName: serverName,
    dnsNames: [service.metadata.name, `${service.metadata.name}.${namespace}`, serverName],
    usage: 'server',
    validDays: 2,
  });

  // Namespaces the chart expects to exist: its own, and those its Roles/RoleBindings land in.
  const namespaces = new Set([namespace, ...applied.map((o) => o.metadata.namespace).filter((n): n is string => !!n)]);
  await cluster.apply(JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      ...[...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name: servingSecret, namespace },
        stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'ca.crt': servingCa.certPem },
      },
    ],
  }));
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: applied }));

  // The pod's view: the serving Secret mounted at /tls, the ServiceAccount's token as its identity.
  const tlsDir = join(cluster.dir, `${release}-tls`);
  mkdirSync(tlsDir, { recursive: true });
  writeFileSync(join(tlsDir, 'tls.crt'), serving.certPem);
  writeFileSync(join(tlsDir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const token = await cluster.createToken(namespace, serviceAccount);
  const kubeconfig = cluster.writeTokenKubeconfig(`${release}-webhook`, token);
  const c = containerArgs(deployment, { '/tls': tlsDir });
  const args = [...c.args, `--kubeconfig=${kubeconfig}`];
  const securePort = c.ports.https;
  if (!securePort) throw new Error('the Deployment has no container port named https');

  const proc = cluster.spawnInHost(`${release}-webhook`, process.execPath, [join(REPO_ROOT, 'packages/core/dist/cli/main.js'), 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...c.env, ...options.env },
  });
  const directUrl = `https://${cluster.host.ip}:${securePort}`;
  await waitUntil('webhook /healthz', async () => (await httpsJson(`${directUrl}/healthz`, { ca: servingCa.certPem, servername: serverName })).status === 200, {
    timeoutMs: 30_000,
    proc,
  });
  await cluster.pointServiceAt(namespace, service.metadata.name, c.ports);

  let lastConditions = '';
  await waitUntil(`APIService ${apiService.metadata.name} Available`, async () => {
    const out = JSON.parse(await cluster.kubectl(['get', 'apiservice', apiService.metadata.name, '-o', 'json'])) as {
      status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
    };
    const available = out.status?.conditions?.find((x) => x.type === 'Available');
    lastConditions = JSON.stringify(available ?? null);
    return available?.status === 'True';
  }, { timeoutMs: options.availableTimeoutMs ?? 60_000, intervalMs: 500, proc }).catch((err: Error) => {
    throw new Error(`${err.message}\nlast Available condition: ${lastConditions}\n--- webhook log ---\n${proc.logTail()}`);
  });

  return {
    groupName: options.groupName,
    namespace,
    serviceName: service.metadata.name,
    serviceAccount,
    servingCa,
    directUrl,
    serverName,
    objects: applied,
    skipped,
    deploymentArgs: c.rendered,
    process: proc,
  };
}
