/**
 * The delegating authenticator does its X.509 work once per TLS connection, and that cache keeps every
 * security property of verifying on each request: it is bound to the connection (never to a header or to
 * another connection), a CA rotation from the ConfigMap applies to connections already open, a certificate
 * stops authenticating at its notAfter mid-connection, and TLS renegotiation cannot swap the certificate.
 * Real TLS over keep-alive connections; the kube API stub serves the authentication ConfigMap.
 */
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelegatingAuth, type DelegatingAuth } from '../src/auth/delegating.js';
import { createKubeClient } from '../src/kube/client.js';
import { silentLogger } from '../src/observability/logger.js';
import { authenticationConfigData, startKubeStub, type KubeStub } from '../src/testing/kube-stub.js';
import { createCA, issueCertificate, type KeyPairPem } from '../src/tls/certificates.js';
import { authPki } from './fixtures/auth-pki.js';
import { h2Connect, h2Request } from './fixtures/h2-client.js';

interface Answer {
  status: number;
  user?: string;
  groups?: string[];
  /** Which server-side connection answered (numbered in accept order). */
  connection: number;
}

let stub: KubeStub;
let auth: DelegatingAuth;
let server: Server;
let port: number;
/** The same authenticator behind node:http2 (ALPN h2): many requests (streams) share one TLS connection. */
let h2Server: Http2SecureServer;
let h2Port: number;
let serverCA: KeyPairPem;
let frontProxyCA: KeyPairPem;
let clientCA: KeyPairPem;
let foreignCA: KeyPairPem;
let frontProxy: KeyPairPem;
/** Per server-side connection: how often its peer certificate chain was read. */
const peerReads = new Map<number, number>();
let changes = 0;

/** A keep-alive agent with one socket: every request through it rides the same TLS connection. */
function connection(cert?: KeyPairPem): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, ca: serverCA.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) });
}

