/**
 * createDelegatingAuth over real TLS: a small HTTPS server in the test authenticates each request with the
 * delegating authenticator (client certificates from CAs generated here, headers, bearer tokens) and the
 * kube API stub answers TokenReview / SubjectAccessReview / the authentication ConfigMap.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelegatingAuth, type DelegatingAuth } from '../src/auth/delegating.js';
import type { AuthorizationAttributes, UserInfo } from '../src/auth/types.js';
import { createKubeClient } from '../src/kube/client.js';
import { createLogger, silentLogger } from '../src/observability/logger.js';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';
import { createCA, issueCertificate, type KeyPairPem } from '../src/tls/certificates.js';
import { authPki } from './fixtures/auth-pki.js';

const log = silentLogger();
/** Log lines of the main fixture's auth, to wait for events that change nothing observable. */
const logLines: string[] = [];
const capturingLog = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });

/** An intermediate CA signed by `root` (createCA only makes roots). */
async function intermediateCA(root: KeyPairPem, commonName: string): Promise<KeyPairPem> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const rootCert = new x509.X509Certificate(root.certPem);
  const rootKey = await webcrypto.subtle.importKey(
    'pkcs8',
    createPrivateKey(root.keyPem).export({ format: 'der', type: 'pkcs8' }),
    alg,
    false,
    ['sign'],
  );
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [commonName] }],
      issuer: rootCert.subjectName,
      publicKey: keys.publicKey,
      signingKey: rootKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        await x509.AuthorityKeyIdentifierExtension.create(rootCert.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  const keyDer = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: `${cert.toString('pem')}\n`, keyPem: `${x509.PemConverter.encode(keyDer, 'PRIVATE KEY')}\n` };
}

interface Answer {
  status: number;
  user?: UserInfo;
  /** The server saw a resumed TLS session. */
  resumed: boolean;
}

interface Client {
  cert?: KeyPairPem;
  headers?: Record<string, string | string[]>;
  agent?: Agent;
}

