/**
 * Chart checks with the real helm: lint, schema strictness, rendered-manifest snapshots, and the fields that
 * make the webhook work (APIService, RBAC, args, security context).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  KUBE_VERSION,
  NAMESPACE,
  RELEASE,
  chartDir,
  ensureHelm,
  helm,
  one,
  parseManifests,
  renderChart,
  templateArgs,
  valuesFiles,
  valuesDir,
  type K8sObject,
} from './helm.js';

const fullname = `${RELEASE}-dns01-webhook`;

type Container = {
  args: string[];
  env?: Array<{ name: string; value?: string }>;
  ports: Array<{ name: string; containerPort: number }>;
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { scheme: string; path: string; port: string } };
  readinessProbe: { httpGet: { scheme: string; path: string; port: string } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
};
type PodSpec = {
  securityContext: Record<string, unknown>;
  serviceAccountName: string;
  containers: Container[];
  volumes: Array<{ name: string; secret?: { secretName: string } }>;
  affinity?: Record<string, unknown>;
  imagePullSecrets?: Array<{ name: string }>;
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

const podSpec = (objects: K8sObject[]) =>
  (one(objects, 'Deployment', fullname) as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const container = (objects: K8sObject[]) => podSpec(objects).containers[0]!;
const rules = (o: K8sObject) => (o as unknown as { rules: Rule[] }).rules;

async function render(valuesFile: string, extra: { set?: string[]; kubeVersion?: string } = {}) {
  return parseManifests(await renderChart({ valuesFile, ...extra }));
}

beforeAll(async () => {
  await ensureHelm();
});

/** `helm template` with only `set`, which must fail: helm's stderr. */
async function refused(set: string[]): Promise<string> {
  const result = await helm(['template', RELEASE, chartDir, '--kube-version', KUBE_VERSION, ...set.flatMap((s) => ['--set', s])]);
  expect(result.code).not.toBe(0);
  return result.stderr;
}

describe('helm lint --strict', () => {
  it.each(valuesFiles())('is clean with %s.yaml', async (name) => {
    const result = await helm(['lint', '--strict', chartDir, '-f', `${valuesDir}/${name}.yaml`, '--kube-version', KUBE_VERSION]);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.code).toBe(0);
  });
});

describe('values schema', () => {
  it('requires groupName', async () => {
    expect(await refused([])).toContain("at '/groupName'");
  });

  it('rejects an unknown top-level key', async () => {
    expect(await refused(['groupName=acme.example.com', 'replicas=3'])).toContain("additional properties 'replicas' not allowed");
  });

  it('rejects an unknown nested key (a typo in secrets.clusterwide)', async () => {
    expect(await refused(['groupName=acme.example.com', 'secrets.clusterwide=true'])).toContain("at '/secrets': additional properties 'clusterwide' not allowed");
  });

  it('rejects a solver that is not bundled', async () => {
    expect(await refused(['groupName=acme.example.com', 'solvers.enabled={gandi}'])).toContain("at '/solvers/enabled/0'");
  });

  it('refuses pki.enabled=false without a caBundle, with a message that says what to set', async () => {
    expect(await refused(['groupName=acme.example.com', 'pki.enabled=false', 'pki.existingSecret=serving'])).toContain('set apiService.caBundle');
  });

  it('refuses a caBundle next to the generated PKI (it could never match)', async () => {
    expect(await refused(['groupName=acme.example.com', 'apiService.caBundle=Zm9v'])).toContain('apiService.caBundle is set but pki.enabled is true');
  });

  it('refuses an empty solver list', async () => {
    expect(await refused(['groupName=acme.example.com', 'solvers.enabled=null'])).toContain('enable at least one solver');
  });
});

