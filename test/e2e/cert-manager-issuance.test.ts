/**
 * Issuance the way users get it: cert-manager's real controllers (test/e2e/certmanager, run out of cluster by
 * support/cert-manager.ts) drive the ACME order against Pebble, call our webhook through kube-apiserver's
 * aggregation layer for every Present/CleanUp, and write the certificate Secret. Nothing in between is played by
 * the test: it only creates the ClusterIssuer and the Certificate, then checks the outcome.
 *
 * Each solver case (support/solver-cases.ts) gets its own stack, and the stacks run in parallel: cert-manager
 * schedules only one challenge per DNS name at a time, cluster-wide, and sleeps 60 s after each self-check,
 * so two Certificates for `example.test` in one cluster would wait for each other. A stack is:
 * etcd + kube-apiserver, the provider's emulator (its DNS authoritative for example.test), Pebble validating
 * against that DNS, cert-manager (controller + cainjector, DNS-01 self-checks against that DNS), and the chart
 * installed with its own PKI — issued by cert-manager, CA injected into the APIService by cainjector.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { waitUntil } from './cluster/processes.js';
import { dnsSans } from './support/acme-order.js';
import { acmeClusterIssuer, certificate, checkIssuedSecret, CERT_MANAGER_NAMESPACE, startCertManager, type CertManager } from './support/cert-manager.js';
import { startPebble, type RunningPebble } from './support/pebble.js';
import { SOLVER_CASES, ZONE, type Provider, type SolverCase } from './support/solver-cases.js';
import { installWebhook, type KubeObject, type WebhookInstall } from './webhook.js';

const DOMAINS = [ZONE, `*.${ZONE}`];
const FQDN = `_acme-challenge.${ZONE}.`;
/** The wrong-credential Certificate's name: another DNS name, so cert-manager schedules it next to the good one. */
const DENIED_NAME = `denied.${ZONE}`;
const READY_WITHIN_MS = 180_000;

interface Stack {
  c: SolverCase;
  cluster: Cluster;
  provider: Provider;
  pebble: RunningPebble;
  certManager: CertManager;
  webhook: WebhookInstall;
  setupMs: number;
}

const stacks = new Map<string, Stack>();
const setupErrors = new Map<string, Error>();
const timings: Record<string, number> = {};

function acmeIssuer(name: string, c: SolverCase, pebble: RunningPebble, config: Record<string, unknown>): KubeObject {
  return acmeClusterIssuer(name, pebble, { groupName: c.groupName, solverName: c.solverName, config });
}

function secrets(all: Record<string, Record<string, string>>): object[] {
  return Object.entries(all).map(([name, stringData]) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: CERT_MANAGER_NAMESPACE }, stringData }));
}

async function startStack(c: SolverCase): Promise<Stack> {
  const t0 = Date.now();
  const cluster = await startCluster();
  let provider: Provider | undefined;
  let pebble: RunningPebble | undefined;
  try {
    provider = await c.start({ cluster, at: cluster.host.hostIp });
    pebble = await startPebble({ dnsServer: provider.dnsServer });
    const certManager = await startCertManager(cluster, { dns01Nameservers: [provider.dnsServer] });
    const webhook = await installWebhook(cluster, { groupName: c.groupName, pki: 'cert-manager', env: provider.webhookEnv, availableTimeoutMs: 120_000 })
      .catch((err: Error) => { throw new Error(`${err.message}\n${certManager.logTail()}`); });
    await cluster.apply([
      ...secrets(provider.secrets),
      ...secrets(provider.wrongCredential.secrets),
      acmeIssuer(`pebble-${c.name}`, c, pebble, provider.config),
      acmeIssuer(`pebble-${c.name}-wrong-credential`, c, pebble, provider.wrongCredential.config),
    ]);
    return { c, cluster, provider, pebble, certManager, webhook, setupMs: Date.now() - t0 };
  } catch (err) {
    await pebble?.stop();
    await provider?.close();
    await cluster.stop();
    throw err;
  }
}

function stackFor(name: string): Stack {
  const s = stacks.get(name);
  if (!s) throw setupErrors.get(name) ?? new Error(`no stack for ${name}`);
  return s;
}

interface Condition { type: string; status: string; reason?: string; message?: string }

async function getJson<T>(cluster: Cluster, args: string[]): Promise<T> {
  return JSON.parse(await cluster.kubectl([...args, '-o', 'json'])) as T;
}

async function certificateReady(cluster: Cluster, namespace: string, name: string): Promise<Condition | undefined> {
  const cert = await getJson<{ status?: { conditions?: Condition[] } }>(cluster, ['get', 'certificate', name, '-n', namespace]);
  return cert.status?.conditions?.find((x) => x.type === 'Ready');
}