function get(agent: Agent, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`https://127.0.0.1:${port}/apis`, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { username?: string; groups?: string[] };
        resolve({
          status: res.statusCode ?? 0,
          ...(body.username ? { user: body.username, groups: body.groups ?? [] } : {}),
          connection: Number(res.headers['x-connection']),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function rotate(data: Record<string, string>): Promise<void> {
  const before = changes;
  stub.setAuthenticationConfig(data);
  const end = Date.now() + 5000;
  while (changes === before && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(changes).toBe(before + 1);
}

const initialConfig = () =>
  authenticationConfigData({ clientCaPem: clientCA.certPem, requestheaderCaPem: frontProxyCA.certPem, allowedNames: ['front-proxy-client'] });

beforeAll(async () => {
  ({ serverCA, frontProxyCA, clientCA, foreignCA, frontProxy } = await authPki());
  stub = await startKubeStub({ configMaps: { 'kube-system/extension-apiserver-authentication': initialConfig() } });
  auth = createDelegatingAuth({ kube: createKubeClient({ kubeconfig: stub.kubeconfigPath }), log: silentLogger() });
  auth.clientCAs.onChange(() => changes++);
  await auth.ready;
  const serving = await issueCertificate(serverCA, { commonName: 'webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  const ids = new WeakMap<object, number>();
  server = createServer(
    { key: serving.keyPem, cert: serving.certPem, requestCert: true, rejectUnauthorized: false, ca: auth.clientCAs.caBundle() },
    (req, res) => {
      auth.authenticator.authenticate(req).then((user) => {
        res.writeHead(user ? 200 : 401, { 'Content-Type': 'application/json', 'X-Connection': String(ids.get(req.socket)) });
        res.end(JSON.stringify(user ?? {}));
      }, (err: Error) => {
        res.writeHead(500);
        res.end(JSON.stringify({ message: err.message }));
      });
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    const id = ids.set(socket, peerReads.size + 1).get(socket)!;
    peerReads.set(id, 0);
    const original = socket.getPeerCertificate.bind(socket);
    socket.getPeerCertificate = ((detailed?: boolean) => {
      peerReads.set(id, peerReads.get(id)! + 1);
      return original(detailed as true);
    }) as TLSSocket['getPeerCertificate'];
  });
  auth.clientCAs.onChange(() => server.setSecureContext({ key: serving.keyPem, cert: serving.certPem, ca: auth.clientCAs.caBundle() }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const sessionIds = new WeakMap<ServerHttp2Session, number>();
  let accepted: number | undefined;
  h2Server = createSecureServer(
    { key: serving.keyPem, cert: serving.certPem, requestCert: true, rejectUnauthorized: false, ca: auth.clientCAs.caBundle() },
    (req, res) => {
      auth.authenticator.authenticate(req as never).then((user) => {
        res.writeHead(user ? 200 : 401, { 'content-type': 'application/json', 'x-connection': String(sessionIds.get(req.stream.session as ServerHttp2Session)) });
        res.end(JSON.stringify(user ?? {}));
      }, (err: Error) => {
        res.writeHead(500);
        res.end(JSON.stringify({ message: err.message }));
      });
    },
  );
  // Before node:http2's own listener, which creates the session ('session' below) synchronously.
  h2Server.prependListener('secureConnection', (socket: TLSSocket) => {
    const id = peerReads.size + 1;
    peerReads.set(id, 0);
    accepted = id;
    const original = socket.getPeerCertificate.bind(socket);
    socket.getPeerCertificate = ((detailed?: boolean) => {
      peerReads.set(id, peerReads.get(id)! + 1);
      return original(detailed as true);
    }) as TLSSocket['getPeerCertificate'];
  });
  h2Server.on('session', (session: ServerHttp2Session) => sessionIds.set(session, accepted!));
  auth.clientCAs.onChange(() => h2Server.setSecureContext({ key: serving.keyPem, cert: serving.certPem, ca: auth.clientCAs.caBundle() }));
  await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.1', resolve));
  h2Port = (h2Server.address() as AddressInfo).port;
});

afterAll(async () => {
  auth?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (h2Server ? h2Server.close(() => resolve()) : resolve()));
  await stub?.close();
});

describe('client certificates are checked once per TLS connection', () => {
  it('reads the chain once for many requests on one connection, and still reads the headers of each', async () => {
    const agent = connection(frontProxy);
    try {
      const answers: Answer[] = [];
      for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
        answers.push(await get(agent, { 'X-Remote-User': user, 'X-Remote-Group': `team-${user}` }));
      }
      expect(answers.map((a) => a.user)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
      expect(answers[4]!.groups).toEqual(['team-erin', 'system:authenticated']);
      expect(new Set(answers.map((a) => a.connection)).size).toBe(1);
      expect(peerReads.get(answers[0]!.connection)).toBe(1);
      // A request without the username header on the same connection is not authenticated by it.
      expect((await get(agent)).status).toBe(401);
    } finally {
      agent.destroy();
    }
  });

  it("never lends one connection's verified certificate to another connection", async () => {
    const proxy = connection(frontProxy);
    const anonymous = connection();
    const foreign = connection(await issueCertificate(foreignCA, { commonName: 'front-proxy-client', usage: 'client' }));
    const clientCert = connection(await issueCertificate(clientCA, { commonName: 'jane', organizations: ['devs'], usage: 'client' }));
    const headers = { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' };
    try {
      expect((await get(proxy, headers)).user).toBe('admin');
      expect((await get(anonymous, headers)).status).toBe(401);
      expect((await get(foreign, headers)).status).toBe(401);
      const jane = await get(clientCert, headers);
      expect(jane.user).toBe('jane'); // the headers are ignored without the front-proxy certificate
      expect(jane.groups).toEqual(['devs', 'system:authenticated']);
      // Interleaved again: each connection keeps its own answer.
      expect((await get(anonymous, headers)).status).toBe(401);
      expect((await get(proxy, headers)).user).toBe('admin');
      expect((await get(foreign, headers)).status).toBe(401);
    } finally {
      for (const a of [proxy, anonymous, foreign, clientCert]) a.destroy();
    }
  });

  it('a CA rotation from the ConfigMap applies to connections that are already open', async () => {
    const proxy = connection(frontProxy);
    const jane = connection(await issueCertificate(clientCA, { commonName: 'jane', usage: 'client' }));
    const headers = { 'X-Remote-User': 'admin' };
    try {
      const before = await get(proxy, headers);
      expect(before.user).toBe('admin');
      expect((await get(jane)).user).toBe('jane');
      const newFrontProxyCA = await createCA('front-proxy-ca-2');
      const newClientCA = await createCA('kubernetes-client-ca-2');
      await rotate(authenticationConfigData({ clientCaPem: newClientCA.certPem, requestheaderCaPem: newFrontProxyCA.certPem, allowedNames: ['front-proxy-client'] }));
      const after = await get(proxy, headers);
      expect(after.connection).toBe(before.connection); // same connection, so the cache was consulted...
      expect(after.status).toBe(401); // ...and did not outlive the CA it was verified against
      expect((await get(jane)).status).toBe(401);
      // Rotating back trusts the same open connection again.
      await rotate(initialConfig());
      expect((await get(proxy, headers)).user).toBe('admin');
    } finally {
      proxy.destroy();
      jane.destroy();
    }
  });

  it('a certificate that expires while its connection is open stops authenticating at its notAfter', async () => {
    // notBefore 60 s ago, notAfter 3 s from now (X.509 times have second precision).
    const lifetimeDays = (60_000 + 3_000) / 86_400_000;
    const shortLived = await issueCertificate(frontProxyCA, {
      commonName: 'front-proxy-client', usage: 'client', notBefore: new Date(Date.now() - 60_000), validDays: lifetimeDays,
    });
    const agent = connection(shortLived);
    try {
      const first = await get(agent, { 'X-Remote-User': 'admin' });
      expect(first.user).toBe('admin');
      await new Promise((r) => setTimeout(r, 4_200));
      const later = await get(agent, { 'X-Remote-User': 'admin' });
      expect(later.connection).toBe(first.connection);
      expect(later.status).toBe(401);
    } finally {
      agent.destroy();
    }
  });

  it('refuses TLS renegotiation, so a connection cannot swap its certificate after authenticating', async () => {
    const socket = connect({
      host: '127.0.0.1', port, ca: serverCA.certPem, cert: frontProxy.certPem, key: frontProxy.keyPem, maxVersion: 'TLSv1.2',
    });
    try {
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      socket.write('GET /apis HTTP/1.1\r\nHost: x\r\nX-Remote-User: admin\r\n\r\n');
      const first = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
      expect(first).toMatch(/^HTTP\/1\.1 200/);
      const outcome = await new Promise<string>((resolve) => {
        socket.once('error', (err) => resolve(`error: ${err.message}`));
        socket.once('close', () => resolve('closed'));
        const started = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err ? `error: ${err.message}` : 'renegotiated'));
        if (!started) resolve('refused locally');
      });
      expect(outcome).not.toBe('renegotiated');
    } finally {
      socket.destroy();
    }
  });
});

describe('over HTTP/2: the cache is keyed by the TLS connection of the session, not by the stream', () => {
  const h2 = (cert?: KeyPairPem) => h2Connect({ port: h2Port, ca: serverCA.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) });
  const ask = async (session: Awaited<ReturnType<typeof h2>>, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await h2Request(session, { path: '/apis', headers });
    return { status: res.status, ...(res.json.username ? { user: res.json.username, groups: res.json.groups } : {}), connection: Number(res.headers['x-connection']) };
  };

  it('reads the chain once for many streams on one connection, and still reads the headers of each', async () => {
    const session = await h2(frontProxy);
    try {
      const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
      // Concurrent streams, then sequential ones: all on the one connection.
      const answers = await Promise.all(users.map((user) => ask(session, { 'X-Remote-User': user, 'X-Remote-Group': `team-${user}` })));
      answers.push(await ask(session, { 'X-Remote-User': 'frank' }));
      expect(answers.map((a) => a.user)).toEqual([...users, 'frank']);
      expect(answers[4]!.groups).toEqual(['team-erin', 'system:authenticated']);
      expect(new Set(answers.map((a) => a.connection)).size).toBe(1);
      expect(peerReads.get(answers[0]!.connection)).toBe(1);
      expect((await ask(session)).status).toBe(401);
    } finally {
      session.close();
    }
  });

  it("never lends one session's verified certificate to another session", async () => {
    const [proxy, anonymous, foreign] = await Promise.all([
      h2(frontProxy),
      h2(),
      h2(await issueCertificate(foreignCA, { commonName: 'front-proxy-client', usage: 'client' })),
    ]);
    const headers = { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' };
    try {
      expect((await ask(proxy, headers)).user).toBe('admin');
      expect((await ask(anonymous, headers)).status).toBe(401);
      expect((await ask(foreign, headers)).status).toBe(401);
      expect((await ask(proxy, headers)).user).toBe('admin');
      expect((await ask(anonymous, headers)).status).toBe(401);
    } finally {
      for (const s of [proxy, anonymous, foreign]) s.close();
    }
  });

  it('a CA rotation from the ConfigMap applies to sessions that are already open', async () => {
    const session = await h2(frontProxy);
    const headers = { 'X-Remote-User': 'admin' };
    try {
      const before = await ask(session, headers);
      expect(before.user).toBe('admin');
      await rotate(authenticationConfigData({ clientCaPem: clientCA.certPem, requestheaderCaPem: (await createCA('front-proxy-ca-3')).certPem, allowedNames: ['front-proxy-client'] }));
      const after = await ask(session, headers);
      expect(after.connection).toBe(before.connection);
      expect(after.status).toBe(401);
      await rotate(initialConfig());
      expect((await ask(session, headers)).user).toBe('admin');
    } finally {
      session.close();
    }
  });
});
