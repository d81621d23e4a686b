/**
 * `dns01-webhook doctor` against a real kube-apiserver with cert-manager's real CRDs, the webhook installed
 * from the chart (running in the test host), and real Knot/BIND servers as the rfc2136 provider: a healthy
 * ClusterIssuer passes every check, and each deliberately broken install — one per failure users hit — is
 * diagnosed with the right message and fix, exit code 1, and no Secret value anywhere in the output.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA } from '@dns01-webhook/core/testing';
import { startBind, startKnot, ZONE, type AuthoritativeServer } from '../rfc2136/servers.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { acmeClusterIssuer } from './support/cert-manager.js';
import { installWebhook, REPO_ROOT, type WebhookInstall } from './webhook.js';

const GROUP = 'acme.doctor.test';
const CM_NS = 'cert-manager';
const CLI = join(REPO_ROOT, 'packages/core/dist/cli/main.js');
const WRONG_TSIG = Buffer.alloc(32, 9).toString('base64');

let cluster: Cluster;
let webhook: WebhookInstall;
let knot: AuthoritativeServer;
/** Serves example.test and sub.example.test — a sub-zone Knot (the resolver here) does not delegate. */
let bind: AuthoritativeServer;
const secretValues: string[] = [WRONG_TSIG];

interface Check {
  id: string;
  verdict: 'pass' | 'fail' | 'skip';
  message: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  summary: { pass: number; fail: number; skip: number };
  problems: Check[];
  solvers: Array<{ issuer: { kind: string; name: string; namespace?: string }; solverName: string; groupName: string; checks: Check[] }>;
}

function doctor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'doctor', '--kubeconfig', cluster.kubeconfig, ...args], { timeout: 120_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      // Whatever the verdict, no Secret value may appear in what doctor prints.
      for (const v of secretValues) {
        expect(stdout).not.toContain(v);
        expect(stderr).not.toContain(v);
      }
      resolve({ code, stdout, stderr });
    });
  });
}

async function report(args: string[]): Promise<{ code: number; report: Report }> {
  const r = await doctor([...args, '--output', 'json']);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as Report };
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

const check = (r: Report, id: string) => {
  const found = r.solvers[0]?.checks.filter((c) => c.id === id) ?? [];
  if (found.length === 0) throw new Error(`no ${id} check in ${JSON.stringify(r, null, 2)}`);
  return found[0]!;
};

/** doctor only reads the issuers: no ACME server behind them. */
const clusterIssuer = (name: string, webhook: Parameters<typeof acmeClusterIssuer>[2]) => acmeClusterIssuer(name, { directoryUrl: 'https://acme.invalid/directory' }, webhook);

const rfc2136 = (server: AuthoritativeServer, secret = 'tsig-knot') => ({
  nameserver: server.address,
  tsigKeyName: server.keys['hmac-sha256'].name,
  tsigAlgorithm: 'HMACSHA256',
  tsigSecretSecretRef: { name: secret, key: 'tsig-secret' },
});