describe('rendered manifests', () => {
  it.each(valuesFiles())('match the snapshot for %s.yaml', async (name) => {
    const text = await renderChart({ valuesFile: name });
    parseManifests(text); // must be valid YAML before it is worth snapshotting
    await expect(text).toMatchFileSnapshot(`./__snapshots__/${name}.yaml`);
  });

  it('APIService points kube-apiserver at the Service, trusting the CA cainjector fills in', async () => {
    const objects = await render('defaults');
    const api = one(objects, 'APIService', 'v1alpha1.acme.example.com') as K8sObject & { spec: Record<string, unknown> };
    expect(api.apiVersion).toBe('apiregistration.k8s.io/v1');
    expect(api.spec).toEqual({
      group: 'acme.example.com',
      version: 'v1alpha1',
      groupPriorityMinimum: 1000,
      versionPriority: 15,
      service: { name: fullname, namespace: NAMESPACE, port: 443 },
    });
    expect(api.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${NAMESPACE}/${fullname}-tls` });
  });

  it('serving certificate covers <svc>, <svc>.<ns>, <svc>.<ns>.svc and is issued by the chart CA', async () => {
    const objects = await render('defaults');
    const ca = one(objects, 'Certificate', `${fullname}-ca`) as K8sObject & { spec: Record<string, unknown> };
    expect(ca.spec).toMatchObject({ isCA: true, issuerRef: { name: `${fullname}-selfsign`, kind: 'Issuer' } });
    expect(one(objects, 'Issuer', `${fullname}-selfsign`)).toMatchObject({ spec: { selfSigned: {} } });
    expect(one(objects, 'Issuer', `${fullname}-ca`)).toMatchObject({ spec: { ca: { secretName: `${fullname}-ca` } } });
    const serving = one(objects, 'Certificate', `${fullname}-tls`) as K8sObject & { spec: Record<string, unknown> };
    expect(serving.spec).toMatchObject({
      secretName: `${fullname}-tls`,
      issuerRef: { name: `${fullname}-ca`, kind: 'Issuer' },
      dnsNames: [fullname, `${fullname}.${NAMESPACE}`, `${fullname}.${NAMESPACE}.svc`],
    });
    expect(podSpec(objects).volumes).toContainEqual(
      expect.objectContaining({ name: 'tls', secret: expect.objectContaining({ secretName: `${fullname}-tls` }) }),
    );
  });

  it('caBundle without PKI: caBundle set, no cainjector annotation, no cert-manager objects, existing Secret mounted', async () => {
    const objects = await render('cabundle-no-pki');
    const api = one(objects, 'APIService') as K8sObject & { spec: { caBundle?: string } };
    expect(api.spec.caBundle).toMatch(/^LS0tLS1CRUdJTi/);
    expect(api.metadata.annotations).toBeUndefined();
    expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    expect(podSpec(objects).volumes).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: 'dns01-webhook-serving' }) }),
    );
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(podSpec(objects).imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
    expect(container(objects)).toMatchObject({
      image: `registry.example.com/platform/dns01-webhook@sha256:${'0123456789abcdef'.repeat(4)}`,
    });
  });

  it('container runs the server with the flags the CLI expects', async () => {
    const objects = await render('defaults');
    expect(container(objects).args).toEqual([
      '--group-name=acme.example.com',
      '--bind-address=0.0.0.0',
      '--secure-port=8443',
      '--tls-cert-file=/tls/tls.crt',
      '--tls-private-key-file=/tls/tls.key',
      '--solver-packages=@dns01-webhook/solver-dnspod,@dns01-webhook/solver-route53,@dns01-webhook/solver-cloudflare,@dns01-webhook/solver-rfc2136',
      '--metrics-port=9402',
      '--log-level=info',
      // Two replicas split every provider quota (docs/provider-economy.md).
      '--rate-limit-share=0.5',
      '--shutdown-grace=50',
    ]);
    const observability = container(await render('observability')).args;
    expect(observability).toContain(
      '--solver-packages=@dns01-webhook/solver-route53,@dns01-webhook/solver-cloudflare,@example/solver-gandi',
    );
    expect(observability).toContain('--log-level=debug');
    const clusterWide = container(await render('cluster-wide-secrets'));
    expect(clusterWide.args.at(-1)).toBe('--requestheader-allowed-names=front-proxy-client');
    expect(clusterWide.env).toEqual([
      { name: 'NODE_OPTIONS', value: '--max-old-space-size=128' },
      { name: 'NODE_EXTRA_CA_CERTS', value: '/etc/egress-proxy/ca.crt' },
    ]);
    expect(clusterWide.volumeMounts).toContainEqual({ name: 'egress-proxy-ca', mountPath: '/etc/egress-proxy', readOnly: true });
  });

  it("sizes Node's heap from resources.limits.memory (half of it); NODE_OPTIONS in extraEnv or no limit leaves Node's default", async () => {
    const env = async (set: string[]) => container(parseManifests(await renderChart({ set: ['groupName=acme.example.com', ...set] }))).env;
    expect(await env([])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=128' }]); // 256Mi
    expect(await env(['resources.limits.memory=1Gi'])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }]);
    expect(await env(['resources.limits.memory=0.5Gi'])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=256' }]);
    expect(await env(['resources.limits.memory=512M'])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=244' }]);
    expect(await env(['resources.limits.memory=300000000'])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=143' }]);
    expect(await env(['resources.limits=null'])).toBeUndefined();
    expect(await env(['extraEnv[0].name=NODE_OPTIONS', 'extraEnv[0].value=--max-old-space-size=300'])).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=300' }]);
  });

  it('rate limits: the replicas split each quota by default; rateLimit.share and .overrides become flags; a bad share is refused', async () => {
    const args = async (...set: string[]) => {
      const result = await helm(['template', RELEASE, chartDir, '--kube-version', KUBE_VERSION, '--set', 'groupName=acme.example.com', ...set.flatMap((s) => ['--set', s])]);
      expect(result.stderr).toBe('');
      return container(parseManifests(result.stdout)).args as string[];
    };
    expect(await args('replicaCount=3')).toContain('--rate-limit-share=0.3333');
    expect(await args('replicaCount=1')).toContain('--rate-limit-share=1');
    const custom = await args('rateLimit.share=0.25', 'rateLimit.overrides.route53=10/1s', 'rateLimit.overrides.cloudflare=off');
    expect(custom).toContain('--rate-limit-share=0.25');
    expect(custom).toContain('--rate-limit=cloudflare=off,route53=10/1s');
    expect(await refused(['groupName=acme.example.com', 'rateLimit.share=2'])).toContain('rateLimit');
  });

  it('pod and container are locked down; probes are HTTPS on the unprivileged https port', async () => {
    const objects = await render('defaults');
    const pod = podSpec(objects);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const c = container(objects);
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'https', containerPort: 8443 }));
    expect(c.livenessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/healthz', port: 'https' });
    expect(c.readinessProbe.httpGet).toEqual({ scheme: 'HTTPS', path: '/readyz', port: 'https' });
    expect(c.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/tls', readOnly: true });
    const service = one(objects, 'Service', fullname) as K8sObject & { spec: { ports: unknown[] } };
    expect(service.spec.ports).toContainEqual({ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' });
    expect(one(objects, 'Deployment', fullname)).toMatchObject({ spec: { replicas: 2 } });
  });

  it('RBAC: auth delegation, extension-apiserver-authentication reader, domain-solver for cert-manager', async () => {
    const objects = await render('defaults');
    const sa = { kind: 'ServiceAccount', name: fullname, namespace: NAMESPACE };
    expect(one(objects, 'ServiceAccount', fullname).metadata.namespace).toBe(NAMESPACE);
    expect(one(objects, 'RoleBinding', `${fullname}:webhook-authentication-reader`, 'kube-system')).toMatchObject({
      roleRef: { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [sa],
    });
    expect(one(objects, 'ClusterRoleBinding', `${fullname}:auth-delegator`)).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [sa],
    });
    expect(rules(one(objects, 'ClusterRole', `${fullname}:domain-solver`))).toEqual([
      { apiGroups: ['acme.example.com'], resources: ['*'], verbs: ['create'] },
    ]);
    expect(one(objects, 'ClusterRoleBinding', `${fullname}:domain-solver`)).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: `${fullname}:domain-solver` },
      subjects: [{ kind: 'ServiceAccount', name: 'cert-manager', namespace: 'cert-manager' }],
    });
  });

  it('Secrets: get only, only in cert-manager by default; per listed namespace; cluster-wide only when asked', async () => {
    const defaults = await render('defaults');
    const roles = defaults.filter((o) => o.kind === 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['cert-manager']);
    expect(rules(roles[0]!)).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    expect(defaults.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name)).toEqual([`${fullname}:domain-solver`]);

    const listed = await render('cabundle-no-pki');
    const listedRoles = listed.filter((o) => o.kind === 'Role');
    expect(listedRoles.map((r) => r.metadata.namespace)).toEqual(['cert-manager', 'team-a', 'team-b']);
    for (const role of listedRoles) {
      expect(rules(role)).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['dns-credentials'] }]);
    }
    expect(listed.filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace !== 'kube-system')).toHaveLength(3);

    const wide = await render('cluster-wide-secrets');
    expect(wide.filter((o) => o.kind === 'Role')).toEqual([]);
    expect(rules(one(wide, 'ClusterRole', `${fullname}:credential-reader`))).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['dnspod-secret', 'route53-credentials', 'cloudflare-api-token'] },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['route53-irsa'] },
    ]);
    expect(one(wide, 'ClusterRoleBinding', `${fullname}:credential-reader`)).toMatchObject({
      subjects: [{ kind: 'ServiceAccount', name: fullname, namespace: NAMESPACE }],
    });
  });

  it('imroc migration: APIService v1alpha1.acme.imroc.cc and a domain-solver rule for that group', async () => {
    const objects = await render('imroc-migration');
    expect(one(objects, 'APIService').metadata.name).toBe('v1alpha1.acme.imroc.cc');
    expect(rules(one(objects, 'ClusterRole', `${fullname}:domain-solver`))[0]!.apiGroups).toEqual(['acme.imroc.cc']);
    expect(container(objects).args).toContain('--group-name=acme.imroc.cc');
    expect(container(objects).args).toContain('--solver-packages=@dns01-webhook/solver-dnspod');
  });

  it('PodDisruptionBudget policy/v1; Kubernetes below the chart\'s kubeVersion (1.32) is refused, not rendered for', async () => {
    const current = one(await render('defaults'), 'PodDisruptionBudget', fullname);
    expect(current.apiVersion).toBe('policy/v1');
    expect(current).toMatchObject({ spec: { maxUnavailable: 1 } });
    expect(one(await render('defaults', { kubeVersion: '1.32.0' }), 'PodDisruptionBudget', fullname).apiVersion).toBe('policy/v1');
    const old = await helm(templateArgs({ valuesFile: 'defaults', kubeVersion: '1.31.9' }));
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('chart requires kubeVersion: >=1.32.0-0 which is incompatible with Kubernetes v1.31.9');
  });

  it('rollout settings: surge before removal, preStop sleep, drain flag and a grace period that covers both', async () => {
    const deployment = one(await render('defaults'), 'Deployment', fullname) as unknown as {
      spec: { strategy: unknown; template: { spec: PodSpec & { terminationGracePeriodSeconds: number } } };
    };
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = deployment.spec.template.spec;
    const c = pod.containers[0]! as Container & { lifecycle?: unknown };
    expect(c.lifecycle).toEqual({ preStop: { sleep: { seconds: 10 } } });
    expect(c.args).toContain('--shutdown-grace=50');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.terminationGracePeriodSeconds).toBe(10 + 50 + 5);

    const tuned = podSpec(await render('defaults', { set: ['preStopSleepSeconds=0', 'shutdownGraceSeconds=20'] })) as PodSpec & { terminationGracePeriodSeconds: number };
    expect((tuned.containers[0] as Container & { lifecycle?: unknown }).lifecycle).toBeUndefined();
    expect(tuned.terminationGracePeriodSeconds).toBe(25);
    expect(tuned.containers[0]!.args).toContain('--shutdown-grace=20');

    const tooShort = await helm(templateArgs({ valuesFile: 'defaults', set: ['terminationGracePeriodSeconds=30'] }));
    expect(tooShort.code).not.toBe(0);
    expect(tooShort.stderr).toContain('terminationGracePeriodSeconds=30 is shorter than preStopSleepSeconds + shutdownGraceSeconds + 5 = 65');
    const longer = podSpec(await render('defaults', { set: ['terminationGracePeriodSeconds=120'] })) as PodSpec & { terminationGracePeriodSeconds: number };
    expect(longer.terminationGracePeriodSeconds).toBe(120);
  });

  it('apiService.create=false renders everything but the APIService (a migration\'s first step)', async () => {
    const withIt = await render('imroc-migration');
    const without = await render('imroc-migration', { set: ['apiService.create=false'] });
    expect(without.filter((o) => o.kind === 'APIService')).toEqual([]);
    expect(without.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(withIt.filter((o) => o.kind !== 'APIService').map((o) => `${o.kind}/${o.metadata.name}`));
  });

  it('spreads replicas and adds anti-affinity on request', async () => {
    const defaults = podSpec(await render('defaults')) as PodSpec & { topologySpreadConstraints: unknown[] };
    expect(defaults.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'dns01-webhook', 'app.kubernetes.io/instance': RELEASE } },
      },
    ]);
    expect(defaults.affinity).toBeUndefined();
    const hard = podSpec(await render('cluster-wide-secrets')).affinity as { podAntiAffinity: Record<string, unknown> };
    expect(Object.keys(hard.podAntiAffinity)).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
    const soft = podSpec(await render('observability')).affinity as { podAntiAffinity: Record<string, unknown> };
    expect(Object.keys(soft.podAntiAffinity)).toEqual(['preferredDuringSchedulingIgnoredDuringExecution']);
  });

  it('NetworkPolicy and ServiceMonitor only when enabled; https open to any source, metrics from monitoring', async () => {
    const defaults = await render('defaults');
    expect(defaults.filter((o) => o.kind === 'NetworkPolicy' || o.kind === 'ServiceMonitor')).toEqual([]);
    const objects = await render('observability');
    const policy = one(objects, 'NetworkPolicy', fullname) as K8sObject & {
      spec: { policyTypes: string[]; ingress: Array<{ from?: unknown[]; ports: Array<{ port: string }> }> };
    };
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const https = policy.spec.ingress.find((r) => r.ports[0]!.port === 'https')!;
    expect(https.from).toBeUndefined();
    const metrics = policy.spec.ingress.find((r) => r.ports[0]!.port === 'metrics')!;
    expect(metrics.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    expect(one(objects, 'ServiceMonitor', fullname)).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      metadata: { labels: { release: 'prometheus' } },
      spec: { endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }] },
    });
  });
});
