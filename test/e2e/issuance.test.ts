/**
 * Issuance against a real ACME server (issue 4, item 6). Pebble validates DNS-01 over real DNS against the
 * provider emulator's authoritative server (for rfc2136: real Knot DNS and BIND 9, updated with signed UPDATEs); acme-client plays cert-manager's ACME part; every TXT record is
 * written and removed by our webhook, reached the way cert-manager reaches it: a ChallengePayload POSTed to
 * kube-apiserver as cert-manager's ServiceAccount, proxied by the aggregator to the webhook (installed from
 * the chart, running in the network-namespace test host), which reads the provider credentials from a Secret
 * in resourceNamespace and calls the provider's API (the emulator) with the provider's SDK.
 *
 * The order is `example.test` + `*.example.test`: two authorizations, one FQDN
 * (`_acme-challenge.example.test.`), two TXT values that must both be served at once, and a CleanUp of each
 * that must not take the other with it.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { startCloudflareEmulator, type CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { DEFAULT_KEY, startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { startBind, startKnot, type AuthoritativeServer } from '../rfc2136/servers.js';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { completeChallenges, dnsSans, finalizeAndDownload, openOrder, trustAcmeServer, verifyChain, type DnsChallenge } from './support/acme-order.js';
import { overrideHosts, startTlsFront, type HostsOverride, type TlsFront } from './support/host-override.js';
import { startPebble, type RunningPebble } from './support/pebble.js';
import { httpsJson, installWebhook, type WebhookInstall } from './webhook.js';

/** The groupName imroc's DNSPod webhook users already have in their ClusterIssuers (the migration case). */
const GROUP = 'acme.imroc.cc';
const CERT_MANAGER_NS = 'cert-manager';
const CERT_MANAGER_SA = 'cert-manager';
const ZONE = 'example.test';
const DOMAINS = [ZONE, `*.${ZONE}`];
const FQDN = `_acme-challenge.${ZONE}.`;
/** The DNSPod solver's default API host: the verbatim config has no `endpoint`, so it goes here. */
const DNSPOD_API_HOST = 'dnspod.tencentcloudapi.com';
/** Cloudflare API tokens are 40 characters [A-Za-z0-9_-]. */
const CLOUDFLARE_TOKEN = 'e2e-issuance-token-'.padEnd(40, '0');

let cluster: Cluster;
let webhook: WebhookInstall;
let certManagerToken: string;
let dnspod: RunningDnspodEmulator;
let route53: RunningRoute53Emulator;
let cloudflare: CloudflareEmulator;
let knot: AuthoritativeServer;
let bind: AuthoritativeServer;
let hosts: HostsOverride | undefined;
let dnspodFront: TlsFront;
const timings: Record<string, number> = {};
let pebbleVersionSeen = '';

interface Case {
  name: string;
  solver: 'dnspod' | 'route53' | 'cloudflare' | 'rfc2136';
  /** `host:port` of the authoritative server the solver writes to and Pebble queries. */
  dns: () => string;
  config: () => Record<string, unknown>;
}

/** cert-manager's built-in rfc2136 block for a real Knot/BIND server, its TSIG secret in `secret`. */
const rfc2136Config = (server: AuthoritativeServer, secret: string) => ({
  nameserver: server.address,
  tsigKeyName: server.keys['hmac-sha256'].name,
  tsigAlgorithm: 'HMACSHA256',
  tsigSecretSecretRef: { name: secret, key: 'tsig-secret' },
});

