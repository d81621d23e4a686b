/**
 * Issue 12 §2: the oldest Kubernetes the chart claims (Chart.yaml kubeVersion) is a tested one. On a real
 * kube-apiserver of that version (install/versions.env K8S_OLDEST_VERSION, built by
 * install/kube-apiserver-oldest.sh): every object of every values file is accepted by server-side apply, and the
 * chart installed as in aggregation.test.ts serves challenges through the aggregator. The newest version is
 * covered by the rest of the tier (test/chart/apply.test.ts, aggregation.test.ts on the default kube-apiserver).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { queryTxt } from '@dns01-webhook/core';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { chartDir, helm, parseManifests, renderChart, templateArgs, valuesFiles } from '../chart/helm.js';
import { binDir, startCluster, type Cluster } from './cluster/cluster.js';
import { installVersions } from './support/rollout.js';
import { httpsJson, installWebhook, REPO_ROOT } from './webhook.js';

const OLDEST = installVersions().K8S_OLDEST_VERSION!;
const GROUP = 'acme.compat-e2e.test';
const FQDN = '_acme-challenge.example.test.';

let cluster: Cluster;
let emulator: RunningDnspodEmulator;

beforeAll(async () => {
  cluster = await startCluster({ kubeApiserver: join(binDir(), `kube-apiserver-v${OLDEST}`) });
  emulator = await startDnspodEmulator({ host: cluster.host.hostIp, domains: ['example.test'] });
  const crds = await new Promise<string[]>((resolve, reject) =>
    execFile('bash', [join(REPO_ROOT, 'test/chart/crds/fetch.sh')], { timeout: 5 * 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim().split('\n')))),
  );
  for (const file of crds) await cluster.apply(readFileSync(file, 'utf8'));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/issuers.cert-manager.io', 'crd/certificates.cert-manager.io', 'crd/servicemonitors.monitoring.coreos.com']);
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  await cluster?.stop();
});

describe(`the chart on the oldest Kubernetes it claims`, () => {
  it(`runs kube-apiserver v${OLDEST}, the floor of Chart.yaml's kubeVersion; one minor lower is refused by the chart`, async () => {
    expect(cluster.versions.kubeApiserver).toBe(`Kubernetes v${OLDEST}`);
    const kubeVersion = (parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { kubeVersion: string }).kubeVersion;
    const [major, minor] = OLDEST.split('.');
    expect(kubeVersion).toBe(`>=${major}.${minor}.0-0`);
    const below = await helm(templateArgs({ valuesFile: 'defaults', kubeVersion: `${major}.${Number(minor) - 1}.0` }));
    expect(below.code).not.toBe(0);
    expect(below.stderr).toContain(`chart requires kubeVersion: ${kubeVersion}`);
  });

  it.each(valuesFiles())('%s.yaml: every rendered object is accepted by server-side apply', async (valuesFile) => {
    const namespace = `compat-${valuesFile}`;
    const text = await renderChart({ valuesFile, namespace, release: valuesFile, kubeVersion: OLDEST });
    const objects = parseManifests(text);
    const namespaces = new Set([namespace, 'cert-manager', 'monitoring', ...objects.map((o) => o.metadata.namespace).filter((n): n is string => !!n)]);
    await cluster.apply([...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
    const output = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=dns01-compat-test', '-f', '-'], { input: text });
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(objects.length);
    expect(lines.every((line) => line.endsWith(' serverside-applied')), output).toBe(true);
    // The rollout settings are stored as rendered (an older server drops fields it does not know).
    const name = objects.find((o) => o.kind === 'Deployment')!.metadata.name;
    const deployment = JSON.parse(await cluster.kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'json']));
    expect(deployment.spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(deployment.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds).toBeGreaterThan(0);
  });

  it('installed like aggregation.test.ts, the APIService becomes Available and a Present/CleanUp through kube-apiserver works', async () => {
    await cluster.ensureServiceAccount('cert-manager', 'cert-manager');
    await installWebhook(cluster, { groupName: GROUP, release: 'compat', namespace: 'compat-webhook', set: ['solvers.enabled={dnspod}'] });
    await cluster.apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dnspod-credentials', namespace: 'cert-manager' }, stringData: { secretKey: DEFAULT_SECRET_KEY } }]);
    const token = await cluster.createToken('cert-manager', 'cert-manager');
    const call = (action: 'Present' | 'CleanUp', key: string) =>
      httpsJson(`${cluster.server}/apis/${GROUP}/v1alpha1/dnspod`, {
        ca: cluster.caPem,
        token,
        body: {
          request: {
            uid: '', action, type: 'dns-01', dnsName: 'example.test', key, resourceNamespace: 'cert-manager', resolvedFQDN: FQDN, resolvedZone: 'example.test.',
            allowAmbientCredentials: false,
            config: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod-credentials', key: 'secretKey' }, endpoint: emulator.url },
          },
        },
      });
    const present = await call('Present', 'compat-key-0123456789');
    expect(present.status, present.text).toBe(201);
    expect(present.body.response).toMatchObject({ success: true });
    expect((await queryTxt(FQDN, { server: emulator.dns.address })).values).toContain('compat-key-0123456789');
    const cleanUp = await call('CleanUp', 'compat-key-0123456789');
    expect(cleanUp.body.response, cleanUp.text).toMatchObject({ success: true });
    expect((await queryTxt(FQDN, { server: emulator.dns.address })).values).not.toContain('compat-key-0123456789');
  });
});
