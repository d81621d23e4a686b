/**
 * HTTP/2 on the webhook's TLS port (what kube-apiserver's aggregation proxy prefers): ALPN offers h2 and
 * http/1.1, h2 requests run through the same express app (routes, Status errors, metrics, caps, deadline),
 * no Connection header is ever sent on h2, shutdown is a GOAWAY, and the HTTP/2 abuse bounds hold (slow
 * bodies, sessions without streams, CONNECT, oversized headers, rapid reset). Real TLS, node:http2's client.
 */
import { constants, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics.js';
import type { WebhookServer, WebhookServerOptions } from '../src/server/webhook-server.js';
import { createCA, issueCertificate } from '../src/tls/certificates.js';
import { h2Connect, h2Request, type H2Result } from './fixtures/h2-client.js';
import { call, challengeBody } from './fixtures/https-client.js';
import { calls } from './fixtures/test-solvers.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const GROUP = 'acme.example.com';
const path = (solver: string) => `/apis/${GROUP}/v1alpha1/${solver}`;
const JSON_TYPE = { 'content-type': 'application/json' };
let ca: string;
let serving: { certPem: string; keyPem: string };
const servers: WebhookServer[] = [];
const sessions: ClientHttp2Session[] = [];

async function start(overrides: Partial<WebhookServerOptions> = {}) {
  const metrics = new Metrics();
  const server = testWebhookServer({ tls: serving, metrics, ...overrides });
  servers.push(server);
  const { port } = await server.listen();
  const session = async () => {
    const s = await h2Connect({ port, ca });
    sessions.push(s);
    return s;
  };
  return { server, port, metrics, session };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the stream is closed (reset or ended both ways); Node's client may not emit 'close' while body bytes are queued. */
async function closedStream(stream: { closed: boolean; destroyed: boolean }, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!stream.closed && !stream.destroyed) {
    if (Date.now() > end) throw new Error('stream still open');
    await sleep(10);
  }
}

async function metricLines(metrics: Metrics, name: string): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`));
}

let main: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  const authority = await createCA('http2-test-ca');
  ca = authority.certPem;
  serving = await issueCertificate(authority, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  main = await start();
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await Promise.all(servers.map((s) => s.close(500)));
});
beforeEach(() => {
  calls.length = 0;
});

describe('ALPN', () => {
  it('offers h2 and http/1.1: an h2 client gets HTTP/2, everyone else HTTP/1.1 on the same port', async () => {
    const { port, metrics, session } = await start();
    const h2 = await session();
    expect((h2.socket as TLSSocket).alpnProtocol).toBe('h2');
    const answer = await h2Request(h2, { path: '/healthz' });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('ok');
    // node:https's client offers no ALPN; a client offering only http/1.1 gets it.
    expect((await call({ port, ca, path: '/healthz' })).status).toBe(200);
    const h1 = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await new Promise((resolve) => h1.once('secureConnect', resolve));
    expect(h1.alpnProtocol).toBe('http/1.1');
    h1.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await new Promise<string>((resolve) => {
      let data = '';
      h1.on('data', (d: Buffer) => (data += d.toString()));
      h1.on('close', () => resolve(data));
    });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(await metricLines(metrics, 'dns01_webhook_tls_connections_total')).toEqual([
      'dns01_webhook_tls_connections_total{protocol="h2"} 1',
      'dns01_webhook_tls_connections_total{protocol="none"} 1',
      'dns01_webhook_tls_connections_total{protocol="http/1.1"} 1',
    ]);
  });

  it('offers only http/1.1 with http2: false', async () => {
    const { port } = await start({ http2: false });
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    expect(socket.alpnProtocol).toBe('http/1.1');
    socket.destroy();
  });
});

describe('the same express app over HTTP/2', () => {
  it('serves probes, discovery, the solver, OpenAPI and Status errors, counted in the metrics, never with a Connection header', async () => {
    const { metrics, session } = await start();
    const s = await session();
    const answers: H2Result[] = [];
    const ask = async (request: Parameters<typeof h2Request>[1]) => {
      const answer = await h2Request(s, request);
      answers.push(answer);
      return answer;
    };
    expect((await ask({ path: '/readyz' })).status).toBe(200);
    expect((await ask({ path: '/apis' })).json).toMatchObject({ kind: 'APIGroupList' });
    expect((await ask({ path: `/apis/${GROUP}/v1alpha1` })).json.resources.map((r: { name: string }) => r.name)).toContain('recorder');
    const created = await ask({ path: path('recorder'), method: 'POST', headers: JSON_TYPE, body: challengeBody({ uid: 'h2-1' }) });
    expect(created.status).toBe(201);
    expect(created.json.response).toEqual({ uid: 'h2-1', success: true });
    expect(calls).toEqual([{ action: 'Present', fqdn: '_acme-challenge.example.com.', key: 'dGVzdC1rZXktdmFsdWU' }]);
    // No Content-Type is JSON, as on HTTP/1.1.
    expect((await ask({ path: path('recorder'), method: 'POST', body: challengeBody() })).status).toBe(201);
    expect((await ask({ path: path('recorder'), method: 'POST', headers: { 'content-type': 'text/plain' }, body: challengeBody() })).json).toMatchObject({ kind: 'Status', code: 415 });
    expect((await ask({ path: path('recorder'), method: 'POST', headers: JSON_TYPE, body: '{"request":' })).json).toMatchObject({ kind: 'Status', code: 400 });
    expect((await ask({ path: path('recorder'), method: 'POST', headers: JSON_TYPE, body: 'x'.repeat(1024 * 1024 + 1) })).json).toMatchObject({ kind: 'Status', code: 413 });
    expect((await ask({ path: path('recorder'), method: 'PUT', body: '{}' })).json).toMatchObject({ kind: 'Status', code: 405, reason: 'MethodNotAllowed' });
    expect((await ask({ path: path('nobody') , method: 'POST', body: challengeBody() })).json).toMatchObject({ kind: 'Status', code: 404 });
    expect((await ask({ path: '/nope' })).json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
    const openapi = await ask({ path: '/openapi/v2' });
    expect(openapi.json).toMatchObject({ swagger: '2.0' });
    expect((await ask({ path: '/openapi/v2', headers: { 'if-none-match': String(openapi.headers.etag) } })).status).toBe(304);
    for (const answer of answers) expect(answer.headers.connection).toBeUndefined();
    const counted = await metricLines(metrics, 'dns01_webhook_http_requests_total');
    expect(counted).toEqual(expect.arrayContaining([
      'dns01_webhook_http_requests_total{path="solver",code="201"} 2',
      'dns01_webhook_http_requests_total{path="solver",code="413"} 1',
      'dns01_webhook_http_requests_total{path="openapi",code="304"} 1',
      'dns01_webhook_http_requests_total{path="other",code="404"} 1',
    ]));
  });

  it('multiplexes many concurrent challenges on one connection', async () => {
    const { metrics, session } = await start();
    const s = await session();
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => h2Request(s, { path: path('slow'), method: 'POST', headers: JSON_TYPE, body: challengeBody({ uid: `u${i}`, config: { delayMs: 200 } }) })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(201));
    expect(answers.map((a) => a.json.response.uid)).toEqual(Array.from({ length: 100 }, (_, i) => `u${i}`));
    expect(await metricLines(metrics, 'dns01_webhook_tls_connections_total')).toEqual(['dns01_webhook_tls_connections_total{protocol="h2"} 1']);
  });

  it('answers 429 + Retry-After past the in-flight cap (across sessions) and past the body budget', async () => {
    const capped = await start({ maxInFlight: 2, maxBodyBytes: 8_000, maxInFlightBodyBytes: 10_000 });
    const [a, b] = [await capped.session(), await capped.session()];
    const slow = (s: ClientHttp2Session) => h2Request(s, { path: path('slow'), method: 'POST', headers: JSON_TYPE, body: challengeBody({ config: { delayMs: 1_000 } }) });
    const busy = [slow(a), slow(a)];
    await sleep(300);
    const refused = await slow(b);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toMatchObject({ kind: 'Status', reason: 'TooManyRequests' });
    expect((await h2Request(b, { path: '/healthz' })).status).toBe(200); // probes are never capped
    expect((await Promise.all(busy)).map((r) => r.status)).toEqual([201, 201]);

    // Two declared 6,000-byte bodies do not fit a 10,000-byte budget: the second is 429 before its body is read.
    const first = a.request({ ':path': path('recorder'), ':method': 'POST', 'content-length': '6000' }, { endStream: false });
    first.on('error', () => {});
    await sleep(300);
    const second = await h2Request(b, { path: path('recorder'), method: 'POST', headers: { 'content-length': '6000' }, body: ' '.repeat(6_000) });
    expect(second.status).toBe(429);
    expect(second.json.message).toMatch(/request bodies in flight would exceed 10000 bytes/);
    first.close(constants.NGHTTP2_CANCEL);
  });

  it('answers 504 at the request deadline without a Connection header; the session goes on', async () => {
    const quick = await start({ requestDeadlineMs: 500 });
    const s = await quick.session();
    const late = await h2Request(s, { path: path('slow'), method: 'POST', headers: JSON_TYPE, body: challengeBody({ config: { delayMs: 5_000 } }) });
    expect(late.status).toBe(504);
    expect(late.json).toMatchObject({ kind: 'Status', code: 504 });
    expect(late.headers.connection).toBeUndefined();
    expect((await h2Request(s, { path: '/healthz' })).status).toBe(200);
  });
});

describe('HTTP/2 abuse bounds', () => {
  it('a trickled body gets 408 at the body timeout and its stream is reset; other streams and the session go on', async () => {
    const quick = await start({ headersTimeoutMs: 500, bodyTimeoutMs: 1_500 });
    const s = await quick.session();
    const started = Date.now();
    const stream = s.request({ ':path': path('recorder'), ':method': 'POST', 'content-type': 'application/json', 'content-length': '1000' }, { endStream: false });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => (body += d.toString()));
    stream.on('error', () => {});
    const trickle = setInterval(() => stream.writable && stream.write(' '), 200);
    await closedStream(stream);
    clearInterval(trickle);
    const took = Date.now() - started;
    expect(status).toBe(408);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', code: 408, reason: 'Timeout' });
    expect(took).toBeGreaterThanOrEqual(1_400);
    expect(took).toBeLessThan(4_000);
    expect(s.closed || s.destroyed).toBe(false);
    expect((await h2Request(s, { path: path('recorder'), method: 'POST', body: challengeBody() })).status).toBe(201);
  });

  it('an early error with the body unread resets the stream (NO_ERROR) instead of waiting for the body', async () => {
    const s = await main.session();
    const stream = s.request({ ':path': path('nobody'), ':method': 'POST', 'content-length': '100000' }, { endStream: false });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', () => {});
    stream.write('{"request":');
    const started = Date.now();
    await closedStream(stream);
    expect(status).toBe(404);
    expect(stream.rstCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect((await h2Request(s, { path: '/healthz' })).status).toBe(200);
  });

  it('releases the in-flight slot and the body budget of a request answered before its body was read', async () => {
    const capped = await start({ maxInFlight: 1, maxBodyBytes: 1_000, maxInFlightBodyBytes: 1_000 });
    const s = await capped.session();
    for (let i = 0; i < 3; i++) {
      // No Content-Length: the body is read until it passes the limit, then answered 413 with the rest unread.
      const tooLarge = await h2Request(s, { path: path('recorder'), method: 'POST', headers: { 'content-length': undefined }, body: 'x'.repeat(200_000) });
      expect(tooLarge.status).toBe(413);
    }
    await sleep(100);
    expect((await h2Request(s, { path: path('recorder'), method: 'POST', body: challengeBody() })).status).toBe(201);
  });

  it('closes a session that opens no stream after the handshake', async () => {
    const quick = await start({ headersTimeoutMs: 500 });
    const s = await quick.session();
    const started = Date.now();
    await new Promise((resolve) => s.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers CONNECT with a 405 Status', async () => {
    const s = await main.session();
    const stream = s.request({ ':method': 'CONNECT', ':authority': 'example.com:443' }, { endStream: false });
    const status = await new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
    let body = '';
    stream.on('data', (d: Buffer) => (body += d.toString()));
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('close', resolve));
    expect(status).toBe(405);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', code: 405, message: expect.stringMatching(/CONNECT is not supported/) });
  });

  it('refuses a header list larger than HTTP/1.1 accepts, and stays up', async () => {
    const s = await main.session();
    // Our SETTINGS apply once the client acknowledged them (RFC 9113 §6.5.3): one exchange first.
    expect((await h2Request(s, { path: '/healthz' })).status).toBe(200);
    const outcome = await h2Request(s, { path: '/healthz', headers: { 'x-big': 'a'.repeat(20_000) } }).then((r) => `status ${r.status}`, (err: Error) => err.message);
    expect(outcome).not.toBe('status 200');
    const fresh = await main.session();
    expect((await h2Request(fresh, { path: '/healthz' })).status).toBe(200);
  });

  it('rapid reset: a client resetting streams faster than the limit loses its connection; the server stays up with nothing in flight', async () => {
    const target = await start();
    const s = await target.session();
    const connections = () => new Promise<number>((resolve) => target.server.server.getConnections((_err, n) => resolve(n)));
    expect(await connections()).toBe(1);
    // Each stream carries a complete challenge (so the app starts on it) and is reset at once.
    const body = challengeBody({ config: { delayMs: 5_000 } });
    for (let i = 0; i < 1_000 && !s.closed && !s.destroyed; i++) {
      const stream = s.request({ ':path': path('slow'), ':method': 'POST', 'content-type': 'application/json' }, { endStream: false });
      stream.on('error', () => {});
      stream.end(body);
      stream.close(constants.NGHTTP2_CANCEL);
      if (i % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    const end = Date.now() + 10_000;
    while ((await connections()) > 0 && Date.now() < end) await sleep(50);
    expect(await connections()).toBe(0);
    const fresh = await target.session();
    expect((await h2Request(fresh, { path: path('recorder'), method: 'POST', body: challengeBody() })).status).toBe(201);
    fresh.close();
    // Nothing of the reset streams is still in flight: close() returns without using its grace.
    const started = Date.now();
    await target.server.close(5_000);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('shutdown over HTTP/2', () => {
  it('sends GOAWAY: the in-flight challenge finishes (no Connection header), the session takes no new stream', async () => {
    const { server, session } = await start();
    const s = await session();
    const goaway = new Promise<number>((resolve) => s.once('goaway', (code: number) => resolve(code)));
    const inFlight = h2Request(s, { path: path('slow'), method: 'POST', headers: JSON_TYPE, body: challengeBody({ uid: 'drain', config: { delayMs: 800 } }) });
    await sleep(300);
    const started = Date.now();
    const closing = server.close(5_000);
    expect(await goaway).toBe(constants.NGHTTP2_NO_ERROR);
    const answer = await inFlight;
    expect(answer.status).toBe(201);
    expect(answer.json.response).toEqual({ uid: 'drain', success: true });
    expect(answer.headers.connection).toBeUndefined();
    await expect(h2Request(s, { path: '/healthz' })).rejects.toThrow();
    await closing;
    expect(Date.now() - started).toBeLessThan(2_500);
  });
});