beforeAll(async () => {
  cluster = await startCluster();
  const at = cluster.host.hostIp;
  [knot, bind] = await Promise.all([startKnot({ host: at }), startBind({ host: at, extraZones: [`sub.${ZONE}`] })]);
  for (const s of [knot, bind]) secretValues.push(...Object.values(s.keys).map((k) => k.secret), s.readonlyKey.secret);
  // cert-manager's real CRDs (the Issuer kinds doctor reads).
  const crds = await new Promise<string>((resolve, reject) =>
    execFile('bash', [join(REPO_ROOT, 'test/chart/crds/fetch.sh')], { timeout: 5 * 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  for (const file of crds.trim().split('\n').filter((f) => /issuers\.yaml$/.test(f))) await cluster.apply(readFileSync(file, 'utf8'));
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/issuers.cert-manager.io', 'crd/clusterissuers.cert-manager.io']);
  await cluster.ensureServiceAccount(CM_NS, 'cert-manager');
  webhook = await installWebhook(cluster, { groupName: GROUP });

  const otherCa = await createCA('doctor-wrong-ca', { validDays: 1 });
  await cluster.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-knot', namespace: CM_NS }, stringData: { 'tsig-secret': knot.keys['hmac-sha256'].secret } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-bind', namespace: CM_NS }, stringData: { 'tsig-secret': bind.keys['hmac-sha256'].secret } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-wrong', namespace: CM_NS }, stringData: { 'tsig-secret': WRONG_TSIG } },
    // A ClusterIssuer's Secret created in the wrong namespace (the most common ClusterIssuer mistake).
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-misplaced', namespace: 'default' }, stringData: { 'tsig-secret': knot.keys['hmac-sha256'].secret } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-team', namespace: 'team-a' }, stringData: { 'tsig-secret': knot.keys['hmac-sha256'].secret } },
    clusterIssuer('healthy', { groupName: GROUP, solverName: 'rfc2136', config: rfc2136(knot) }),
    clusterIssuer('no-apiservice', { groupName: 'acme.typo.test', solverName: 'rfc2136', config: rfc2136(knot) }),
    clusterIssuer('bad-cabundle', { groupName: 'acme.badca.test', solverName: 'rfc2136', config: rfc2136(knot) }),
    clusterIssuer('not-served', { groupName: GROUP, solverName: 'rfc2316', config: rfc2136(knot) }),
    clusterIssuer('misplaced-secret', { groupName: GROUP, solverName: 'rfc2136', config: rfc2136(knot, 'tsig-misplaced') }),
    clusterIssuer('bad-config', { groupName: GROUP, solverName: 'rfc2136', config: { ...rfc2136(knot), tsigAlgorithm: 'HMACSHA999' } }),
    clusterIssuer('wrong-credentials', { groupName: GROUP, solverName: 'rfc2136', config: rfc2136(knot, 'tsig-wrong') }),
    clusterIssuer('other-zone', { groupName: GROUP, solverName: 'rfc2136', config: rfc2136(bind, 'tsig-bind') }),
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: 'team', namespace: 'team-a' },
      spec: { acme: { server: 'https://acme.invalid/directory', privateKeySecretRef: { name: 'team-account' }, solvers: [{ dns01: { webhook: { groupName: GROUP, solverName: 'rfc2136', config: rfc2136(knot, 'tsig-team') } } }] } },
    },
    // The webhook's Service, but a caBundle from a CA that did not sign its certificate.
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1alpha1.acme.badca.test' },
      spec: {
        group: 'acme.badca.test',
        version: 'v1alpha1',
        service: { namespace: webhook.namespace, name: webhook.serviceName, port: 443 },
        caBundle: Buffer.from(otherCa.certPem).toString('base64'),
        groupPriorityMinimum: 1000,
        versionPriority: 15,
      },
    },
  ]);
  // kube-aggregator needs a moment to run its availability check on the new APIService.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = JSON.parse(await cluster.kubectl(['get', 'apiservice', 'v1alpha1.acme.badca.test', '-o', 'json'])) as { status?: { conditions?: Array<{ type: string; status: string; reason?: string }> } };
    const available = out.status?.conditions?.find((c) => c.type === 'Available');
    if (available?.status === 'False' && available.reason === 'FailedDiscoveryCheck') break;
    if (Date.now() > deadline) throw new Error(`APIService v1alpha1.acme.badca.test never failed its discovery check: ${JSON.stringify(out.status)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}, 600_000);

afterAll(async () => {
  await Promise.all([knot?.stop(), bind?.stop()]);
  await cluster?.stop();
});

describe('dns01-webhook doctor against a real kube-apiserver', () => {
  it('a healthy install: every check passes, exit 0 (text and JSON)', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'healthy', '--domain', ZONE.replace(/\.$/, ''), '--nameserver', knot.address]);
    expect(code).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.solvers[0]!.checks.map((c) => [c.id, c.verdict])).toEqual([
      ['apiservice', 'pass'],
      ['discovery', 'pass'],
      ['cert-manager-rbac', 'pass'],
      ['secret-access', 'pass'],
      ['config', 'pass'],
      ['zone', 'pass'],
      ['provider', 'pass'],
    ]);
    expect(check(r, 'secret-access').message).toBe(`the webhook may get Secret ${CM_NS}/tsig-knot (config.tsigSecretSecretRef), and it has key "tsig-secret"`);
    expect(check(r, 'zone').message).toContain(`finds zone ${ZONE} for _acme-challenge.${ZONE}`);
    expect(check(r, 'provider').message).toContain(`signed with TSIG key "acme-hmac-sha256." (hmac-sha256) and verified`);
    const text = await doctor(['--cluster-issuer', 'healthy']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`ClusterIssuer healthy, solvers[0]: webhook rfc2136.${GROUP}`);
    expect(text.stdout).toMatch(/healthy: 5 passed, 0 failed, 2 skipped/);
  });

  it('APIService missing (groupName differs from the chart\'s): says so and how to install', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'no-apiservice']);
    expect(code).toBe(1);
    expect(check(r, 'apiservice')).toMatchObject({ verdict: 'fail', message: 'APIService v1alpha1.acme.typo.test does not exist' });
    expect(check(r, 'apiservice').fix).toContain('--set groupName=acme.typo.test');
    expect(check(r, 'discovery').verdict).toBe('skip');
  });

  it('APIService not Available (caBundle from the wrong CA): kube-apiserver\'s reason and the caBundle fix', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'bad-cabundle']);
    expect(code).toBe(1);
    const c = check(r, 'apiservice');
    expect(c.verdict).toBe('fail');
    expect(c.message).toMatch(/^APIService v1alpha1\.acme\.badca\.test is not Available: FailedDiscoveryCheck: /);
    expect(c.fix).toContain('caBundle must be the CA that signed it');
  });

  it('the solverName is not served by the webhook', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'not-served']);
    expect(code).toBe(1);
    expect(check(r, 'discovery')).toMatchObject({ verdict: 'fail', message: expect.stringMatching(/^the webhook serves .*"rfc2136".*, not "rfc2316"$/) });
    expect(check(r, 'config').verdict).toBe('skip');
  });

  it("cert-manager's ServiceAccount is forbidden to create the solver resource (the chart bound another one)", async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'healthy', '--cert-manager-service-account', 'cert-manager-controller']);
    expect(code).toBe(1);
    expect(check(r, 'cert-manager-rbac')).toMatchObject({
      verdict: 'fail',
      message: `cert-manager's ServiceAccount ${CM_NS}/cert-manager-controller may not create rfc2136.${GROUP}: cert-manager's calls will fail with 403 Forbidden`,
    });
    expect(check(r, 'cert-manager-rbac').fix).toContain('--set certManager.serviceAccountName=cert-manager-controller');
  });

  it("the webhook may not read the Secret: an Issuer in a namespace the chart's RBAC does not cover", async () => {
    const { code, report: r } = await report(['--issuer', 'team', '--namespace', 'team-a']);
    expect(code).toBe(1);
    const c = check(r, 'secret-access');
    expect(c.verdict).toBe('fail');
    expect(c.message).toBe(`the webhook (ServiceAccount ${webhook.namespace}/${webhook.serviceAccount}) may not get Secret team-a/tsig-team (config.tsigSecretSecretRef)`);
    expect(c.fix).toContain("--set 'secrets.namespaces={team-a}'");
  });

  it("a ClusterIssuer's Secret in the wrong namespace: not found, and where it is", async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'misplaced-secret']);
    expect(code).toBe(1);
    const c = check(r, 'secret-access');
    expect(c.message).toBe(`Secret ${CM_NS}/tsig-misplaced (config.tsigSecretSecretRef) does not exist (a Secret of that name exists in: default)`);
    expect(c.fix).toContain("a ClusterIssuer's Secrets live there");
  });

  it('a config that does not validate: names the field', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'bad-config']);
    expect(code).toBe(1);
    expect(check(r, 'config')).toMatchObject({ verdict: 'fail', message: expect.stringContaining('config.tsigAlgorithm: tsigAlgorithm "HMACSHA999" is not supported') });
  });

  it('wrong credentials: the provider call fails with the server\'s verdict (BADSIG), no secret printed', async () => {
    const { code, report: r } = await report(['--cluster-issuer', 'wrong-credentials', '--domain', 'example.test', '--nameserver', knot.address]);
    expect(code).toBe(1);
    expect(check(r, 'zone').verdict).toBe('pass');
    const c = check(r, 'provider');
    expect(c.verdict).toBe('fail');
    expect(c.message).toContain('(NOTAUTH/BADSIG): the secret in tsigSecretSecretRef does not match the server\'s key');
  });

  it("the zone cert-manager resolves is not the one the provider hosts", async () => {
    // Resolvers (Knot here) see sub.example.test inside example.test; the provider (BIND) hosts it as its own zone.
    const { code, report: r } = await report(['--cluster-issuer', 'other-zone', '--domain', `sub.${ZONE.replace(/\.$/, '')}`, '--nameserver', knot.address]);
    expect(code).toBe(1);
    expect(check(r, 'zone').message).toContain(`finds zone ${ZONE} for _acme-challenge.sub.${ZONE}`);
    const c = check(r, 'provider');
    expect(c.verdict).toBe('fail');
    expect(c.message).toBe(`the provider holds _acme-challenge.sub.${ZONE} in zone sub.${ZONE}, but cert-manager's SOA walk finds zone ${ZONE}: the TXT record would be written where resolvers do not look`);
  });

  it('without a name, every webhook Issuer is checked; unknown names and flags are clear', async () => {
    const all = await report([]);
    expect(all.code).toBe(1);
    expect(all.report.solvers.map((s) => `${s.issuer.kind}/${s.issuer.name}`).sort()).toEqual(
      ['bad-cabundle', 'bad-config', 'healthy', 'misplaced-secret', 'no-apiservice', 'not-served', 'other-zone', 'wrong-credentials'].map((n) => `ClusterIssuer/${n}`).concat(['Issuer/team']).sort(),
    );
    const missing = await report(['--cluster-issuer', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.report.problems).toEqual([{ id: 'issuer', verdict: 'fail', message: 'ClusterIssuer nope not found', fix: 'check the name: kubectl get clusterissuers' }]);
    const usage = await doctor(['--output', 'yaml']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--output must be text or json');
  });
});