async function txtValues(s: Stack): Promise<string[]> {
  return (await queryTxt(FQDN, { server: s.provider.dnsServer })).values;
}

beforeAll(async () => {
  const started = await Promise.allSettled(SOLVER_CASES.map(startStack));
  started.forEach((r, i) => {
    const name = SOLVER_CASES[i]!.name;
    if (r.status === 'fulfilled') stacks.set(name, r.value);
    else setupErrors.set(name, r.reason as Error);
  });
  for (const s of stacks.values()) timings[`${s.c.name}-setup`] = s.setupMs;
}, 600_000);

afterAll(async () => {
  await Promise.all([...stacks.values()].map(async (s) => {
    await s.pebble.stop();
    await s.provider.close();
    await s.cluster.stop();
  }));
  const any = [...stacks.values()][0];
  console.log(`[cert-manager-issuance] ${any?.certManager.version ?? ''}, pebble ${any?.pebble.version ?? ''}; timings (ms): ${JSON.stringify(timings)}`);
});

describe.concurrent('cert-manager\'s real controllers issue through the webhook, one stack per solver', () => {
  for (const c of SOLVER_CASES) {
    it(`${c.name}: the chart's PKI is issued by cert-manager and cainjector puts its CA into the APIService`, async () => {
      const s = stackFor(c.name);
      const ns = s.webhook.namespace;
      // The rendered APIService carries no caBundle: the one kube-apiserver uses was written by cainjector.
      const rendered = s.webhook.objects.find((o) => o.kind === 'APIService')!;
      expect((rendered as unknown as { spec: { caBundle?: string } }).spec.caBundle).toBeUndefined();
      expect((rendered.metadata as { annotations?: Record<string, string> }).annotations?.['cert-manager.io/inject-ca-from']).toMatch(new RegExp(`^${ns}/`));
      const certs = await getJson<{ items: Array<{ metadata: { name: string }; spec: { isCA?: boolean; secretName: string }; status?: { conditions?: Condition[] } }> }>(s.cluster, ['get', 'certificates', '-n', ns]);
      expect(certs.items).toHaveLength(2);
      for (const cert of certs.items) expect(cert.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      // What kube-apiserver trusts is the CA that signed the serving certificate now: cainjector copies the serving
      // Secret's ca.crt into the APIService. The CA Certificate's own Secret may hold a newer CA: under load
      // cert-manager sometimes issues a fresh Certificate twice (its informer sees the Secret late), and an issuer's
      // new CA only signs the serving certificate at its next renewal. So compare with the serving Secret, and check
      // that CA is one the chart's CA Certificate made.
      const servingCert = certs.items.find((x) => !x.spec.isCA)!;
      const caName = certs.items.find((x) => x.spec.isCA)!.spec.secretName;
      let servingSecret: Record<string, string> = {};
      let bundle = '';
      await waitUntil('the APIService caBundle is the serving Secret\'s ca.crt', async () => {
        servingSecret = (await getJson<{ data: Record<string, string> }>(s.cluster, ['get', 'secret', servingCert.spec.secretName, '-n', ns])).data;
        const apiService = await getJson<{ spec: { caBundle?: string } }>(s.cluster, ['get', 'apiservice', rendered.metadata.name as string]);
        bundle = Buffer.from(apiService.spec.caBundle ?? '', 'base64').toString().trim();
        return bundle !== '' && bundle === Buffer.from(servingSecret['ca.crt'] ?? '', 'base64').toString().trim();
      }, { timeoutMs: 30_000 });
      const ca = new X509Certificate(bundle);
      expect(ca.ca).toBe(true);
      expect(ca.subject).toBe(`CN=ca.${caName.replace(/-ca$/, '')}.cert-manager`);
      const caSecretPem = Buffer.from((await getJson<{ data: Record<string, string> }>(s.cluster, ['get', 'secret', caName, '-n', ns])).data['tls.crt']!, 'base64').toString().trim();
      if (caSecretPem !== bundle) console.log(`[cert-manager-issuance] ${c.name}: cert-manager issued the CA more than once; the APIService follows the one that signed the serving certificate`);
      // The serving certificate the webhook presents was signed by that CA, for the name kube-apiserver dials.
      const serving = new X509Certificate(Buffer.from(servingSecret['tls.crt']!, 'base64'));
      expect(serving.verify(ca.publicKey)).toBe(true);
      expect(dnsSans(serving)).toContain(s.webhook.serverName);
    });

    it(`${c.name}: a Certificate for ${DOMAINS.join(' + ')} becomes Ready within ${READY_WITHIN_MS / 1000} s`, async () => {
      const s = stackFor(c.name);
      const ns = `user-${c.name}`;
      await s.cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
      const t0 = Date.now();
      await s.cluster.apply([certificate('example-test', ns, `pebble-${c.name}`, DOMAINS)]);
      let last: Condition | undefined;
      await waitUntil(`Certificate ${ns}/example-test Ready`, async () => (last = await certificateReady(s.cluster, ns, 'example-test'))?.status === 'True', {
        timeoutMs: READY_WITHIN_MS,
        intervalMs: 1000,
      }).catch(async (err: Error) => {
        const challenges = await s.cluster.kubectl(['get', 'challenges', '-A', '-o', 'wide']).catch(() => '');
        throw new Error(`${err.message}\nReady: ${JSON.stringify(last)}\n${challenges}\n${s.certManager.logTail(40)}\n--- webhook ---\n${s.webhook.process.logTail(10)}\n--- pebble ---\n${s.pebble.process.logTail(10)}`);
      });
      timings[c.name] = Date.now() - t0;
      console.log(`[cert-manager-issuance] ${c.name}: Certificate Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after creation`);

      // The Secret: exactly the two names, our key, a chain that ends at the root this Pebble generated.
      const secret = await getJson<{ data: Record<string, string> }>(s.cluster, ['get', 'secret', 'example-test-tls', '-n', ns]);
      checkIssuedSecret(secret.data, DOMAINS, await s.pebble.rootPem());

      // Both challenges were solved and cleaned up: no Challenge left, no TXT value left at the provider.
      await waitUntil('Challenges gone', async () => (await getJson<{ items: unknown[] }>(s.cluster, ['get', 'challenges', '-n', ns])).items.length === 0, { timeoutMs: 30_000 });
      await waitUntil(`no TXT at ${FQDN}`, async () => (await txtValues(s)).length === 0, { timeoutMs: 15_000 });
      s.provider.afterIssuance?.();
    }, READY_WITHIN_MS + 60_000);

    it(`${c.name}: with a wrong credential the Challenge's reason names the provider's error and no secret byte`, async () => {
      const s = stackFor(c.name);
      const ns = `user-${c.name}-denied`;
      await s.cluster.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
      await s.cluster.apply([certificate('denied', ns, `pebble-${c.name}-wrong-credential`, [DENIED_NAME])]);
      // Wait for at least two failed Presents (cert-manager's PresentError events), noting every reason seen.
      const reasons = new Set<string>();
      let presents = 0;
      await waitUntil('two failed Presents', async () => {
        const list = await getJson<{ items: Array<{ status?: { reason?: string } }> }>(s.cluster, ['get', 'challenges', '-n', ns]);
        const reason = list.items[0]?.status?.reason ?? '';
        if (reason) reasons.add(reason);
        const events = await getJson<{ items: Array<{ reason?: string; count?: number; series?: { count?: number } }> }>(s.cluster, ['get', 'events', '-n', ns, '--field-selector', 'reason=PresentError']);
        presents = events.items.reduce((n, e) => n + Math.max(e.count ?? 1, e.series?.count ?? 1), 0);
        return presents >= 2 && reasons.size > 0;
      }, { timeoutMs: 90_000, intervalMs: 1000 }).catch((err: Error) => {
        throw new Error(`${err.message} (PresentError events: ${presents}, reasons: ${JSON.stringify([...reasons])})\n${s.certManager.logTail(30)}`);
      });
      const reason = [...reasons][0]!;
      expect(reason).toMatch(s.provider.wrongCredential.providerError);
      expect(reason).toMatch(new RegExp(c.solverName, 'i'));
      for (const value of s.provider.wrongCredential.secretValues) {
        // No fragment of the secret either (8 bytes is far below any chance match in a message this size).
        for (let i = 0; i + 8 <= value.length; i++) expect(reason).not.toContain(value.slice(i, i + 8));
      }
      // Byte-identical across retries: cert-manager rewrites it on every failed Present.
      expect([...reasons]).toEqual([reason]);
      const ready = await certificateReady(s.cluster, ns, 'denied');
      expect(ready?.status).not.toBe('True');
      const challenge = await getJson<{ items: Array<{ status?: { presented?: boolean } }> }>(s.cluster, ['get', 'challenges', '-n', ns]);
      expect(challenge.items[0]?.status?.presented).not.toBe(true);
      console.log(`[cert-manager-issuance] ${c.name}: wrong credential → Challenge reason: ${reason}`);
    }, 120_000);
  }
});
