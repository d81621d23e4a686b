/**
 * The solvers issued end to end through cert-manager's real controllers and Pebble
 * (test/e2e/cert-manager-issuance.test.ts). Adding a solver to that test is one entry in SOLVER_CASES: how to
 * start its DNS provider (whose authoritative DNS serves ZONE), the ClusterIssuer's webhook config and the
 * Secrets it names, and a wrong credential whose failure the Challenge must report.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startCloudflareEmulator } from '../../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator } from '../../emulators/dnspod/emulator.js';
import { DEFAULT_KEY, startRoute53Emulator } from '../../emulators/route53/emulator.js';
import { startBind, startKnot, type AuthoritativeServer, type StartOptions } from '../../rfc2136/servers.js';
import type { Cluster } from '../cluster/cluster.js';
import { overrideHosts, startTlsFront } from './host-override.js';

/** The zone every case issues `ZONE` + `*.ZONE` in. */
export const ZONE = 'example.test';

export interface ProviderEnv {
  cluster: Cluster;
  /** Address to listen on: the host side of the test host's veth (reachable by the webhook, Pebble and cert-manager). */
  at: string;
}

export interface Provider {
  /** Authoritative DNS for ZONE (`host:port`): Pebble validates there, cert-manager self-checks there. */
  dnsServer: string;
  /** The ClusterIssuer's `webhook.config`. */
  config: Record<string, unknown>;
  /** Secrets (name → key → value) the config names, created in cert-manager's cluster resource namespace. */
  secrets: Record<string, Record<string, string>>;
  /** The same config and Secrets with a credential the provider refuses. */
  wrongCredential: {
    config: Record<string, unknown>;
    secrets: Record<string, Record<string, string>>;
    /** The refused secret values: none of their bytes may show up in a Challenge's status. */
    secretValues: string[];
    /** What the Challenge's status.reason must name: the provider's own error. */
    providerError: RegExp;
  };
  /** Extra environment for the webhook process (e.g. NODE_EXTRA_CA_CERTS for a TLS front). */
  webhookEnv?: Record<string, string>;
  /** Checks after a successful issuance that the provider was reached the way the case means (optional). */
  afterIssuance?(): void;
  close(): Promise<void>;
}

export interface SolverCase {
  /** Test name; also used in object names. */
  name: string;
  /** The APIService group the webhook is installed with. */
  groupName: string;
  /** `solverName` in the ClusterIssuer. */
  solverName: string;
  start(env: ProviderEnv): Promise<Provider>;
}

/** The DNSPod solver's default API host: the verbatim imroc config has no `endpoint`, so it goes here. */
const DNSPOD_API_HOST = 'dnspod.tencentcloudapi.com';
/** Cloudflare API tokens are 40 characters [A-Za-z0-9_-]. */
const CLOUDFLARE_TOKEN = 'e2e-issuance-token-'.padEnd(40, '0');
const CLOUDFLARE_WRONG_TOKEN = 'e2e-revoked-token-'.padEnd(40, '1');

/** cert-manager's built-in rfc2136 block for a real Knot/BIND server, its TSIG secret in Secret `secret`. */
function rfc2136Case(name: string, start: (o: StartOptions) => Promise<AuthoritativeServer>): SolverCase {
  return {
    name,
    groupName: 'acme.example.com',
    solverName: 'rfc2136',
    async start({ at }) {
      const server = await start({ host: at });
      const key = server.keys['hmac-sha256'];
      const config = (secretName: string) => ({
        nameserver: server.address,
        tsigKeyName: key.name,
        tsigAlgorithm: 'HMACSHA256',
        tsigSecretSecretRef: { name: secretName, key: 'tsig-secret' },
      });
      // Same key name and algorithm, another secret: the server refuses the signature.
      const wrongSecret = Buffer.from('not-the-tsig-secret-of-this-key!').toString('base64');
      return {
        dnsServer: server.address,
        config: config(`tsig-${name}`),
        secrets: { [`tsig-${name}`]: { 'tsig-secret': key.secret } },
        wrongCredential: {
          config: config(`tsig-${name}-wrong`),
          secrets: { [`tsig-${name}-wrong`]: { 'tsig-secret': wrongSecret } },
          secretValues: [wrongSecret, key.secret],
          providerError: /BADSIG|NOTAUTH/,
        },
        close: () => server.stop(),
      };
    },
  };
}

