/**
 * Every object the chart renders, for every values file, applied server-side to a real kube-apiserver
 * (test/e2e/cluster) with cert-manager's and prometheus-operator's real CRDs installed: accepted, not just parsed.
 * Then RBAC is checked with SubjectAccessReviews, and the docs' ClusterIssuer examples are validated by the
 * real ClusterIssuer schema.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startCluster, type Cluster } from '../e2e/cluster/cluster.js';
import { chartDir, ensureE2eTools, helm, one, parseManifests, renderChart, repoRoot, valuesFiles, type K8sObject } from './helm.js';

const run = promisify(execFile);
const FIELD_MANAGER = 'dns01-chart-test';

let cluster: Cluster;
let kubeVersion: string;

/** Namespaces the values files mention (release namespaces are created per file). */
const EXTRA_NAMESPACES = ['cert-manager', 'team-a', 'team-b', 'monitoring'];

beforeAll(async () => {
  await ensureE2eTools();
  cluster = await startCluster();
  // "Kubernetes v1.37.2" → "1.37.2": render for the server we apply to.
  kubeVersion = cluster.versions.kubeApiserver.replace(/^Kubernetes v/, '');
  const { stdout } = await run('bash', [join(repoRoot, 'test/chart/crds/fetch.sh')], { timeout: 5 * 60_000 });
  const crdFiles = stdout.trim().split('\n');
  for (const file of crdFiles) await cluster.apply(readFileSync(file, 'utf8'));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s',
    'crd/issuers.cert-manager.io', 'crd/clusterissuers.cert-manager.io', 'crd/certificates.cert-manager.io',
    'crd/servicemonitors.monitoring.coreos.com']);
  await cluster.apply(EXTRA_NAMESPACES.map((name) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })).join('\n---\n'));
});

afterAll(async () => {
  await cluster?.stop();
});

// One release and namespace per values file, so cluster-scoped objects (ClusterRoles, bindings) do not collide.
const namespaceFor = (valuesFile: string) => `chart-${valuesFile}`;
const fullnameFor = (valuesFile: string) => `${valuesFile}-dns01-webhook`;

async function applyRendered(valuesFile: string): Promise<{ objects: K8sObject[]; output: string }> {
  const namespace = namespaceFor(valuesFile);
  const text = await renderChart({ valuesFile, namespace, kubeVersion, release: valuesFile });
  const objects = parseManifests(text);
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
  // Dry run first: the server validates (schemas, CRDs, RBAC escalation) without persisting anything.
  const dryRun = await cluster.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--dry-run=server', '-f', '-'], { input: text });
  expect(dryRun.trim().split('\n')).toHaveLength(objects.length);
  const output = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], { input: text });
  return { objects, output };
}

/** Asks kube-apiserver's RBAC authorizer whether `user` may do `verb` on a resource. */
async function allowed(user: string, attributes: Record<string, string>): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user, groups: ['system:serviceaccounts', 'system:authenticated'], resourceAttributes: attributes },
  };
  const out = await cluster.kubectl(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify(review) });
  return (JSON.parse(out) as { status: { allowed?: boolean } }).status.allowed === true;
}

