/**
 * cert-manager's real controllers and cainjector (test/e2e/certmanager, built by test/e2e/install/cert-manager.sh)
 * running out of cluster against an e2e kube-apiserver, with cert-manager's real CRDs and the RBAC of its own
 * Helm chart: the controller runs as the `cert-manager/cert-manager` ServiceAccount (the identity the webhook
 * chart's domain-solver ClusterRole is bound to), cainjector as `cert-manager/cert-manager-cainjector`.
 *
 *   const cm = await startCertManager(cluster, { dns01Nameservers: [emulator.dns.address] });
 *   // ... Issuers, Certificates; cm.controller.logTail() when something hangs
 *   await cluster.stop();   // stops them too
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { binary, type Cluster } from '../cluster/cluster.js';
import type { ManagedProcess } from '../cluster/processes.js';
import type { KubeObject } from '../webhook.js';
import { dnsSans, verifyChain } from './acme-order.js';

const exec = promisify(execFile);
export const CERT_MANAGER_VERSION = 'v1.21.2';
export const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** Where install/cert-manager.sh put the module's CRDs and chart. */
export function certManagerAssets(): { crds: string; chart: string } {
  const cache = process.env.DNS01_CACHE ?? '/var/cache/dns01-webhook';
  const dir = join(cache, 'cert-manager', CERT_MANAGER_VERSION);
  return { crds: join(dir, 'crds'), chart: join(dir, 'chart') };
}

export interface CertManagerOptions {
  /** `host:port` nameservers for DNS-01 zone lookups and self-checks (--dns01-recursive-nameservers). */
  dns01Nameservers: string[];
  /** Extra controller flags. */
  controllerArgs?: string[];
  /** klog verbosity of both processes (2 = info, 4 = debug). Default 2. */
  verbosity?: number;
}

export interface CertManager {
  controller: ManagedProcess;
  cainjector: ManagedProcess;
  /** The controller's command line (flags as the real binary names them). */
  controllerArgs: string[];
  version: string;
  /** Both processes' last log lines, for failure messages. */
  logTail(lines?: number): string;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** cert-manager's own RBAC (ServiceAccounts, ClusterRoles, bindings, Roles) from its chart, as `helm template` renders it. */
async function certManagerRbac(chart: string, kubeVersion: string): Promise<K8sObject[]> {
  const { stdout } = await exec(binary('helm'), [
    'template', 'cert-manager', chart, '--namespace', CERT_MANAGER_NAMESPACE, '--set', 'crds.enabled=false', '--kube-version', kubeVersion,
  ], { maxBuffer: 32 << 20 });
  const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && rbacKinds.has(o.kind));
}

/** Applies cert-manager's CRDs (all six) and waits until they are served. */
export async function installCertManagerCrds(cluster: Cluster): Promise<void> {
  const { crds } = certManagerAssets();
  const files = readdirSync(crds).filter((f) => f.endsWith('.yaml') && !f.startsWith('README'));
  for (const f of files) await cluster.apply(readFileSync(join(crds, f), 'utf8'));
  const names = files.map((f) => f.replace(/\.yaml$/, '').split('_').reverse().join('.'));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)]);
}

export async function startCertManager(cluster: Cluster, options: CertManagerOptions): Promise<CertManager> {
  const bin = binary('cert-manager-e2e');
  const { stdout: version } = await exec(bin, ['version']).catch((err: Error) => {
    throw new Error(`${bin} version failed (${err.message}). Run: bash test/e2e/install/all.sh`);
  });
  await installCertManagerCrds(cluster);
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CERT_MANAGER_NAMESPACE } }));
  await cluster.apply(await certManagerRbac(certManagerAssets().chart, cluster.versions.kubeApiserver.replace(/^Kubernetes /, '')));

  const kubeconfigFor = async (sa: string) => cluster.writeTokenKubeconfig(sa, await cluster.createToken(CERT_MANAGER_NAMESPACE, sa, 4 * 3600));
  const v = `--v=${options.verbosity ?? 2}`;
  // The flags cert-manager's chart gives the controller, plus what running outside a cluster needs.
  const controllerArgs = [
    'controller',
    `--kubeconfig=${await kubeconfigFor('cert-manager')}`,
    `--cluster-resource-namespace=${CERT_MANAGER_NAMESPACE}`,
    '--leader-elect=false',
    `--dns01-recursive-nameservers=${options.dns01Nameservers.join(',')}`,
    '--dns01-recursive-nameservers-only',
    '--max-concurrent-challenges=60',
    v,
    ...(options.controllerArgs ?? []),
  ];
  const controller = cluster.spawn('cert-manager-controller', bin, controllerArgs);
  const cainjector = cluster.spawn('cert-manager-cainjector', bin, [
    'cainjector',
    `--kubeconfig=${await kubeconfigFor('cert-manager-cainjector')}`,
    '--leader-elect=false',
    v,
  ]);
  return {
    controller,
    cainjector,
    controllerArgs: controllerArgs.map((a) => a.replace(/^--kubeconfig=.*/, '--kubeconfig=<ServiceAccount token>')),
    version: version.trim(),
    logTail: (lines = 30) => `--- cert-manager controller ---\n${controller.logTail(lines)}\n--- cainjector ---\n${cainjector.logTail(lines)}`,
  };
}

/**
 * A ClusterIssuer for an ACME server (Pebble: its directory, its TLS CA as caBundle) with one DNS-01 webhook
 * solver. Without `tlsCaPem` no caBundle is set (an issuer that is only read, never used to order).
 */
export function acmeClusterIssuer(
  name: string,
  acme: { directoryUrl: string; tlsCaPem?: string },
  webhook: { groupName: string; solverName: string; config: Record<string, unknown> },
): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: {
      acme: {
        server: acme.directoryUrl,
        ...(acme.tlsCaPem === undefined ? {} : { caBundle: Buffer.from(acme.tlsCaPem).toString('base64') }),
        email: 'e2e@example.test',
        privateKeySecretRef: { name: `${name}-account` },
        solvers: [{ dns01: { webhook } }],
      },
    },
  };
}

/** A Certificate from a ClusterIssuer into Secret `<name>-tls`. */
export function certificate(name: string, namespace: string, clusterIssuer: string, dnsNames: string[]): KubeObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace },
    spec: { secretName: `${name}-tls`, dnsNames, issuerRef: { name: clusterIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' } },
  };
}

/**
 * What an issued certificate Secret must hold: a leaf with exactly `dnsNames`, for the Secret's own key, and a
 * chain (more than the leaf) that ends at `rootPem`. Throws naming what is wrong.
 */
export function checkIssuedSecret(data: Record<string, string>, dnsNames: string[], rootPem: string): void {
  const chainPem = Buffer.from(data['tls.crt'] ?? '', 'base64').toString();
  const chain = (chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
  const [leaf] = chain;
  if (!leaf || chain.length < 2) throw new Error(`tls.crt holds ${chain.length} certificate(s), want a leaf and its chain`);
  const sans = dnsSans(leaf).sort();
  if (JSON.stringify(sans) !== JSON.stringify([...dnsNames].sort())) throw new Error(`SANs ${JSON.stringify(sans)}, want ${JSON.stringify(dnsNames)}`);
  const key = createPublicKey(Buffer.from(data['tls.key'] ?? '', 'base64'));
  if (JSON.stringify(leaf.publicKey.export({ format: 'jwk' })) !== JSON.stringify(key.export({ format: 'jwk' }))) {
    throw new Error('the leaf certificate is not for the Secret\'s tls.key');
  }
  verifyChain(chain, new X509Certificate(rootPem));
}