describe('createDelegatingAuth over HTTPS', () => {
  let stub: KubeStub;
  let auth: DelegatingAuth;
  let server: Server;
  let url: string;
  let serverCA: KeyPairPem;
  let frontProxyCA: KeyPairPem;
  let clientCA: KeyPairPem;
  let foreignCA: KeyPairPem;
  let frontProxy: KeyPairPem;
  const changes: number[] = [];

  /** GET through a fresh TLS connection (no session reuse) unless an agent is given. */
  function call(client: Client = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          ca: serverCA.certPem,
          ...(client.cert ? { cert: client.cert.certPem, key: client.cert.keyPem } : {}),
          headers: client.headers ?? {},
          agent: client.agent ?? false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, resumed: res.headers['x-session-reused'] === 'true', ...(res.statusCode === 200 ? { user: JSON.parse(text) as UserInfo } : {}) });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    ({ serverCA, frontProxyCA, clientCA, foreignCA, frontProxy } = await authPki());
    stub = await startKubeStub({
      tokens: { 'good-token': { username: 'system:serviceaccount:cert-manager:cert-manager', uid: 'sa-uid', groups: ['system:serviceaccounts'] } },
      configMaps: {
        'kube-system/extension-apiserver-authentication': authenticationConfigData({
          clientCaPem: clientCA.certPem,
          requestheaderCaPem: frontProxyCA.certPem,
          allowedNames: ['front-proxy-client'],
        }),
      },
    });
    auth = createDelegatingAuth({ kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }), log: capturingLog, cacheTtlMs: 1500 });
    auth.clientCAs.onChange(() => changes.push(Date.now()));
    await auth.ready;
    const serving = await issueCertificate(serverCA, { commonName: 'webhook', ipAddresses: ['127.0.0.1'], usage: 'server' });
    server = createServer(
      { key: serving.keyPem, cert: serving.certPem, requestCert: true, rejectUnauthorized: false, ca: auth.clientCAs.caBundle() },
      (req, res) => {
        auth.authenticator.authenticate(req).then(
          (user) => {
            const resumed = String((req.socket as TLSSocket).isSessionReused());
            res.writeHead(user ? 200 : 401, { 'Content-Type': 'application/json', 'X-Session-Reused': resumed });
            res.end(JSON.stringify(user ?? { message: 'Unauthorized' }));
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
      },
    );
    auth.clientCAs.onChange(() => server.setSecureContext({ key: serving.keyPem, cert: serving.certPem, ca: auth.clientCAs.caBundle() }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/apis/acme.example.com/v1alpha1`;
  });

  afterAll(async () => {
    auth?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await stub?.close();
  });

  it('advertises both CAs to the TLS layer', () => {
    expect(auth.clientCAs.caBundle()).toBe(clientCA.certPem + frontProxyCA.certPem);
    expect(auth.isReady()).toBe(true);
  });

  it('front proxy: trusted certificate makes X-Remote-* headers the identity', async () => {
    const answer = await call({
      cert: frontProxy,
      headers: {
        'X-Remote-User': 'system:serviceaccount:cert-manager:cert-manager',
        'X-Remote-Group': ['system:serviceaccounts', 'system:serviceaccounts:cert-manager', 'a,b'],
        'X-Remote-Extra-Authentication.Kubernetes.Io%2fPod-Name': ['cert-manager-abc', 'second'],
        'X-Remote-Extra-Scopes': 'x',
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.user).toEqual({
      username: 'system:serviceaccount:cert-manager:cert-manager',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:cert-manager', 'a,b', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/pod-name': ['cert-manager-abc', 'second'], scopes: ['x'] },
    });
  });

  it('front proxy without a username header is not authenticated', async () => {
    expect((await call({ cert: frontProxy, headers: { 'X-Remote-Group': 'system:masters' } })).status).toBe(401);
  });

  it('front-proxy CA certificate with a CN outside allowed names: headers not trusted', async () => {
    const other = await issueCertificate(frontProxyCA, { commonName: 'not-the-proxy', usage: 'client' });
    expect((await call({ cert: other, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } })).status).toBe(401);
  });

  it('front-proxy CA certificate without clientAuth usage, or expired: rejected', async () => {
    const serverOnly = await issueCertificate(frontProxyCA, { commonName: 'front-proxy-client', usage: 'server' });
    expect((await call({ cert: serverOnly, headers: { 'X-Remote-User': 'admin' } })).status).toBe(401);
    const expired = await issueCertificate(frontProxyCA, {
      commonName: 'front-proxy-client',
      usage: 'client',
      notBefore: new Date(Date.now() - 3 * 86_400_000),
      validDays: 1,
    });
    expect((await call({ cert: expired, headers: { 'X-Remote-User': 'admin' } })).status).toBe(401);
  });

  it('X-Remote-User without any certificate, or with a foreign or client-CA certificate, is ignored', async () => {
    const headers = { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' };
    expect((await call({ headers })).status).toBe(401);
    const foreign = await issueCertificate(foreignCA, { commonName: 'front-proxy-client', usage: 'client' });
    expect((await call({ cert: foreign, headers })).status).toBe(401);
    const user = await issueCertificate(clientCA, { commonName: 'jane', organizations: ['devs'], usage: 'client' });
    const answer = await call({ cert: user, headers });
    expect(answer.user).toEqual({ username: 'jane', groups: ['devs', 'system:authenticated'], extra: {} });
  });

  it('client CA certificate: user = CN, groups = O values', async () => {
    const admin = await issueCertificate(clientCA, { commonName: 'kubernetes-admin', organizations: ['system:masters', 'ops'], usage: 'client' });
    expect((await call({ cert: admin })).user).toEqual({
      username: 'kubernetes-admin',
      groups: ['system:masters', 'ops', 'system:authenticated'],
      extra: {},
    });
  });

  it('follows intermediates the client sends; without them the chain does not verify', async () => {
    const intermediate = await intermediateCA(frontProxyCA, 'front-proxy-intermediate');
    const leaf = await issueCertificate(intermediate, { commonName: 'front-proxy-client', usage: 'client' });
    const withChain = { certPem: leaf.certPem + intermediate.certPem, keyPem: leaf.keyPem };
    expect((await call({ cert: withChain, headers: { 'X-Remote-User': 'via-intermediate' } })).user?.username).toBe('via-intermediate');
    expect((await call({ cert: leaf, headers: { 'X-Remote-User': 'via-intermediate' } })).status).toBe(401);
  });

  it('still authenticates a client certificate on a resumed TLS session', async () => {
    const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
    const admin = await issueCertificate(clientCA, { commonName: 'resumer', usage: 'client' });
    try {
      const first = await call({ cert: admin, agent });
      expect(first.user?.username).toBe('resumer');
      expect(first.resumed).toBe(false);
      const second = await call({ cert: admin, agent });
      expect(second.resumed).toBe(true);
      expect(second.user?.username).toBe('resumer');
    } finally {
      agent.destroy();
    }
  });

  it('bearer token → TokenReview, both outcomes cached for the TTL', async () => {
    stub.clearRequests();
    const good = { Authorization: 'Bearer good-token' };
    const bad = { Authorization: 'Bearer bad-token' };
    const first = await call({ headers: good });
    expect(first.user).toEqual({
      username: 'system:serviceaccount:cert-manager:cert-manager',
      uid: 'sa-uid',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      extra: {},
    });
    expect((await call({ headers: good })).status).toBe(200);
    expect((await call({ headers: bad })).status).toBe(401);
    expect((await call({ headers: bad })).status).toBe(401);
    const reviews = stub.requestsOf('tokenreview');
    expect(reviews.map((r) => r.body.spec.token)).toEqual(['good-token', 'bad-token']);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await call({ headers: good })).status).toBe(200);
    expect(stub.requestsOf('tokenreview')).toHaveLength(3);
    // Not a bearer scheme / empty token: never sent to TokenReview.
    expect((await call({ headers: { Authorization: 'Basic Zm9vOmJhcg==' } })).status).toBe(401);
    expect((await call({ headers: { Authorization: 'Bearer ' } })).status).toBe(401);
    expect(stub.requestsOf('tokenreview')).toHaveLength(3);
  });

  it('concurrent requests with one new token share a single TokenReview', async () => {
    stub.setToken('burst-token', { username: 'burst' });
    stub.clearRequests();
    const answers = await Promise.all(Array.from({ length: 5 }, () => call({ headers: { Authorization: 'Bearer burst-token' } })));
    expect(answers.map((a) => a.user?.username)).toEqual(Array(5).fill('burst'));
    expect(stub.requestsOf('tokenreview')).toHaveLength(1);
  });

  it('CA rotation through the ConfigMap: new front-proxy CA accepted, old one rejected', async () => {
    const newCA = await createCA('front-proxy-ca-2');
    const newProxy = await issueCertificate(newCA, { commonName: 'front-proxy-client', usage: 'client' });
    const headers = { 'X-Remote-User': 'rotated' };
    const before = changes.length;
    expect((await call({ cert: newProxy, headers })).status).toBe(401);
    stub.setAuthenticationConfig(
      authenticationConfigData({ clientCaPem: clientCA.certPem, requestheaderCaPem: newCA.certPem, allowedNames: ['front-proxy-client'] }),
    );
    const end = Date.now() + 5000;
    while (changes.length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(changes.length).toBe(before + 1);
    expect(auth.clientCAs.caBundle()).toContain(newCA.certPem.trim());
    expect(auth.clientCAs.caBundle()).not.toContain(frontProxyCA.certPem.trim());
    expect((await call({ cert: newProxy, headers })).user?.username).toBe('rotated');
    expect((await call({ cert: frontProxy, headers })).status).toBe(401);

    // A broken update is ignored: the last good configuration stays in force.
    stub.setAuthenticationConfig({ 'requestheader-client-ca-file': newCA.certPem, 'requestheader-allowed-names': 'not json' });
    const ignored = () => logLines.some((l) => l.includes('invalid authentication ConfigMap ignored') && l.includes('requestheader-allowed-names'));
    const until = Date.now() + 5000;
    while (!ignored() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(ignored()).toBe(true);
    expect(changes.length).toBe(before + 1);
    expect((await call({ cert: newProxy, headers })).user?.username).toBe('rotated');
  });

  describe('authorizer', () => {
    const create: AuthorizationAttributes = { kind: 'resource', verb: 'create', group: 'acme.example.com', version: 'v1alpha1', resource: 'hetzner' };
    const discovery: AuthorizationAttributes = { kind: 'nonResource', verb: 'get', path: '/apis/acme.example.com/v1alpha1' };
    const certManager: UserInfo = { username: 'system:serviceaccount:cert-manager:cert-manager', groups: ['system:authenticated'], extra: {} };

    it('SubjectAccessReview allow and deny, each cached; a new attribute set asks again', async () => {
      stub.setAuthorize([
        { user: certManager.username, verb: 'create', apiGroup: 'acme.example.com', resource: 'hetzner', allowed: true },
        { group: 'system:authenticated', path: '/apis*', verb: 'get', allowed: true },
        { user: 'eve', allowed: false, reason: 'eve may not' },
      ]);
      stub.clearRequests();
      expect(await auth.authorizer.authorize(certManager, create)).toEqual({ allowed: true });
      expect(await auth.authorizer.authorize(certManager, create)).toEqual({ allowed: true });
      const eve = { username: 'eve', groups: [], extra: {} };
      expect(await auth.authorizer.authorize(eve, create)).toEqual({ allowed: false, reason: 'eve may not' });
      expect(await auth.authorizer.authorize(eve, create)).toEqual({ allowed: false, reason: 'eve may not' });
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(2);
      expect(await auth.authorizer.authorize(certManager, discovery)).toEqual({ allowed: true });
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(3);
      expect(stub.requestsOf('subjectaccessreview')[2]?.body.spec.nonResourceAttributes).toEqual({ path: discovery.path, verb: 'get' });
      // A different group set is a different question.
      await auth.authorizer.authorize({ ...certManager, groups: ['other'] }, create);
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(4);
      await new Promise((r) => setTimeout(r, 1600));
      expect(await auth.authorizer.authorize(certManager, create)).toEqual({ allowed: true });
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(5);
    });

    it('concurrent identical checks share one SubjectAccessReview; a concurrent denial denies every one of them', async () => {
      stub.setAuthorize([
        { user: certManager.username, verb: 'create', apiGroup: 'acme.example.com', resource: 'hetzner', allowed: true },
        { user: 'mallory', allowed: false, reason: 'mallory may not' },
      ]);
      stub.clearRequests();
      const burst = { ...certManager, groups: ['burst-group'] }; // not cached by an earlier test
      const allowed = await Promise.all(Array.from({ length: 20 }, () => auth.authorizer.authorize(burst, create)));
      expect(allowed).toEqual(Array(20).fill({ allowed: true }));
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(1);
      const mallory = { username: 'mallory', groups: [], extra: {} };
      const denied = await Promise.all(Array.from({ length: 20 }, () => auth.authorizer.authorize(mallory, create)));
      expect(denied).toEqual(Array(20).fill({ allowed: false, reason: 'mallory may not' }));
      expect(stub.requestsOf('subjectaccessreview')).toHaveLength(2);
    });

    it('system:masters is allowed without asking', async () => {
      stub.clearRequests();
      const decision = await auth.authorizer.authorize({ username: 'root', groups: ['system:masters'], extra: {} }, create);
      expect(decision.allowed).toBe(true);
      expect(stub.requestsOf('subjectaccessreview')).toEqual([]);
    });
  });
});

describe('createDelegatingAuth configuration sources', () => {
  it('a forbidden ConfigMap rejects `ready` with the RBAC fix', async () => {
    const stub = await startKubeStub({ canReadAuthConfig: false });
    const auth = createDelegatingAuth({ kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }), log });
    try {
      await expect(auth.ready).rejects.toThrow(
        /cannot read ConfigMap kube-system\/extension-apiserver-authentication: forbidden\. Bind the webhook's ServiceAccount to the Role extension-apiserver-authentication-reader in kube-system/,
      );
      expect(auth.isReady()).toBe(false);
    } finally {
      auth.close();
      await stub.close();
    }
  });

  it('an invalid ConfigMap list rejects `ready` naming the key', async () => {
    const stub = await startKubeStub({
      configMaps: { 'kube-system/extension-apiserver-authentication': { 'requestheader-allowed-names': 'front-proxy-client' } },
    });
    const auth = createDelegatingAuth({ kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }), log });
    try {
      await expect(auth.ready).rejects.toThrow(/requestheader-allowed-names is not a JSON array/);
    } finally {
      auth.close();
      await stub.close();
    }
  });

  it('flag overrides: CA files replace the ConfigMap (no read needed), changes to the file are followed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-files-'));
    const [clientCA, proxyCA, nextCA] = await Promise.all([createCA('file-client-ca'), createCA('file-proxy-ca'), createCA('file-client-ca-2')]);
    const clientFile = join(dir, 'client-ca.crt');
    const proxyFile = join(dir, 'front-proxy-ca.crt');
    await writeFile(clientFile, clientCA.certPem);
    await writeFile(proxyFile, proxyCA.certPem);
    const stub = await startKubeStub({ canReadAuthConfig: false });
    const auth = createDelegatingAuth({
      kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }),
      overrides: { clientCaFile: clientFile, requestheaderClientCaFile: proxyFile, requestheaderAllowedNames: ['proxy'] },
      log,
      fileCheckIntervalMs: 50,
    });
    try {
      await auth.ready;
      expect(stub.requestsOf('configmap')).toEqual([]);
      expect(auth.clientCAs.caBundle()).toBe(clientCA.certPem + proxyCA.certPem);
      const changed = new Promise<void>((resolve) => auth.clientCAs.onChange(resolve));
      await writeFile(clientFile, nextCA.certPem);
      await changed;
      expect(auth.clientCAs.caBundle()).toBe(nextCA.certPem + proxyCA.certPem);
    } finally {
      auth.close();
      await stub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('absent ConfigMap: ready resolves with no CAs; its creation is followed; a later deletion keeps the last CAs', async () => {
    const stub = await startKubeStub();
    const lines: string[] = [];
    const watchingLog = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const auth = createDelegatingAuth({ kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }), log: watchingLog });
    try {
      await auth.ready;
      expect(auth.clientCAs.caBundle()).toBe('');
      expect(lines.some((l) => l.includes('not found: only flag-provided CAs are used'))).toBe(true);
      const ca = await createCA('late-ca');
      const changed = new Promise<void>((resolve) => auth.clientCAs.onChange(resolve));
      stub.setAuthenticationConfig(authenticationConfigData({ clientCaPem: ca.certPem }));
      await changed;
      expect(auth.clientCAs.caBundle()).toBe(ca.certPem);
      stub.setAuthenticationConfig(null);
      const end = Date.now() + 5000;
      while (!lines.some((l) => l.includes('was deleted: keeping the previous configuration')) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(lines.some((l) => l.includes('was deleted'))).toBe(true);
      expect(auth.clientCAs.caBundle()).toBe(ca.certPem);
    } finally {
      auth.close();
      await stub.close();
    }
  });

  it('a missing override file rejects `ready` naming the flag', async () => {
    const auth = createDelegatingAuth({ overrides: { clientCaFile: '/nonexistent/ca.crt', requestheaderClientCaFile: '/x' }, log });
    await expect(auth.ready).rejects.toThrow('cannot read --client-ca-file /nonexistent/ca.crt: ENOENT');
    auth.close();
  });

  it('without a Kubernetes API: no TokenReview, and only system:masters is authorized', async () => {
    const auth = createDelegatingAuth({ log });
    await auth.ready;
    const attrs: AuthorizationAttributes = { kind: 'nonResource', verb: 'get', path: '/apis' };
    expect((await auth.authorizer.authorize({ username: 'a', groups: [], extra: {} }, attrs)).allowed).toBe(false);
    expect((await auth.authorizer.authorize({ username: 'a', groups: ['system:masters'], extra: {} }, attrs)).allowed).toBe(true);
    auth.close();
  });
});