describe('chart objects on a real kube-apiserver', () => {
  it('the apply is strict: an unknown field in a cert-manager Certificate or a Deployment is refused', async () => {
    const certificate = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'typo', namespace: 'cert-manager' },
      spec: { secretName: 'typo', issuerRef: { name: 'ca' }, dnsNamez: ['a.example.com'] },
    };
    await expect(cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: JSON.stringify(certificate) }))
      .rejects.toThrow(/\.spec\.dnsNamez: field not declared in schema/);
    const deployment = one(parseManifests(await renderChart({ valuesFile: 'defaults', namespace: 'cert-manager', kubeVersion })), 'Deployment');
    (deployment.spec as Record<string, unknown>).replicaz = 2;
    await expect(cluster.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: JSON.stringify(deployment) }))
      .rejects.toThrow(/\.spec\.replicaz: field not declared in schema/);
  });

  it.each(valuesFiles())('%s.yaml: every rendered object is accepted by server-side apply', async (valuesFile) => {
    const { objects, output } = await applyRendered(valuesFile);
    expect(objects.length).toBeGreaterThan(8);
    // Each object is reported once as applied ("<kind>.<group>/<name> serverside-applied").
    expect(output.trim().split('\n').every((line) => line.endsWith(' serverside-applied'))).toBe(true);
    for (const o of objects) {
      const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
      const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
      // kubectl names a resource kind.version.group; the core group has no name, so there it is just the kind.
      const resource = group ? `${o.kind.toLowerCase()}.${version}.${group}` : o.kind.toLowerCase();
      const stored = JSON.parse(await cluster.kubectl(['get', resource, o.metadata.name, ...ns, '-o', 'json'])) as K8sObject;
      expect(stored.metadata.name).toBe(o.metadata.name);
    }
  });

  it('the stored Deployment keeps the hardened pod spec and the stored APIService its service reference', async () => {
    await applyRendered('defaults');
    await applyRendered('imroc-migration');
    const ns = namespaceFor('defaults');
    const deployment = JSON.parse(await cluster.kubectl(['get', 'deployment', fullnameFor('defaults'), '-n', ns, '-o', 'json'])) as {
      spec: { template: { spec: { containers: Array<{ securityContext: Record<string, unknown> }>; securityContext: Record<string, unknown> } } };
    };
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(deployment.spec.template.spec.containers[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const pdb = JSON.parse(await cluster.kubectl(['get', 'poddisruptionbudgets.v1.policy', fullnameFor('defaults'), '-n', ns, '-o', 'json'])) as {
      spec: { maxUnavailable: number };
    };
    expect(pdb.spec.maxUnavailable).toBe(1);
    const api = JSON.parse(await cluster.kubectl(['get', 'apiservice', 'v1alpha1.acme.imroc.cc', '-o', 'json'])) as {
      spec: { service: { name: string; namespace: string; port: number } };
    };
    expect(api.spec.service).toEqual({ name: fullnameFor('imroc-migration'), namespace: namespaceFor('imroc-migration'), port: 443 });
  });

  it('RBAC as applied: cert-manager may call the solvers; the webhook reads Secrets only where configured', async () => {
    // Applied by the earlier test, but apply again so this test stands on its own.
    await applyRendered('imroc-migration');
    await applyRendered('cabundle-no-pki');
    const certManager = 'system:serviceaccount:cert-manager:cert-manager';
    expect(await allowed(certManager, { verb: 'create', group: 'acme.imroc.cc', version: 'v1alpha1', resource: 'dnspod' })).toBe(true);
    expect(await allowed('system:serviceaccount:default:someone', { verb: 'create', group: 'acme.imroc.cc', version: 'v1alpha1', resource: 'dnspod' })).toBe(false);

    const imrocWebhook = `system:serviceaccount:${namespaceFor('imroc-migration')}:${fullnameFor('imroc-migration')}`;
    expect(await allowed(imrocWebhook, { verb: 'get', resource: 'secrets', namespace: 'cert-manager', name: 'dnspod-secret' })).toBe(true);
    expect(await allowed(imrocWebhook, { verb: 'get', resource: 'secrets', namespace: 'team-a', name: 'dnspod-secret' })).toBe(false);
    expect(await allowed(imrocWebhook, { verb: 'list', resource: 'secrets', namespace: 'cert-manager' })).toBe(false);
    expect(await allowed(imrocWebhook, { verb: 'get', resource: 'configmaps', namespace: 'kube-system', name: 'extension-apiserver-authentication' })).toBe(true);
    expect(await allowed(imrocWebhook, { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' })).toBe(true);
    expect(await allowed(imrocWebhook, { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' })).toBe(true);

    const restricted = `system:serviceaccount:${namespaceFor('cabundle-no-pki')}:${fullnameFor('cabundle-no-pki')}`;
    expect(await allowed(restricted, { verb: 'get', resource: 'secrets', namespace: 'team-b', name: 'dns-credentials' })).toBe(true);
    expect(await allowed(restricted, { verb: 'get', resource: 'secrets', namespace: 'team-b', name: 'other-secret' })).toBe(false);
    expect(await allowed(restricted, { verb: 'get', resource: 'secrets', namespace: 'monitoring', name: 'dns-credentials' })).toBe(false);
  });

  it('cluster-wide Secrets and ServiceAccount tokens only for the listed names', async () => {
    await applyRendered('cluster-wide-secrets');
    const webhook = `system:serviceaccount:${namespaceFor('cluster-wide-secrets')}:${fullnameFor('cluster-wide-secrets')}`;
    expect(await allowed(webhook, { verb: 'get', resource: 'secrets', namespace: 'team-a', name: 'route53-credentials' })).toBe(true);
    expect(await allowed(webhook, { verb: 'get', resource: 'secrets', namespace: 'team-a', name: 'unrelated' })).toBe(false);
    expect(await allowed(webhook, { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'team-b', name: 'route53-irsa' })).toBe(true);
    expect(await allowed(webhook, { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'team-b', name: 'default' })).toBe(false);
  });

  it("the docs' ClusterIssuer and Secret examples are valid for cert-manager's real ClusterIssuer schema", async () => {
    const docs = ['README.md', 'charts/dns01-webhook/README.md', 'charts/dns01-webhook/MIGRATION.md'];
    const manifests: K8sObject[] = [];
    for (const doc of docs) {
      const text = readFileSync(join(repoRoot, doc), 'utf8');
      for (const block of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
        for (const d of parseAllDocuments(block[1]!)) {
          const o = d.toJS() as K8sObject | null;
          if (o && typeof o === 'object' && 'kind' in o && 'apiVersion' in o) manifests.push(o);
        }
      }
    }
    const issuers = manifests.filter((o) => o.kind === 'ClusterIssuer');
    // One per solver in each README, plus the migration page's.
    expect(issuers.length).toBeGreaterThanOrEqual(12);
    for (const o of manifests) {
      if (o.kind === 'Secret' && !o.metadata.namespace) o.metadata.namespace = 'cert-manager';
      const out = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], {
        input: JSON.stringify(o),
      });
      expect(out).toContain('serverside-applied');
    }
    const webhook = issuers.map((o) => (o as unknown as { spec: { acme: { solvers: Array<{ dns01: { webhook: { solverName: string } } }> } } }).spec.acme.solvers[0]!.dns01.webhook.solverName);
    expect(new Set(webhook)).toEqual(new Set(['dnspod', 'route53', 'cloudflare', 'rfc2136']));
  });

  it('helm install / uninstall against the cluster: live capabilities pick policy/v1, NOTES render, nothing is left', async () => {
    const release = ['--kubeconfig', cluster.kubeconfig, '--namespace', 'chart-helm'];
    const install = await helm(['install', 'helm-user', chartDir, ...release, '--create-namespace', '--set', 'groupName=acme.helm.example.com']);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');
    expect(install.stdout).toContain('kubectl get apiservice v1alpha1.acme.helm.example.com');
    expect(install.stdout).toContain('The webhook may read Secrets in: cert-manager.');
    const manifest = await helm(['get', 'manifest', 'helm-user', ...release]);
    expect(one(parseManifests(manifest.stdout), 'PodDisruptionBudget').apiVersion).toBe('policy/v1');
    expect(await cluster.kubectl(['get', 'apiservice', 'v1alpha1.acme.helm.example.com', '-o', 'name'])).toContain('v1alpha1.acme.helm.example.com');

    const uninstall = await helm(['uninstall', 'helm-user', ...release, '--wait', '--timeout', '60s']);
    expect(uninstall.code).toBe(0);
    const left = await cluster.kubectl(['get', 'apiservice,clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/instance=helm-user', '-o', 'name']);
    expect(left.trim()).toBe('');
    const leftInKubeSystem = await cluster.kubectl(['get', 'rolebinding', '-n', 'kube-system', '-l', 'app.kubernetes.io/instance=helm-user', '-o', 'name']);
    expect(leftInKubeSystem.trim()).toBe('');
  });

  it('the rendered objects round-trip: Service ports named https/metrics as the APIService and ServiceMonitor expect', async () => {
    const { objects } = await applyRendered('observability');
    const ns = namespaceFor('observability');
    const service = JSON.parse(await cluster.kubectl(['get', 'service', fullnameFor('observability'), '-n', ns, '-o', 'json'])) as {
      spec: { ports: Array<{ name: string; port: number }> };
    };
    expect(service.spec.ports.map((p) => [p.name, p.port])).toEqual([['https', 443], ['metrics', 9402]]);
    expect(one(objects, 'ServiceMonitor').metadata.namespace).toBe(ns);
    const monitor = JSON.parse(await cluster.kubectl(['get', 'servicemonitor', fullnameFor('observability'), '-n', ns, '-o', 'json'])) as {
      spec: { endpoints: Array<{ port: string }> };
    };
    expect(monitor.spec.endpoints[0]!.port).toBe('metrics');
  });
});