const CASES: Case[] = [
  {
    name: 'dnspod',
    solver: 'dnspod',
    dns: () => dnspod.dns.address,
    config: () => ({ secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod-secret', key: 'secret-key' }, ttl: 600, endpoint: dnspod.url }),
  },
  {
    name: 'route53',
    solver: 'route53',
    dns: () => route53.dns.address,
    config: () => ({
      region: 'us-east-1',
      accessKeyID: DEFAULT_KEY.accessKeyId,
      secretAccessKeySecretRef: { name: 'route53-credentials', key: 'secret-access-key' },
      endpoint: route53.url,
    }),
  },
  {
    name: 'cloudflare',
    solver: 'cloudflare',
    dns: () => cloudflare.dns.address,
    config: () => ({ apiTokenSecretRef: { name: 'cloudflare-api-token', key: 'api-token' }, endpoint: cloudflare.url }),
  },
  { name: 'rfc2136 (Knot DNS)', solver: 'rfc2136', dns: () => knot.address, config: () => rfc2136Config(knot, 'tsig-knot') },
  { name: 'rfc2136 (BIND 9)', solver: 'rfc2136', dns: () => bind.address, config: () => rfc2136Config(bind, 'tsig-bind') },
];

/** The ClusterIssuer config an imroc user has today, byte for byte (no endpoint: the real API host). */
const VERBATIM_DNSPOD_CONFIG = JSON.parse(
  `{"secretId":"${DEFAULT_SECRET_ID}","secretKeyRef":{"name":"dnspod-secret","key":"secret-key"},"ttl":600}`,
) as Record<string, unknown>;

/** What cert-manager POSTs for one challenge (no apiVersion/kind, empty uid; ClusterIssuer → ambient allowed). */
function challengePayload(action: 'Present' | 'CleanUp', c: DnsChallenge, config: Record<string, unknown>) {
  return {
    request: {
      uid: '',
      action,
      type: 'dns-01',
      dnsName: c.dnsName,
      key: c.key,
      resourceNamespace: CERT_MANAGER_NS,
      resolvedFQDN: FQDN,
      resolvedZone: `${ZONE}.`,
      allowAmbientCredentials: true,
      config,
    },
  };
}

/** POST /apis/<group>/v1alpha1/<solver> on kube-apiserver as cert-manager; throws unless the solver succeeded. */
async function solve(solver: string, action: 'Present' | 'CleanUp', c: DnsChallenge, config: Record<string, unknown>): Promise<void> {
  const res = await httpsJson(`${cluster.server}/apis/${GROUP}/v1alpha1/${solver}`, {
    ca: cluster.caPem,
    token: certManagerToken,
    body: challengePayload(action, c, config),
  });
  if (res.status !== 201 || res.body?.response?.success !== true) {
    throw new Error(`${action} ${c.dnsName}${c.wildcard ? ' (wildcard)' : ''} via kube-apiserver: HTTP ${res.status} ${res.text}\n--- webhook log ---\n${webhook.process.logTail(15)}`);
  }
}

async function txtValues(dns: string): Promise<string[]> {
  return (await queryTxt(FQDN, { server: dns })).values;
}

/** The whole issuance for one solver config; returns what the assertions need. */
async function issue(solver: string, dns: string, config: Record<string, unknown>) {
  const t0 = Date.now();
  const pebble: RunningPebble = await startPebble({ dnsServer: dns });
  try {
    trustAcmeServer(pebble.tlsCaPem);
    const order = await openOrder(pebble.directoryUrl, DOMAINS);
    const keys = order.challenges.map((c) => c.key);

    for (const c of order.challenges) await solve(solver, 'Present', c, config);
    // cert-manager's own propagation check: the authoritative server answers both values at once.
    const presented = await txtValues(dns);
    await completeChallenges(order);
    const authzStatus = (await order.client.getAuthorizations(order.order)).map((a) => a.status);
    const cert = await finalizeAndDownload(order, DOMAINS);
    const root = new X509Certificate(await pebble.rootPem());

    // CleanUp one value at a time: the first must leave the other's value in place (apex + wildcard).
    const [first, second] = order.challenges as [DnsChallenge, DnsChallenge];
    await solve(solver, 'CleanUp', first, config);
    const afterFirstCleanUp = await txtValues(dns);
    await solve(solver, 'CleanUp', second, config);
    const afterCleanUp = await txtValues(dns);
    // A second CleanUp (cert-manager repeats it when unsure) is "already gone" → success.
    await solve(solver, 'CleanUp', order.challenges[0]!, config);
    return { order, keys, presented, authzStatus, cert, root, afterFirstCleanUp, afterCleanUp, pebble: pebble.version, ms: Date.now() - t0 };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- pebble log ---\n${pebble.process.logTail(20)}`);
  } finally {
    await pebble.stop();
  }
}

function expectIssued(r: Awaited<ReturnType<typeof issue>>): void {
  // Two authorizations (apex + wildcard), both for example.test, with different keys at one FQDN.
  expect(r.order.challenges.map((c) => [c.dnsName, c.wildcard]).sort()).toEqual([[ZONE, false], [ZONE, true]]);
  expect(new Set(r.keys).size).toBe(2);
  expect(r.presented.sort()).toEqual([...r.keys].sort());
  expect(r.authzStatus).toEqual(['valid', 'valid']);

  const [leaf, ...intermediates] = r.cert.chain;
  expect(leaf).toBeDefined();
  expect(intermediates.length).toBeGreaterThan(0);
  expect(dnsSans(leaf!).sort()).toEqual([...DOMAINS].sort());
  // The leaf certifies the key we generated for the CSR.
  const ours = createPublicKey(r.cert.keyPem).export({ format: 'jwk' });
  expect(leaf!.publicKey.export({ format: 'jwk' })).toEqual(ours);
  // Chains, signature by signature, to the root Pebble generated at this start.
  const path = verifyChain(r.cert.chain, r.root);
  expect(path.length).toBe(r.cert.chain.length + 1);
  expect(leaf!.checkIssued(r.root)).toBe(false); // not signed by the root directly: the intermediate matters

  // The first CleanUp removed exactly its own value; the second left nothing at the name.
  expect(r.afterFirstCleanUp).toEqual([r.order.challenges[1]!.key]);
  expect(r.afterCleanUp).toEqual([]);
}

beforeAll(async () => {
  const t0 = Date.now();
  cluster = await startCluster();
  // On the host side of the test host's veth: the webhook inside reaches the APIs there; Pebble (on the
  // host) queries their DNS there.
  const at = cluster.host.hostIp;
  [dnspod, route53, cloudflare, knot, bind] = await Promise.all([
    startDnspodEmulator({ host: at, domains: [ZONE] }),
    startRoute53Emulator({ host: at, zones: [ZONE], insyncAfterMs: 200 }),
    startCloudflareEmulator({ host: at, zones: [ZONE], tokens: { [CLOUDFLARE_TOKEN]: [ZONE] } }),
    // Real authoritative servers (rfc2136): the webhook sends them signed UPDATEs, Pebble queries them.
    startKnot({ host: at }),
    startBind({ host: at }),
  ]);
  // The verbatim DNSPod config calls https://dnspod.tencentcloudapi.com: inside the test host that name
  // resolves to a TLS front (certificate from a test CA the webhook trusts) in front of the same emulator.
  dnspodFront = await startTlsFront({ serverName: DNSPOD_API_HOST, listenHost: at, target: dnspod.url });
  hosts = overrideHosts(cluster.host.name, at, [DNSPOD_API_HOST]);
  const extraCa = join(cluster.dir, 'provider-api-ca.pem');
  writeFileSync(extraCa, dnspodFront.caPem);

  await cluster.ensureServiceAccount(CERT_MANAGER_NS, CERT_MANAGER_SA);
  webhook = await installWebhook(cluster, { groupName: GROUP, env: { NODE_EXTRA_CA_CERTS: extraCa } });
  await cluster.apply(JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dnspod-secret', namespace: CERT_MANAGER_NS }, stringData: { 'secret-key': DEFAULT_SECRET_KEY } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'route53-credentials', namespace: CERT_MANAGER_NS }, stringData: { 'secret-access-key': DEFAULT_KEY.secretAccessKey } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cloudflare-api-token', namespace: CERT_MANAGER_NS }, stringData: { 'api-token': CLOUDFLARE_TOKEN } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-knot', namespace: CERT_MANAGER_NS }, stringData: { 'tsig-secret': knot.keys['hmac-sha256'].secret } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tsig-bind', namespace: CERT_MANAGER_NS }, stringData: { 'tsig-secret': bind.keys['hmac-sha256'].secret } },
    ],
  }));
  certManagerToken = await cluster.createToken(CERT_MANAGER_NS, CERT_MANAGER_SA);
  timings.setup = Date.now() - t0;
}, 300_000);

afterAll(async () => {
  hosts?.remove();
  await dnspodFront?.close();
  await Promise.all([dnspod?.close(), route53?.close(), cloudflare?.close(), knot?.stop(), bind?.stop()]);
  await cluster?.stop();
  console.log(`[issuance] ${pebbleVersionSeen ? `pebble ${pebbleVersionSeen}, ` : ''}${cluster?.versions.kubeApiserver ?? ''}; timings (ms): ${JSON.stringify(timings)}`);
});

describe('wildcard + apex issuance from Pebble, TXT records through the webhook via kube-apiserver', () => {
  for (const c of CASES) {
    it(`${c.name}: example.test + *.example.test issued, chain to Pebble's root, no TXT left`, async () => {
      const r = await issue(c.solver, c.dns(), c.config());
      timings[c.name] = r.ms;
      pebbleVersionSeen = r.pebble;
      expectIssued(r);
    }, 90_000);
  }

  it('dnspod with an imroc ClusterIssuer config verbatim (groupName acme.imroc.cc, no endpoint)', async () => {
    const before = dnspodFront.forwardedHosts.length;
    const r = await issue('dnspod', dnspod.dns.address, VERBATIM_DNSPOD_CONFIG);
    timings['dnspod-verbatim'] = r.ms;
    expectIssued(r);
    // It really went to the default API host (through the TLS front), not to a configured endpoint.
    const forwarded = dnspodFront.forwardedHosts.slice(before);
    expect(forwarded.length).toBeGreaterThan(0);
    expect(new Set(forwarded)).toEqual(new Set([DNSPOD_API_HOST]));
  }, 90_000);

  it('Pebble validates each value: the apex passes, the wildcard whose value was never presented fails', async () => {
    const t0 = Date.now();
    const pebble = await startPebble({ dnsServer: dnspod.dns.address });
    try {
      trustAcmeServer(pebble.tlsCaPem);
      const order = await openOrder(pebble.directoryUrl, DOMAINS);
      const apex = order.challenges.find((c) => !c.wildcard)!;
      const wildcard = order.challenges.find((c) => c.wildcard)!;
      const config = CASES[0]!.config();
      await solve('dnspod', 'Present', apex, config);
      try {
        const outcome = async (c: DnsChallenge) => {
          await order.client.completeChallenge(c.challenge);
          return order.client.waitForValidStatus(c.challenge).then(() => 'valid', (err: Error) => `failed: ${err.message}`);
        };
        const [apexOutcome, wildcardOutcome] = await Promise.all([outcome(apex), outcome(wildcard)]);
        expect(apexOutcome).toBe('valid');
        expect(wildcardOutcome).toMatch(/^failed: /);
        const authz = (await order.client.getAuthorizations(order.order)).find((a) => a.url === wildcard.authz.url)!;
        expect(authz.status).toBe('invalid');
        const failed = authz.challenges.find((x) => x.type === 'dns-01') as { error?: { type?: string; detail?: string } };
        // Pebble's wording when the lookup worked but no TXT value matched (a failed lookup reads differently).
        expect(failed.error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'Correct value not found for DNS challenge' });
      } finally {
        await solve('dnspod', 'CleanUp', apex, config);
      }
      expect(await txtValues(dnspod.dns.address)).toEqual([]);
    } finally {
      await pebble.stop();
    }
    timings['negative'] = Date.now() - t0;
  }, 60_000);
});
