/**
 * The auth matrix through the real webhook server, wired as `serve` wires it: createKubeClient → the kube
 * API stub (TokenReview, SubjectAccessReview, the authentication ConfigMap, Secrets), createDelegatingAuth,
 * kubeSecrets. Every request goes over real TLS with certificates from CAs generated here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDelegatingAuth, type DelegatingAuth } from '../src/auth/delegating.js';
import { createKubeClient } from '../src/kube/client.js';
import { silentLogger } from '../src/observability/logger.js';
import { kubeSecrets } from '../src/secrets/kube.js';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { defineSolver } from '../src/solver/define.js';
import { SolverRegistry } from '../src/solver/registry.js';
import { secretSelector } from '../src/solver/schema.js';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';
import { createCA, issueCertificate, type KeyPairPem } from '../src/tls/certificates.js';
import { h2Call } from './fixtures/h2-client.js';
import { call, challengeBody, JSON_HEADERS, type CallOptions } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const GROUP = 'acme.example.com';
const SOLVER = 'secret-reader';
const SOLVER_PATH = `/apis/${GROUP}/v1alpha1/${SOLVER}`;
const RAW_SOLVER_PATH = `/apis/${GROUP}/v1alpha1/raw-reader`;
const CERT_MANAGER = 'system:serviceaccount:cert-manager:cert-manager';

/** What the test solvers read, in order (values are test data, not real secrets). */
const reads: string[] = [];

/** Reads the secret its (schema-checked) config names: the shape every real solver uses. */
const secretReader = defineSolver({
  name: SOLVER,
  config: z.strictObject({ apiTokenSecretRef: secretSelector }),
  async present(_request, ctx) {
    reads.push(await ctx.secrets.get(ctx.config.apiTokenSecretRef));
  },
  async cleanUp() {},
});

/** Passes its config to ctx.secrets unchecked, as a careless solver might (namespace field and all). */
const rawReader = defineSolver({
  name: 'raw-reader',
  config: z.any(),
  async present(_request, ctx) {
    reads.push(await ctx.secrets.get(ctx.config.ref));
  },
  async cleanUp() {},
});

let stub: KubeStub;
let auth: DelegatingAuth;
let server: WebhookServer;
let port: number;
let servingCA: KeyPairPem;
let clientCA: KeyPairPem;
let frontProxyCA: KeyPairPem;
let frontProxy: KeyPairPem;

function request(path: string, extra: Partial<CallOptions> & { client?: KeyPairPem } = {}) {
  const { client, ...rest } = extra;
  return call({
    port,
    ca: servingCA.certPem,
    path,
    ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    ...rest,
  });
}

const VALID_BODY = challengeBody({ resourceNamespace: 'issuers', config: { apiTokenSecretRef: { name: 'dnspod-creds', key: 'api-token' } } });

function present(extra: Partial<CallOptions> & { client?: KeyPairPem } = {}, body = VALID_BODY) {
  return request(SOLVER_PATH, { method: 'POST', body, ...extra, headers: { ...JSON_HEADERS, ...extra.headers } });
}

const proxied = (user: string, groups: string[] = ['system:authenticated'], cert?: KeyPairPem) => ({
  client: cert ?? frontProxy,
  // One X-Remote-Group header per group, as kube-apiserver sends them (node's client takes an array).
  headers: { 'X-Remote-User': user, 'X-Remote-Group': groups as unknown as string },
});

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  [servingCA, clientCA, frontProxyCA] = await Promise.all([createCA('serving-ca'), createCA('kubernetes-ca'), createCA('front-proxy-ca')]);
  frontProxy = await issueCertificate(frontProxyCA, { commonName: 'front-proxy-client', usage: 'client' });
  stub = await startKubeStub({
    tokens: { 'cert-manager-token': { username: CERT_MANAGER, groups: ['system:serviceaccounts', 'system:serviceaccounts:cert-manager'] } },
    authorize: [
      { user: CERT_MANAGER, verb: 'create', apiGroup: GROUP, resource: '*', allowed: true },
      { user: 'denied-user', allowed: false, reason: 'denied-user is not bound to domain-solver' },
      { group: 'system:authenticated', verb: 'get', path: '/apis*', allowed: true },
    ],
    configMaps: {
      'kube-system/extension-apiserver-authentication': authenticationConfigData({
        clientCaPem: clientCA.certPem,
        requestheaderCaPem: frontProxyCA.certPem,
        allowedNames: ['front-proxy-client'],
      }),
    },
    secrets: {
      issuers: { 'dnspod-creds': { 'api-token': 'token-of-issuers' } },
      victim: { 'dnspod-creds': { 'api-token': 'token-of-victim' } },
    },
    // The stub would let the webhook read both namespaces: confinement must come from the webhook itself.
    secretNamespaces: ['issuers', 'victim'],
  });
  const kube = createKubeClient({ kubeconfig: stub.kubeconfigPath });
  auth = createDelegatingAuth({ kube, log: silentLogger() });
  await auth.ready;
  const registry = new SolverRegistry();
  registry.register(secretReader);
  registry.register(rawReader);
  server = testWebhookServer({
    groupName: GROUP,
    registry,
    secretsFor: kubeSecrets(kube),
    auth: { authenticator: auth.authenticator, authorizer: auth.authorizer, clientCAs: auth.clientCAs, ready: auth.isReady },
    tls: await issueCertificate(servingCA, { commonName: 'localhost', dnsNames: ['localhost'], usage: 'server' }),
  });
  ({ port } = await server.listen());
});