export const SOLVER_CASES: SolverCase[] = [
  {
    // An imroc DNSPod webhook user's ClusterIssuer, byte for byte, under imroc's groupName.
    name: 'dnspod',
    groupName: 'acme.imroc.cc',
    solverName: 'dnspod',
    async start({ cluster, at }) {
      const dnspod = await startDnspodEmulator({ host: at, domains: [ZONE] });
      // The verbatim config calls https://dnspod.tencentcloudapi.com: inside the test host that name resolves
      // to a TLS front (certificate from a test CA the webhook trusts) in front of the emulator.
      const front = await startTlsFront({ serverName: DNSPOD_API_HOST, listenHost: at, target: dnspod.url });
      const hosts = overrideHosts(cluster.host.name, at, [DNSPOD_API_HOST]);
      const extraCa = join(cluster.dir, 'provider-api-ca.pem');
      writeFileSync(extraCa, front.caPem);
      const verbatim = (secretName: string) =>
        JSON.parse(`{"secretId":"${DEFAULT_SECRET_ID}","secretKeyRef":{"name":"${secretName}","key":"secret-key"},"ttl":600}`) as Record<string, unknown>;
      const wrongKey = 'not-the-dnspod-secret-key-0000000000';
      return {
        dnsServer: dnspod.dns.address,
        config: verbatim('dnspod-secret'),
        secrets: { 'dnspod-secret': { 'secret-key': DEFAULT_SECRET_KEY } },
        wrongCredential: {
          config: verbatim('dnspod-secret-wrong'),
          secrets: { 'dnspod-secret-wrong': { 'secret-key': wrongKey } },
          secretValues: [wrongKey],
          providerError: /AuthFailure\.SignatureFailure/,
        },
        webhookEnv: { NODE_EXTRA_CA_CERTS: extraCa },
        afterIssuance() {
          // It really went to the default API host (through the TLS front), not to a configured endpoint.
          if (front.forwardedHosts.length === 0 || new Set(front.forwardedHosts).size !== 1 || front.forwardedHosts[0] !== DNSPOD_API_HOST) {
            throw new Error(`DNSPod calls did not go to ${DNSPOD_API_HOST}: ${JSON.stringify(front.forwardedHosts.slice(0, 5))}`);
          }
        },
        async close() {
          hosts.remove();
          await front.close();
          await dnspod.close();
        },
      };
    },
  },
  {
    name: 'route53',
    groupName: 'acme.example.com',
    solverName: 'route53',
    async start({ at }) {
      const route53 = await startRoute53Emulator({ host: at, zones: [ZONE], insyncAfterMs: 200 });
      const config = (secretName: string) => ({
        region: 'us-east-1',
        accessKeyID: DEFAULT_KEY.accessKeyId,
        secretAccessKeySecretRef: { name: secretName, key: 'secret-access-key' },
        endpoint: route53.url,
      });
      const wrongKey = 'not/the/route53/secret/key/000000000000000';
      return {
        dnsServer: route53.dns.address,
        config: config('route53-credentials'),
        secrets: { 'route53-credentials': { 'secret-access-key': DEFAULT_KEY.secretAccessKey } },
        wrongCredential: {
          config: config('route53-credentials-wrong'),
          secrets: { 'route53-credentials-wrong': { 'secret-access-key': wrongKey } },
          secretValues: [wrongKey],
          providerError: /SignatureDoesNotMatch/,
        },
        close: () => route53.close(),
      };
    },
  },
  {
    name: 'cloudflare',
    groupName: 'acme.example.com',
    solverName: 'cloudflare',
    async start({ at }) {
      const cloudflare = await startCloudflareEmulator({ host: at, zones: [ZONE], tokens: { [CLOUDFLARE_TOKEN]: [ZONE] } });
      const config = (secretName: string) => ({ apiTokenSecretRef: { name: secretName, key: 'api-token' }, endpoint: cloudflare.url });
      return {
        dnsServer: cloudflare.dns.address,
        config: config('cloudflare-api-token'),
        secrets: { 'cloudflare-api-token': { 'api-token': CLOUDFLARE_TOKEN } },
        wrongCredential: {
          config: config('cloudflare-api-token-wrong'),
          secrets: { 'cloudflare-api-token-wrong': { 'api-token': CLOUDFLARE_WRONG_TOKEN } },
          secretValues: [CLOUDFLARE_WRONG_TOKEN],
          providerError: /\b(9109|10000|6003|Invalid API Token|Authentication error)\b/i,
        },
        close: () => cloudflare.close(),
      };
    },
  },
  // Real authoritative servers, updated with TSIG-signed UPDATEs (cert-manager's rfc2136 block, verbatim keys).
  rfc2136Case('rfc2136-knot', startKnot),
  rfc2136Case('rfc2136-bind', startBind),
];
