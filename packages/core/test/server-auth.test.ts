/**
 * The server with delegated auth (auth/delegating.ts, CA files given as flags, no cluster): 401 without
 * credentials, 403 Status in kube-apiserver's words when denied, front-proxy and client certificates,
 * the client CAs advertised in the TLS handshake, and their rotation without a restart.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelegatingAuth, type DelegatingAuth } from '../src/auth/delegating.js';
import { silentLogger } from '../src/observability/logger.js';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { createCA, issueCertificate, selfSignedServing, type KeyPairPem } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const GROUP = 'acme.example.com';
const SOLVER_PATH = `/apis/${GROUP}/v1alpha1/recorder`;
let dir: string;
let auth: DelegatingAuth;
let server: WebhookServer;
let port: number;
let servingCa: string;
let clientCa: KeyPairPem;
let frontProxy: KeyPairPem;
let admin: KeyPairPem;

/** Which client CA names the server lists in its CertificateRequest (what Go clients look at). */
function advertisedCaNames(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost'], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) reject(err);
      else {
        const section = stdout.split('Acceptable client certificate CA names')[1]?.split('Requested Signature')[0] ?? '';
        resolve(section.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
      }
    });
    child.stdin?.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'server-auth-'));
  const serving = await createCA('serving-ca');
  servingCa = serving.certPem;
  clientCa = await createCA('client-ca');
  const frontProxyCa = await createCA('front-proxy-ca');
  frontProxy = await issueCertificate(frontProxyCa, { commonName: 'front-proxy-client', usage: 'client' });
  admin = await issueCertificate(clientCa, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
  await writeFile(join(dir, 'client-ca.crt'), clientCa.certPem);
  await writeFile(join(dir, 'front-proxy-ca.crt'), frontProxyCa.certPem);
  auth = createDelegatingAuth({
    log: silentLogger(),
    overrides: {
      clientCaFile: join(dir, 'client-ca.crt'),
      requestheaderClientCaFile: join(dir, 'front-proxy-ca.crt'),
      requestheaderAllowedNames: ['front-proxy-client'],
    },
    fileCheckIntervalMs: 100,
  });
  await auth.ready;
  server = testWebhookServer({
    groupName: GROUP,
    auth: { authenticator: auth.authenticator, authorizer: auth.authorizer, clientCAs: auth.clientCAs },
    tls: await issueCertificate(serving, { commonName: 'localhost', dnsNames: ['localhost'], usage: 'server' }),
  });
  ({ port } = await server.listen());
});
afterAll(async () => {
  await server?.close(1000);
  auth?.close();
  await rm(dir, { recursive: true, force: true });
});

const asProxy = (user: string, groups: string[]) => ({
  cert: frontProxy.certPem,
  key: frontProxy.keyPem,
  headers: { ...JSON_HEADERS, 'X-Remote-User': user, 'X-Remote-Group': groups.join(', ') },
});