afterAll(async () => {
  await server?.close(1000);
  auth?.close();
  await stub?.close();
});

describe('authentication', () => {
  it('no client certificate, no token → 401 Status', async () => {
    const res = await present();
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('certificate from a foreign CA with X-Remote-User → 401', async () => {
    const foreign = await issueCertificate(await createCA('foreign-ca'), { commonName: 'front-proxy-client', usage: 'client' });
    expect((await present(proxied(CERT_MANAGER, ['system:masters'], foreign))).status).toBe(401);
  });

  it('front-proxy CA certificate whose CN is not in requestheader-allowed-names → 401', async () => {
    const impostor = await issueCertificate(frontProxyCA, { commonName: 'someone-else', usage: 'client' });
    expect((await present(proxied(CERT_MANAGER, ['system:masters'], impostor))).status).toBe(401);
  });

  it('X-Remote-User without a front-proxy certificate → 401 (headers ignored)', async () => {
    expect((await present({ headers: { 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': 'system:masters' } })).status).toBe(401);
    // A client-CA certificate authenticates as itself; the headers still do not count.
    const jane = await issueCertificate(clientCA, { commonName: 'jane', usage: 'client' });
    const res = await present(proxied(CERT_MANAGER, ['system:masters'], jane));
    expect(res.status).toBe(403);
    expect(res.json.message).toContain('User "jane" cannot create resource');
  });

  it('certificate signed by the client CA → authenticated as its CN (groups from O)', async () => {
    const jane = await issueCertificate(clientCA, { commonName: 'jane', organizations: ['devs'], usage: 'client' });
    stub.clearRequests();
    const discovery = await request(`/apis/${GROUP}/v1alpha1`, { client: jane });
    expect(discovery.status).toBe(200);
    expect(stub.requestsOf('subjectaccessreview')[0]?.body.spec).toMatchObject({ user: 'jane', groups: ['devs', 'system:authenticated'] });
    const admin = await issueCertificate(clientCA, { commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' });
    stub.clearRequests();
    const res = await present({ client: admin });
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(stub.requestsOf('subjectaccessreview')).toEqual([]); // system:masters needs no SAR
  });

  it('bearer token via TokenReview → 201; invalid bearer → 401', async () => {
    const ok = await present({ headers: { Authorization: 'Bearer cert-manager-token' } });
    expect(ok.status).toBe(201);
    expect(ok.json.response.success).toBe(true);
    const bad = await present({ headers: { Authorization: 'Bearer forged-token' } });
    expect(bad.status).toBe(401);
    expect(bad.json.reason).toBe('Unauthorized');
  });
});

describe('authorization', () => {
  it('valid front proxy + SubjectAccessReview allow → 201', async () => {
    stub.clearRequests();
    const res = await present(proxied(CERT_MANAGER, ['system:serviceaccounts', 'system:authenticated']));
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(stub.requestsOf('subjectaccessreview')[0]?.body.spec).toEqual({
      user: CERT_MANAGER,
      groups: ['system:serviceaccounts', 'system:authenticated'],
      extra: {},
      resourceAttributes: { verb: 'create', group: GROUP, version: 'v1alpha1', resource: SOLVER },
    });
  });

  it('SubjectAccessReview deny → 403 Status with the reason', async () => {
    const res = await present(proxied('denied-user'));
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(res.json.message).toContain(`User "denied-user" cannot create resource "${SOLVER}" in API group "${GROUP}"`);
    expect(res.json.message).toContain('denied-user is not bound to domain-solver');
  });

  it('discovery GET is authorized as a non-resource request', async () => {
    stub.clearRequests();
    const res = await request(`/apis/${GROUP}/v1alpha1`, proxied('discovery-user'));
    expect(res.status).toBe(200);
    expect(res.json.kind).toBe('APIResourceList');
    expect(stub.requestsOf('subjectaccessreview').map((r) => r.body.spec.nonResourceAttributes)).toEqual([
      { path: `/apis/${GROUP}/v1alpha1`, verb: 'get' },
    ]);
  });

  it('health endpoints are open and never reach authn/authz', async () => {
    stub.clearRequests();
    for (const path of ['/healthz', '/livez', '/readyz']) expect((await request(path)).status).toBe(200);
    expect(stub.requests).toEqual([]);
  });
});

describe('caching', () => {
  it('SubjectAccessReview answers are cached (allow and deny)', async () => {
    await present(proxied('cache-user-deny'));
    await present(proxied(CERT_MANAGER, ['system:authenticated']));
    stub.clearRequests();
    expect((await present(proxied(CERT_MANAGER, ['system:authenticated']))).status).toBe(201);
    expect((await present(proxied(CERT_MANAGER, ['system:authenticated']))).status).toBe(201);
    expect((await present(proxied('cache-user-deny'))).status).toBe(403);
    expect(stub.requestsOf('subjectaccessreview')).toEqual([]);
  });

  it('TokenReview answers are cached (valid and invalid tokens)', async () => {
    await present({ headers: { Authorization: 'Bearer cert-manager-token' } });
    await present({ headers: { Authorization: 'Bearer another-forged-token' } });
    stub.clearRequests();
    expect((await present({ headers: { Authorization: 'Bearer cert-manager-token' } })).status).toBe(201);
    expect((await present({ headers: { Authorization: 'Bearer another-forged-token' } })).status).toBe(401);
    expect(stub.requestsOf('tokenreview')).toEqual([]);
  });
});

describe('secrets are confined to resourceNamespace', () => {
  it('reads the secret from the request namespace only', async () => {
    stub.clearRequests();
    reads.length = 0;
    const body = challengeBody({ resourceNamespace: 'issuers', config: { apiTokenSecretRef: { name: 'dnspod-creds', key: 'api-token' } } });
    const res = await present(proxied(CERT_MANAGER), body);
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(reads).toEqual(['token-of-issuers']);
    expect(stub.requestsOf('secret').map((r) => r.path)).toEqual(['/api/v1/namespaces/issuers/secrets/dnspod-creds']);
  });

  it('a selector naming another namespace is refused, by schema or by name rules', async () => {
    stub.clearRequests();
    reads.length = 0;
    const attempts = [
      { apiTokenSecretRef: { name: 'dnspod-creds', key: 'api-token', namespace: 'victim' } },
      { apiTokenSecretRef: { name: 'victim/dnspod-creds', key: 'api-token' } },
      { apiTokenSecretRef: { name: '../victim/secrets/dnspod-creds', key: 'api-token' } },
      { apiTokenSecretRef: { name: '..', key: 'api-token' } },
      { apiTokenSecretRef: { name: 'dnspod-creds', key: '../../victim/secrets/dnspod-creds' } },
    ];
    for (const config of attempts) {
      const res = await present(proxied(CERT_MANAGER), challengeBody({ resourceNamespace: 'issuers', config }));
      expect(res.status).toBe(201);
      expect(res.json.response.success).toBe(false);
      expect(res.json.response.status.message).toMatch(/invalid config|invalid secret name|invalid key/);
    }
    expect(reads).toEqual([]);
    expect(stub.requestsOf('secret')).toEqual([]);
  });

  it('a solver passing a namespace field through still reads only the request namespace', async () => {
    stub.clearRequests();
    reads.length = 0;
    const body = challengeBody({ resourceNamespace: 'issuers', config: { ref: { name: 'dnspod-creds', key: 'api-token', namespace: 'victim' } } });
    const res = await request(RAW_SOLVER_PATH, { method: 'POST', body, ...proxied(CERT_MANAGER), headers: { ...JSON_HEADERS, ...proxied(CERT_MANAGER).headers } });
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(reads).toEqual(['token-of-issuers']);
    expect(stub.requestsOf('secret').map((r) => r.path)).toEqual(['/api/v1/namespaces/issuers/secrets/dnspod-creds']);
  });

  it('a forbidden namespace yields an actionable message on the Challenge, no value', async () => {
    stub.setSecretNamespaces(['issuers']);
    try {
      const body = challengeBody({ resourceNamespace: 'victim', config: { apiTokenSecretRef: { name: 'dnspod-creds', key: 'api-token' } } });
      const res = await present(proxied(CERT_MANAGER), body);
      expect(res.json.response.success).toBe(false);
      expect(res.json.response.status.message).toContain(
        `the webhook's ServiceAccount may not read secret "dnspod-creds" in namespace "victim" (grant get on secrets in victim`,
      );
      expect(res.text).not.toContain('token-of-victim');
    } finally {
      stub.setSecretNamespaces(['issuers', 'victim']);
    }
  });
});

describe('the key cases over HTTP/2 (ALPN h2, as kube-apiserver\'s proxy connects)', () => {
  const presentH2 = (extra: { client?: KeyPairPem; headers?: Record<string, string | string[]> } = {}) =>
    h2Call({
      port,
      ca: servingCA.certPem,
      ...(extra.client ? { cert: extra.client.certPem, key: extra.client.keyPem } : {}),
      path: SOLVER_PATH,
      method: 'POST',
      headers: { ...JSON_HEADERS, ...extra.headers },
      body: VALID_BODY,
    });

  it('no client certificate → 401 Status; X-Remote-User without the front-proxy certificate → 401', async () => {
    const none = await presentH2();
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await presentH2({ headers: { 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': 'system:masters' } })).status).toBe(401);
  });

  it('certificate from a foreign CA with X-Remote-User → 401', async () => {
    const foreign = await issueCertificate(await createCA('foreign-ca-h2'), { commonName: 'front-proxy-client', usage: 'client' });
    expect((await presentH2({ client: foreign, headers: { 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': 'system:masters' } })).status).toBe(401);
  });

  it('front-proxy certificate + X-Remote headers → the asserted user; system:masters needs no SubjectAccessReview', async () => {
    stub.clearRequests();
    const res = await presentH2({ client: frontProxy, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: '', success: true });
    expect(stub.requestsOf('subjectaccessreview')).toEqual([]);
  });

  it('SAR-checked group: every X-Remote-Group field reaches the SubjectAccessReview; a denied user gets 403', async () => {
    stub.clearRequests();
    const res = await presentH2({ client: frontProxy, headers: { 'X-Remote-User': CERT_MANAGER, 'X-Remote-Group': ['system:serviceaccounts:cert-manager', 'h2-clients'] } });
    expect(res.status).toBe(201);
    expect(stub.requestsOf('subjectaccessreview')[0]?.body.spec).toMatchObject({
      user: CERT_MANAGER,
      groups: ['system:serviceaccounts:cert-manager', 'h2-clients', 'system:authenticated'],
      resourceAttributes: { verb: 'create', group: GROUP, version: 'v1alpha1', resource: SOLVER },
    });
    const denied = await presentH2({ client: frontProxy, headers: { 'X-Remote-User': 'denied-user' } });
    expect(denied.status).toBe(403);
    expect(denied.json.message).toContain('denied-user is not bound to domain-solver');
  });
});

describe('CA rotation through the ConfigMap', () => {
  it('accepts the new front-proxy CA and rejects the old one without a restart', async () => {
    const nextCA = await createCA('front-proxy-ca-rotated');
    const nextProxy = await issueCertificate(nextCA, { commonName: 'front-proxy-client', usage: 'client' });
    expect((await present(proxied(CERT_MANAGER, ['system:authenticated'], nextProxy))).status).toBe(401);
    let changed = false;
    const unsubscribe = auth.clientCAs.onChange(() => (changed = true));
    stub.setAuthenticationConfig(
      authenticationConfigData({ clientCaPem: clientCA.certPem, requestheaderCaPem: nextCA.certPem, allowedNames: ['front-proxy-client'] }),
    );
    await until(() => changed, 'client CA change');
    unsubscribe();
    expect((await present(proxied(CERT_MANAGER, ['system:authenticated'], nextProxy))).status).toBe(201);
    expect((await present(proxied(CERT_MANAGER, ['system:authenticated'], frontProxy))).status).toBe(401);
  });
});
