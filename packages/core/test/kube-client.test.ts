import { createPublicKey, verify } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient, KubeApiError, type KubeClientFacade, type KubeConfigMap } from '../src/kube/client.js';
import { startKubeStub, writeTokenKubeconfig, type KubeStub } from '../src/testing/kube-stub.js';

const AUTH_NS = 'kube-system';
const AUTH_NAME = 'extension-apiserver-authentication';

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rejection(promise: Promise<unknown>): Promise<KubeApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(KubeApiError);
    return err as KubeApiError;
  }
  throw new Error('expected a rejection');
}

describe('kube client facade against the API stub', () => {
  let stub: KubeStub;
  let kube: KubeClientFacade;

  beforeAll(async () => {
    stub = await startKubeStub({
      tokens: { 'good-token': { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } } },
      authorize: [
        { user: 'alice', verb: 'create', apiGroup: 'acme.example.com', resource: 'hetzner', allowed: true },
        { group: 'devs', path: '/apis/*', verb: 'get', allowed: true },
        { user: 'mallory', allowed: false, reason: 'mallory is banned' },
      ],
      configMaps: { [`${AUTH_NS}/${AUTH_NAME}`]: { 'client-ca-file': 'v1' }, 'kube-system/other': { x: 'y' } },
      secrets: { 'cert-manager': { creds: { token: 'shh-value', 'api-key': 'k2' } }, other: { creds: { token: 'x' } } },
      secretNamespaces: ['cert-manager'],
      serviceAccounts: ['cert-manager/route53'],
    });
    kube = createKubeClient({ kubeconfig: stub.kubeconfigPath });
  });
  afterAll(async () => {
    await stub.close();
  });

  it('reads the authentication ConfigMap and reports 403/404 with the status code', async () => {
    const cm = await kube.getConfigMap(AUTH_NS, AUTH_NAME);
    expect(cm).toMatchObject({ namespace: AUTH_NS, name: AUTH_NAME, data: { 'client-ca-file': 'v1' } });
    expect(cm.resourceVersion).toMatch(/^\d+$/);
    const forbidden = await rejection(kube.getConfigMap(AUTH_NS, 'other'));
    expect(forbidden.status).toBe(403);
    expect(forbidden.reason).toBe('Forbidden');
    expect(forbidden.message).toContain('cannot get resource "configmaps"');
  });

  it('follows a ConfigMap through a watch: changes, deletion, re-creation; close ends the watch', async () => {
    const seen: Array<KubeConfigMap | null> = [];
    const errors: KubeApiError[] = [];
    const handle = kube.watchConfigMap(AUTH_NS, AUTH_NAME, (cm) => seen.push(cm), { onError: (e) => errors.push(e) });
    try {
      await until(() => seen.length === 1 && stub.openWatches() === 1, 'initial read and open watch');
      expect(seen[0]?.data['client-ca-file']).toBe('v1');
      stub.setAuthenticationConfig({ 'client-ca-file': 'v2' });
      await until(() => seen.length === 2, 'MODIFIED event');
      expect(seen[1]?.data['client-ca-file']).toBe('v2');
      stub.setAuthenticationConfig(null);
      await until(() => seen.length === 3, 'DELETED event');
      expect(seen[2]).toBeNull();
      stub.setAuthenticationConfig({ 'client-ca-file': 'v3' });
      await until(() => seen.length === 4, 'ADDED event');
      expect(seen[3]?.data['client-ca-file']).toBe('v3');
      // Changes arrived over the watch, not by re-reading.
      expect(stub.requestsOf('configmap').filter((r) => r.path.endsWith(AUTH_NAME))).toHaveLength(2); // beforeAll test + initial read
      expect(errors).toEqual([]);
    } finally {
      handle.close();
    }
    await until(() => stub.openWatches() === 0, 'watch closed');
    stub.setAuthenticationConfig({ 'client-ca-file': 'v4' });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(4);
  });

  it('falls back to polling when watching is impossible, and reports the error', async () => {
    // A ConfigMap the webhook may not read at all: every read and watch fails with 403.
    const errors: KubeApiError[] = [];
    const handle = kube.watchConfigMap(AUTH_NS, 'other', () => {}, { onError: (e) => errors.push(e), resyncMs: 200 });
    try {
      await until(() => errors.length >= 2, 'repeated errors');
      expect(errors[0]?.status).toBe(403);
    } finally {
      handle.close();
    }
  });

  it('reads secrets with base64 data; 403 outside the RBAC namespaces, 404 when absent', async () => {
    const secret = await kube.getSecret('cert-manager', 'creds');
    expect(Buffer.from(secret.data.token!, 'base64').toString()).toBe('shh-value');
    expect((await rejection(kube.getSecret('other', 'creds'))).status).toBe(403);
    expect((await rejection(kube.getSecret('cert-manager', 'nope'))).status).toBe(404);
  });

  it('TokenReview: known token → user, unknown → not authenticated', async () => {
    const ok = await kube.tokenReview('good-token');
    expect(ok).toMatchObject({ authenticated: true, user: { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } } });
    const bad = await kube.tokenReview('bad-token');
    expect(bad.authenticated).toBe(false);
    expect(bad.user).toBeUndefined();
    expect(bad.error).toContain('invalid bearer token');
  });

  it('SubjectAccessReview sends user, groups, extra, uid and the attributes', async () => {
    stub.clearRequests();
    const alice = { username: 'alice', uid: 'u-1', groups: ['devs'], extra: { scopes: ['a'] } };
    expect(
      await kube.subjectAccessReview(alice, { kind: 'resource', verb: 'create', group: 'acme.example.com', version: 'v1alpha1', resource: 'hetzner' }),
    ).toEqual({ allowed: true });
    expect(await kube.subjectAccessReview(alice, { kind: 'nonResource', verb: 'get', path: '/apis/acme.example.com/v1alpha1' })).toEqual({
      allowed: true,
    });
    const denied = await kube.subjectAccessReview({ username: 'mallory', groups: [], extra: {} }, { kind: 'nonResource', verb: 'get', path: '/x' });
    expect(denied).toEqual({ allowed: false, reason: 'mallory is banned' });
    const [first, second] = stub.requestsOf('subjectaccessreview');
    expect(first?.body.spec).toEqual({
      user: 'alice',
      uid: 'u-1',
      groups: ['devs'],
      extra: { scopes: ['a'] },
      resourceAttributes: { verb: 'create', group: 'acme.example.com', version: 'v1alpha1', resource: 'hetzner' },
    });
    expect(second?.body.spec.nonResourceAttributes).toEqual({ path: '/apis/acme.example.com/v1alpha1', verb: 'get' });
  });

  it('TokenRequest returns a signed, audience-bound ServiceAccount token', async () => {
    const { token, expiresAt } = await kube.createServiceAccountToken('cert-manager', 'route53', {
      audiences: ['sts.amazonaws.com'],
      expirationSeconds: 900,
    });
    const [header, claims, signature] = token.split('.');
    const payload = JSON.parse(Buffer.from(claims!, 'base64url').toString());
    expect(payload).toMatchObject({ aud: ['sts.amazonaws.com'], sub: 'system:serviceaccount:cert-manager:route53', iss: stub.serviceAccountIssuer });
    expect(verify('sha256', Buffer.from(`${header}.${claims}`), { key: createPublicKey(stub.serviceAccountPublicKeyPem), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature!, 'base64url'))).toBe(true);
    expect(Math.abs(expiresAt.getTime() - (Date.now() + 900_000))).toBeLessThan(5_000);
    expect(stub.requestsOf('tokenrequest').at(-1)?.body.spec).toEqual({ audiences: ['sts.amazonaws.com'], expirationSeconds: 900 });
    // The issued token is a real identity for TokenReview, bound to its audience.
    expect((await kube.tokenReview(token, { audiences: ['sts.amazonaws.com'] })).user?.username).toBe('system:serviceaccount:cert-manager:route53');
    expect((await kube.tokenReview(token, { audiences: ['other'] })).authenticated).toBe(false);

    const tooShort = await rejection(kube.createServiceAccountToken('cert-manager', 'route53', { audiences: ['x'], expirationSeconds: 60 }));
    expect(tooShort.status).toBe(422);
    expect(tooShort.message).toContain('may not specify a duration less than 10 minutes');
    expect((await rejection(kube.createServiceAccountToken('cert-manager', 'nobody', { audiences: ['x'] }))).status).toBe(404);
  });

  it('401 when its own credentials are wrong; status 0 when the server is unreachable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kube-client-test-'));
    try {
      const bad = join(dir, 'bad');
      await writeTokenKubeconfig(bad, { server: stub.url, caPem: stub.caPem, token: 'wrong' });
      const unauth = await rejection(createKubeClient({ kubeconfig: bad }).getSecret('cert-manager', 'creds'));
      expect(unauth.status).toBe(401);

      const down = join(dir, 'down');
      await writeFile(down, (await import('node:fs')).readFileSync(bad, 'utf8').replace(stub.url, 'https://127.0.0.1:1'));
      const unreachable = await rejection(createKubeClient({ kubeconfig: down }).getSecret('cert-manager', 'creds'));
      expect(unreachable.status).toBe(0);
      expect(unreachable.retryable).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stub: list of the authentication ConfigMap needs the field selector (resourceNames-scoped Role)', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; json: any }>((resolve, reject) => {
        const req = httpsRequest(`${stub.url}${path}`, { ca: stub.caPem, headers: { Authorization: `Bearer ${stub.webhookToken}` } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      });
    const scoped = await get(`/api/v1/namespaces/${AUTH_NS}/configmaps?fieldSelector=metadata.name%3D${AUTH_NAME}`);
    expect(scoped.status).toBe(200);
    expect(scoped.json.kind).toBe('ConfigMapList');
    expect(scoped.json.items.map((i: any) => i.metadata.name)).toEqual([AUTH_NAME]);
    const unscoped = await get(`/api/v1/namespaces/${AUTH_NS}/configmaps`);
    expect(unscoped.status).toBe(403);
    expect(unscoped.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
  });

  it('refuses a missing kubeconfig file with a clear error', () => {
    expect(() => createKubeClient({ kubeconfig: '/nonexistent/kubeconfig' })).toThrow(/kubeconfig file \/nonexistent\/kubeconfig does not exist/);
  });
});
