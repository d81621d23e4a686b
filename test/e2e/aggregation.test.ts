/**
 * Real aggregation (issue 4, item 4): kube-apiserver + etcd, the chart's objects applied server-side, the
 * webhook started as the chart's Deployment starts it (in a network-namespace test host behind an
 * Endpoints object), the DNSPod solver talking to the DNSPod emulator. cert-manager's part is played by
 * plain HTTPS requests with ServiceAccount tokens minted by TokenRequest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { createCA, issueCertificate } from '@dns01-webhook/core/testing';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { httpsJson, installWebhook, type WebhookInstall } from './webhook.js';

const GROUP = 'acme.dns01-e2e.test';
const CERT_MANAGER_NS = 'cert-manager';
const CERT_MANAGER_SA = 'cert-manager';
const CREDENTIALS_SECRET = 'dnspod-credentials';
const FQDN = '_acme-challenge.example.test.';

let cluster: Cluster;
let webhook: WebhookInstall;
let emulator: RunningDnspodEmulator;
let certManagerToken: string;

function payload(action: 'Present' | 'CleanUp', key: string, resourceNamespace = CERT_MANAGER_NS) {
  // As cert-manager sends it: no apiVersion/kind, empty uid.
  return {
    request: {
      uid: '',
      action,
      type: 'dns-01',
      dnsName: 'example.test',
      key,
      resourceNamespace,
      resolvedFQDN: FQDN,
      resolvedZone: 'example.test.',
      allowAmbientCredentials: false,
      config: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: CREDENTIALS_SECRET, key: 'secretKey' }, endpoint: emulator.url },
    },
  };
}

/** POST /apis/<group>/v1alpha1/dnspod through kube-apiserver, as cert-manager's controller does. */
function solve(body: unknown, token = certManagerToken) {
  return httpsJson(`${cluster.server}/apis/${GROUP}/v1alpha1/dnspod`, { ca: cluster.caPem, token, body });
}

async function txtValues(): Promise<string[]> {
  return (await queryTxt(FQDN, { server: emulator.dns.address })).values;
}

beforeAll(async () => {
  cluster = await startCluster();
  // On the host's veth address: the webhook inside the test host reaches it there.
  emulator = await startDnspodEmulator({ host: cluster.host.hostIp, domains: ['example.test'] });
  await cluster.ensureServiceAccount(CERT_MANAGER_NS, CERT_MANAGER_SA);
  webhook = await installWebhook(cluster, { groupName: GROUP, set: ['solvers.enabled={dnspod}'] });
  const secret = (namespace: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CREDENTIALS_SECRET, namespace },
    stringData: { secretKey: DEFAULT_SECRET_KEY },
  });
  await cluster.apply(JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other-team' } }, secret(CERT_MANAGER_NS), secret('other-team')],
  }));
  certManagerToken = await cluster.createToken(CERT_MANAGER_NS, CERT_MANAGER_SA);
}, 240_000);

afterAll(async () => {
  await emulator?.close();
  await cluster?.stop();
});

