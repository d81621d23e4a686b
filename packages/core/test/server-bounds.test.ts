/**
 * Abuse bounds of the webhook server over real HTTPS (issue 7 §2–3): the Content-Type rule, JSON nesting,
 * DNS name limits, early answers that close the connection, the in-flight caps (429 + Retry-After), the
 * request deadline, and slow headers/bodies. Authentication is off here; server-fuzz.test.ts runs the same
 * kind of abuse through front-proxy authentication.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookServer, WebhookServerOptions } from '../src/server/webhook-server.js';
import { createCA, issueCertificate } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { rawConnect, statusOf } from './fixtures/raw-tls.js';
import { calls } from './fixtures/test-solvers.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const GROUP = 'acme.example.com';
const path = (solver: string) => `/apis/${GROUP}/v1alpha1/${solver}`;
let ca: string;
let serving: { certPem: string; keyPem: string };
const servers: WebhookServer[] = [];

async function start(overrides: Partial<WebhookServerOptions> = {}): Promise<number> {
  const server = testWebhookServer({ tls: serving, ...overrides });
  servers.push(server);
  return (await server.listen()).port;
}

let port: number;
beforeAll(async () => {
  const authority = await createCA('bounds-test-ca');
  ca = authority.certPem;
  serving = await issueCertificate(authority, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' });
  port = await start();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close(500)));
});
beforeEach(() => {
  calls.length = 0;
});

const post = (body: string, headers: Record<string, string> = JSON_HEADERS, solver = 'recorder', to = port) =>
  call({ port: to, ca, path: path(solver), method: 'POST', headers, body });

const nested = (depth: number, leaf = '0') => '['.repeat(depth) + leaf + ']'.repeat(depth);

describe('Content-Type', () => {
  it('treats a missing or empty Content-Type as JSON (kubectl create --raw sends none); another one stays 415', async () => {
    const none = await post(challengeBody(), {});
    expect(none.status).toBe(201);
    expect(none.json.response).toEqual({ uid: '', success: true });
    expect((await post(challengeBody(), { 'Content-Type': '' })).status).toBe(201);
    const wrong = await post(challengeBody(), { 'Content-Type': 'text/plain' });
    expect(wrong.status).toBe(415);
    expect(wrong.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    expect(calls).toHaveLength(2);
  });
});

describe('JSON nesting', () => {
  it('answers 400 beyond 64 levels, before the solver runs, wherever the nesting is', async () => {
    const deepConfig = challengeBody({ config: '__DEEP__' }).replace('"__DEEP__"', nested(5_000));
    const deepAction = challengeBody({ action: '__DEEP__' }).replace('"__DEEP__"', nested(5_000));
    for (const body of [deepConfig, deepAction, nested(100_000), `{"request":${nested(65)}}`]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: expect.stringMatching(/deeper than 64 levels/) });
    }
    expect(calls).toEqual([]);
  });

  it('accepts nesting up to the bound, and brackets inside strings do not count', async () => {
    // The payload object is level 1, request 2, config 3: 61 more levels reach 64.
    const deep = challengeBody({ config: { zoneId: 'z', pad: '__DEEP__' } }).replace('"__DEEP__"', nested(61));
    expect((await post(deep)).status).toBe(201);
    const brackets = challengeBody({ config: { zoneId: '['.repeat(1000) + '{'.repeat(1000) + '\\"' } });
    expect((await post(brackets)).status).toBe(201);
    expect(calls).toHaveLength(2);
  });
});

describe('JSON size', () => {
  it('answers 400 for more than 10,000 values (what a 1 MiB body of tiny objects would parse into), commas in strings not counted', async () => {
    for (const unit of ['{}', '[]', '0', '"x"']) {
      const res = await post(challengeBody({ config: { data: '__MANY__' } }).replace('"__MANY__"', `[${Array(10_001).fill(unit).join(',')}]`));
      expect(res.status).toBe(400);
      expect(res.json.message).toMatch(/more than 10000 JSON values/);
    }
    const ok = await post(challengeBody({ config: { data: Array(9_000).fill(0), commas: ','.repeat(50_000) } }));
    expect(ok.status).toBe(201);
    expect(calls).toHaveLength(1);
  });
});

describe('DNS names', () => {
  const label = (n: number) => 'a'.repeat(n);
  const longName = `${Array.from({ length: 4 }, () => label(63)).join('.')}.`; // 255 octets
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an FQDN over 253 octets', { resolvedFQDN: `_acme-challenge.${longName}`, resolvedZone: longName }, /request\.resolvedFQDN is not a valid DNS name: .* octets long \(at most 253\)/],
    ['a label over 63 octets', { resolvedFQDN: `_acme-challenge.${label(64)}.example.com.`, resolvedZone: 'example.com.' }, /request\.resolvedFQDN is not a valid DNS name: label 2 .* is 64 octets long \(at most 63\)/],
    ['an empty label', { resolvedFQDN: '_acme-challenge..example.com.' }, /label 2 .* is empty/],
    ['a zone over 253 octets', { resolvedFQDN: '_acme-challenge.example.com.', resolvedZone: `${Array.from({ length: 130 }, () => 'a').join('.')}.` }, /request\.resolvedZone is not a valid DNS name: .* octets long/],
    ['an FQDN outside the zone', { resolvedFQDN: '_acme-challenge.example.org.', resolvedZone: 'example.com.' }, /request\.resolvedFQDN _acme-challenge\.example\.org\. is not inside resolvedZone example\.com\./],
    ['a dnsName with a space', { dnsName: 'exa mple.com' }, /request\.dnsName is not a valid DNS name: .*characters other than/],
    ['a control character', { resolvedFQDN: '_acme-challenge.ex\u0000ample.com.' }, /request\.resolvedFQDN is not a valid DNS name/],
    ['a namespace that is not one', { resourceNamespace: '../kube-system' }, /request\.resourceNamespace "\.\.\/kube-system" is not a namespace name/],
  ];
  for (const [what, overrides, message] of cases) {
    it(`answers 400 for ${what}, before any solver call`, async () => {
      const res = await post(challengeBody(overrides));
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: expect.stringMatching(message) });
      expect(calls).toEqual([]);
    });
  }

  it('accepts a wildcard dnsName, an IDN and names at the limits', async () => {
    const zone = `${Array.from({ length: 3 }, () => label(63)).join('.')}.${label(40)}.`; // 235 octets
    for (const overrides of [
      { dnsName: '*.example.com' },
      { resolvedFQDN: '_acme-challenge.bücher.example.', resolvedZone: 'bücher.example.', dnsName: 'bücher.example' },
      { resolvedFQDN: `_acme-challenge.${zone}`, resolvedZone: zone }, // 251 octets
      { resolvedFQDN: 'EXAMPLE.com', resolvedZone: 'example.COM.' },
    ]) {
      expect((await post(challengeBody(overrides))).status).toBe(201);
    }
  });
});

describe('early answers with an unread body', () => {
  it('close the connection instead of reading the rest (404, 405, 415, 413)', async () => {
    const heads = [
      `POST ${path('nope')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"req`,
      `PUT ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"req`,
      `POST ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n{"req`,
      `POST ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n{"req`,
    ];
    const results = await Promise.all(
      heads.map(async (head) => {
        const conn = await rawConnect({ port, ca });
        conn.socket.write(head);
        const text = await conn.waitFor(/\r\n\r\n\{.*\}$/s);
        const closedAfter = await Promise.race([conn.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3_000))]);
        conn.socket.destroy();
        return { status: statusOf(text), close: /\r\nconnection: close\r\n/i.test(text), closedAfter };
      }),
    );
    expect(results.map((r) => r.status)).toEqual([404, 405, 415, 413]);
    for (const r of results) {
      expect(r.close).toBe(true);
      expect(r.closedAfter).toBeGreaterThan(0);
    }
  });

  it('keeps the connection open after an error answered once the whole body was read', async () => {
    const conn = await rawConnect({ port, ca });
    const body = '{"request":';
    conn.socket.write(`POST ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await conn.waitFor(/not valid JSON.*\}$/s);
    conn.socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await conn.waitFor(/HTTP\/1\.1 200 OK/);
    expect(conn.received()).not.toMatch(/connection: close/i);
    conn.socket.destroy();
  });
});

describe('in-flight caps', () => {
  it('answer 429 with Retry-After past maxInFlight, never for probes, and recover', async () => {
    const capped = await start({ maxInFlight: 2 });
    const slow = () => post(challengeBody({ config: { delayMs: 1_500 } }), JSON_HEADERS, 'slow', capped);
    const running = [slow(), slow()];
    await new Promise((r) => setTimeout(r, 500));
    const rejected = await post(challengeBody(), JSON_HEADERS, 'recorder', capped);
    expect(rejected.status).toBe(429);
    expect(rejected.headers['retry-after']).toBe('1');
    expect(rejected.json).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, message: expect.stringMatching(/^Too many requests, please try again later/) });
    expect((await call({ port: capped, ca, path: '/readyz' })).status).toBe(200);
    expect((await Promise.all(running)).map((r) => r.status)).toEqual([201, 201]);
    expect((await post(challengeBody(), JSON_HEADERS, 'recorder', capped)).status).toBe(201);
  });

  it('answer 429 when request bodies held at once would pass maxInFlightBodyBytes, and close the connection', async () => {
    const capped = await start({ maxBodyBytes: 8_000, maxInFlightBodyBytes: 10_000 });
    const holder = await rawConnect({ port: capped, ca });
    holder.socket.write(`POST ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8000\r\n\r\n{"req`);
    await new Promise((r) => setTimeout(r, 300));
    const big = challengeBody({ config: { pad: 'x'.repeat(4_000) } });
    const rejected = await post(big, JSON_HEADERS, 'recorder', capped);
    expect(rejected.status).toBe(429);
    expect(rejected.headers['retry-after']).toBe('1');
    expect(rejected.headers.connection).toBe('close');
    expect(rejected.json.message).toMatch(/request bodies in flight would exceed 10000 bytes/);
    expect((await post(challengeBody(), JSON_HEADERS, 'recorder', capped)).status).toBe(201); // a small one fits
    holder.socket.destroy();
    await holder.closed;
    await new Promise((r) => setTimeout(r, 100));
    expect((await post(big, JSON_HEADERS, 'recorder', capped)).status).toBe(201);
  });
});

describe('deadlines', () => {
  it('answers 504 and aborts the challenge when the request deadline passes', async () => {
    const quick = await start({ requestDeadlineMs: 800 });
    const started = Date.now();
    const res = await post(challengeBody({ config: { delayMs: 10_000 } }), JSON_HEADERS, 'slow', quick);
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'Timeout', code: 504, message: 'request did not complete within 0.8 s' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('closes a connection that sends no request, and answers 408 to headers that trickle', async () => {
    const quick = await start({ headersTimeoutMs: 500 });
    const silent = await rawConnect({ port: quick, ca });
    const partial = await rawConnect({ port: quick, ca });
    partial.socket.write(`GET /apis HTTP/1.1\r\nHost: x\r\n`);
    const [silentClosed, partialClosed] = await Promise.all([silent.closed, partial.closed]);
    expect(silentClosed).toBeLessThan(4_500);
    expect(partialClosed).toBeLessThan(2_500);
    expect(statusOf(partial.received())).toBe(408);
    expect(partial.received()).toMatch(/"reason":"Timeout","code":408/);
  });

  it('answers 408 and closes when a body trickles past the body deadline', async () => {
    const quick = await start({ headersTimeoutMs: 500, bodyTimeoutMs: 1_000 });
    const conn = await rawConnect({ port: quick, ca });
    conn.socket.write(`POST ${path('recorder')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const trickle = setInterval(() => conn.socket.writable && conn.socket.write(' '), 200);
    const closedAfter = await conn.closed;
    clearInterval(trickle);
    expect(closedAfter).toBeLessThan(3_000);
    expect(statusOf(conn.received())).toBe(408);
    expect(calls).toEqual([]);
  });
});