describe('authentication and authorization', () => {
  it('lets probes through without credentials', async () => {
    for (const path of ['/healthz', '/livez', '/readyz']) expect((await call({ port, ca: servingCa, path })).status).toBe(200);
  });

  it('answers 401 Status without credentials, and ignores X-Remote-* headers without the front-proxy certificate', async () => {
    const anonymous = await call({ port, ca: servingCa, path: SOLVER_PATH, method: 'POST', headers: JSON_HEADERS, body: challengeBody() });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const spoofed = await call({
      port, ca: servingCa, path: SOLVER_PATH, method: 'POST', body: challengeBody(),
      headers: { ...JSON_HEADERS, 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' },
    });
    expect(spoofed.status).toBe(401);
    // Someone else's client certificate (a CA we do not trust) is not enough either.
    const stranger = await issueCertificate(await createCA('stranger-ca'), { commonName: 'front-proxy-client', usage: 'client' });
    const strangerRes = await call({ port, ca: servingCa, path: '/apis', cert: stranger.certPem, key: stranger.keyPem, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    expect(strangerRes.status).toBe(401);
  });

  it('runs the challenge for an allowed front-proxied user', async () => {
    const res = await call({ port, ca: servingCa, path: SOLVER_PATH, method: 'POST', body: challengeBody(), ...asProxy('alice', ['system:masters']) });
    expect(res.status).toBe(201);
    expect(res.json.response).toEqual({ uid: '', success: true });
  });

  it('answers 403 Status in kube-apiserver words when authorization denies', async () => {
    const res = await call({ port, ca: servingCa, path: SOLVER_PATH, method: 'POST', body: challengeBody(), ...asProxy('system:serviceaccount:cert-manager:cert-manager', ['system:serviceaccounts']) });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
      message: expect.stringMatching(/^recorder\.acme\.example\.com is forbidden: User "system:serviceaccount:cert-manager:cert-manager" cannot create resource "recorder" in API group "acme\.example\.com" at the cluster scope/),
    });
    const discovery = await call({ port, ca: servingCa, path: '/apis', ...asProxy('bob', ['dev']) });
    expect(discovery.status).toBe(403);
    expect(discovery.json.message).toMatch(/^forbidden: User "bob" cannot get path "\/apis"/);
  });

  it('accepts a client certificate from the client CA (user = CN, groups = O)', async () => {
    const res = await call({ port, ca: servingCa, path: `/apis/${GROUP}/v1alpha1`, cert: admin.certPem, key: admin.keyPem });
    expect(res.status).toBe(200);
    expect(res.json.kind).toBe('APIResourceList');
  });

  it('advertises both client CAs in the handshake and follows a client CA rotation', async () => {
    const before = await advertisedCaNames();
    expect(before.sort()).toEqual(['CN = client-ca', 'CN = front-proxy-ca']);

    const rotated = await createCA('client-ca-rotated');
    const newAdmin = await issueCertificate(rotated, { commonName: 'admin2', organizations: ['system:masters'], usage: 'client' });
    expect((await call({ port, ca: servingCa, path: '/apis', cert: newAdmin.certPem, key: newAdmin.keyPem })).status).toBe(401);
    await writeFile(join(dir, 'client-ca.crt'), rotated.certPem);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await call({ port, ca: servingCa, path: '/apis', cert: newAdmin.certPem, key: newAdmin.keyPem })).status;
    }
    expect(status).toBe(200);
    const after = await advertisedCaNames();
    expect(after.sort()).toEqual(['CN = client-ca-rotated', 'CN = front-proxy-ca']);
  });
});

describe('authentication infrastructure failure', () => {
  it('answers 503 Status when the authenticator cannot decide, and is not ready', async () => {
    const pair = await selfSignedServing(['localhost']);
    const broken = testWebhookServer({
      groupName: GROUP,
      auth: {
        authenticator: { authenticate: async () => { throw new Error('TokenReview: no answer from kube-apiserver within 10000 ms'); } },
        authorizer: { authorize: async () => ({ allowed: true }) },
        clientCAs: { caBundle: () => '', onChange: () => () => {} },
        ready: () => false,
      },
      tls: pair,
    });
    const { port: brokenPort } = await broken.listen();
    try {
      const res = await call({ port: brokenPort, ca: pair.certPem, path: '/apis' });
      expect(res.status).toBe(503);
      expect(res.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'ServiceUnavailable', code: 503, message: expect.stringContaining('TokenReview: no answer') });
      // Auth configuration not loaded (ready() false): the pod must not receive traffic.
      const ready = await call({ port: brokenPort, ca: pair.certPem, path: '/readyz' });
      expect(ready.status).toBe(503);
      expect(ready.text).toBe('readyz check failed: not ready');
      expect((await call({ port: brokenPort, ca: pair.certPem, path: '/livez' })).status).toBe(200);
    } finally {
      await broken.close(500);
    }
  });
});