describe('kube-apiserver aggregation with the chart', () => {
  it('applies every chart object server-side and the APIService becomes Available', async () => {
    const kinds = webhook.objects.map((o) => o.kind);
    expect(kinds).toEqual(expect.arrayContaining(['APIService', 'Deployment', 'Service', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'RoleBinding']));
    expect(webhook.skipped).toEqual([]);
    const apiService = JSON.parse(await cluster.kubectl(['get', 'apiservice', `v1alpha1.${GROUP}`, '-o', 'json']));
    const available = apiService.status.conditions.find((c: { type: string }) => c.type === 'Available');
    expect(available).toMatchObject({ status: 'True' });
    // Discovery through the aggregator lists the solver.
    const resources = JSON.parse(await cluster.kubectl(['get', '--raw', `/apis/${GROUP}/v1alpha1`]));
    expect(resources.resources.map((r: { name: string }) => r.name)).toContain('dnspod');
  });

  it('Present through kube-apiserver as cert-manager succeeds and the TXT value is served; CleanUp removes it', async () => {
    const key = 'e2e-present-key-0123456789abcdef';
    const present = await solve(payload('Present', key));
    expect(present.status, present.text).toBe(201);
    expect(present.body.response).toMatchObject({ success: true });
    expect(await txtValues()).toContain(key);

    const cleanUp = await solve(payload('CleanUp', key));
    expect(cleanUp.status, cleanUp.text).toBe(201);
    expect(cleanUp.body.response).toMatchObject({ success: true });
    expect(await txtValues()).not.toContain(key);
  });

  it('kubectl create --raw -f payload.json (no Content-Type, chunked) runs Present and CleanUp, as solver READMEs tell users', async () => {
    const key = 'e2e-kubectl-raw-key-0123456789';
    const file = (action: 'Present' | 'CleanUp') => {
      const path = join(cluster.dir, `kubectl-raw-${action}.json`);
      writeFileSync(path, JSON.stringify(payload(action, key)));
      return path;
    };
    const raw = (action: 'Present' | 'CleanUp') => cluster.kubectl(['create', '--raw', `/apis/${GROUP}/v1alpha1/dnspod`, '-f', file(action)]);
    const present = JSON.parse(await raw('Present'));
    expect(present).toMatchObject({ kind: 'ChallengePayload', response: { success: true } });
    expect(await txtValues()).toContain(key);
    const cleanUp = JSON.parse(await raw('CleanUp'));
    expect(cleanUp.response).toMatchObject({ success: true });
    expect(await txtValues()).not.toContain(key);
  });

  it("kube-aggregator takes the webhook's OpenAPI v2 and v3 documents: no 'resource not found' requeues in kube-apiserver's log", async () => {
    const solverPath = `/apis/${GROUP}/v1alpha1/dnspod`;
    let merged = '';
    for (let i = 0; i < 60 && !merged.includes(solverPath); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1_000));
      merged = await cluster.kubectl(['get', '--raw', '/openapi/v2']);
    }
    expect(merged).toContain(solverPath);
    const root = JSON.parse(await cluster.kubectl(['get', '--raw', '/openapi/v3']));
    const url = root.paths[`apis/${GROUP}/v1alpha1`]?.serverRelativeURL as string;
    expect(url).toBeDefined();
    const v3 = JSON.parse(await cluster.kubectl(['get', '--raw', url]));
    expect(Object.keys(v3.paths)).toContain(solverPath);
    // kube-apiserver 1.37 logs a 404 on /openapi/v2 as an error with a rate-limited requeue, for ever.
    const log = readFileSync(cluster.logs.kubeApiserver, 'utf8');
    expect(log).not.toMatch(new RegExp(`v1alpha1\\.${GROUP.replace(/\./g, '\\.')}.*resource not found`));
  });

  it("kube-apiserver's proxy talks HTTP/2 to the webhook (ALPN h2): 40 concurrent calls ride its one connection", async () => {
    const metricsPort = webhook.objects.flatMap((o: any) => o.kind === 'Deployment' ? o.spec.template.spec.containers[0].ports : [])
      .find((p: { name: string }) => p.name === 'metrics').containerPort as number;
    const connections = async () => {
      const text = await (await fetch(`http://${cluster.host.ip}:${metricsPort}/metrics`)).text();
      const count = (protocol: string) => Number(new RegExp(`^dns01_webhook_tls_connections_total\\{protocol="${protocol}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { h2: count('h2'), http1: count('http/1.1') };
    };
    const before = await connections();
    // The aggregator already connected (availability checks, discovery, OpenAPI, the tests above): over h2.
    expect(before.h2).toBeGreaterThan(0);
    // The same challenge 40 times at once (the economy's singleflight keeps the provider calls down).
    const key = 'e2e-h2-key-0123456789abcdef';
    const answers = await Promise.all(Array.from({ length: 40 }, () => solve(payload('Present', key))));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(201));
    expect((await solve(payload('CleanUp', key))).status).toBe(201);
    const after = await connections();
    // HTTP/1.1 would have needed up to 40 connections; HTTP/2 multiplexes them (a reconnect may add one).
    expect(after.h2 - before.h2).toBeLessThanOrEqual(1);
    expect(after.http1).toBe(before.http1);
  });

  it('refuses a ServiceAccount without the domain-solver binding with 403', async () => {
    await cluster.ensureServiceAccount('intruder', 'not-cert-manager');
    const token = await cluster.createToken('intruder', 'not-cert-manager');
    const res = await solve(payload('Present', 'e2e-intruder-key'), token);
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(res.body.message).toContain('system:serviceaccount:intruder:not-cert-manager');
    expect(await txtValues()).not.toContain('e2e-intruder-key');
  });

  it('answers 401 to a request straight to the webhook without a front-proxy certificate, even with spoofed headers', async () => {
    const direct = (headers: Record<string, string> = {}) =>
      httpsJson(`${webhook.directUrl}/apis/${GROUP}/v1alpha1/dnspod`, {
        ca: webhook.servingCa.certPem,
        servername: webhook.serverName,
        body: payload('Present', 'e2e-direct-key'),
        headers,
      });
    const plain = await direct();
    expect(plain.status, plain.text).toBe(401);
    const spoofed = await direct({ 'X-Remote-User': `system:serviceaccount:${CERT_MANAGER_NS}:${CERT_MANAGER_SA}`, 'X-Remote-Group': 'system:masters' });
    expect(spoofed.status, spoofed.text).toBe(401);

    // A client certificate from a CA the webhook does not trust as front proxy is no better.
    const rogueCa = await createCA('rogue-front-proxy-ca', { validDays: 1 });
    const rogue = await issueCertificate(rogueCa, { commonName: cluster.frontProxyClientCn, usage: 'client', validDays: 1 });
    const withRogue = await httpsJson(`${webhook.directUrl}/apis/${GROUP}/v1alpha1/dnspod`, {
      ca: webhook.servingCa.certPem,
      servername: webhook.serverName,
      cert: rogue.certPem,
      key: rogue.keyPem,
      body: payload('Present', 'e2e-direct-key'),
      headers: { 'X-Remote-User': 'system:admin', 'X-Remote-Group': 'system:masters' },
    }).catch((err: Error) => ({ status: 0, text: err.message }));
    // Either the TLS handshake refuses the certificate or the server answers 401; never success.
    expect([0, 401]).toContain(withRogue.status);
    expect(await txtValues()).not.toContain('e2e-direct-key');
  });

  it('reads the Secret in resourceNamespace through the chart RBAC, and not one in another namespace', async () => {
    // Same Secret name and content, other namespace: the chart grants no read there.
    const res = await solve(payload('Present', 'e2e-other-namespace-key', 'other-team'));
    expect(res.status, res.text).toBe(201);
    expect(res.body.response.success).toBe(false);
    expect(res.body.response.status.message).toMatch(/forbidden/i);
    expect(res.body.response.status.message).toContain(CREDENTIALS_SECRET);
    expect(res.body.response.status.message).not.toContain(DEFAULT_SECRET_KEY);
    expect(await txtValues()).not.toContain('e2e-other-namespace-key');

    // The namespace the chart does grant: the same request succeeds (the Secret is read).
    const ok = await solve(payload('Present', 'e2e-own-namespace-key'));
    expect(ok.body.response, ok.text).toMatchObject({ success: true });
    expect(await txtValues()).toContain('e2e-own-namespace-key');
    await solve(payload('CleanUp', 'e2e-own-namespace-key'));
  });
});
