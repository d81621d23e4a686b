/** Graceful close: in-flight challenges finish, new connections are refused, the grace period is a bound. */
import { Agent, request as httpsRequest } from 'node:https';
import { expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { selfSignedServing } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

async function start() {
  const pair = await selfSignedServing(['localhost']);
  const server = testWebhookServer({ tls: pair });
  const { port } = await server.listen();
  // Resolves once the server has the request (on a loaded machine the TLS handshake alone can take 100s of ms).
  const slow = (delayMs: number) => {
    const arrived = new Promise<void>((resolve) => server.server.once('request', () => resolve()));
    const answer = call({ port, ca: pair.certPem, path: '/apis/acme.example.com/v1alpha1/slow', method: 'POST', headers: JSON_HEADERS, body: challengeBody({ uid: 'slow-1', config: { delayMs } }) });
    return { arrived, answer };
  };
  return { server, port, ca: pair.certPem, slow };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('lets an in-flight challenge finish, refuses new connections, resolves once drained', async () => {
  const { server, port, ca, slow } = await start();
  const { arrived, answer: inFlight } = slow(800);
  await arrived;
  await sleep(100);
  const started = Date.now();
  const closing = server.close(5000);
  await sleep(50);
  await expect(call({ port, ca, path: '/healthz' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  const res = await inFlight;
  expect(res.status).toBe(201);
  expect(res.json.response).toEqual({ uid: 'slow-1', success: true });
  expect(res.headers.connection).toBe('close');
  await closing;
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(500);
  expect(took).toBeLessThan(2000);
});

it('aborts challenges when the grace period runs out and still answers them', async () => {
  const { server, slow } = await start();
  const { arrived, answer: inFlight } = slow(20_000);
  await arrived;
  await sleep(100);
  const started = Date.now();
  await server.close(1000);
  const took = Date.now() - started;
  expect(took).toBeLessThanOrEqual(1200);
  const res = await inFlight;
  expect(res.status).toBe(201);
  expect(res.json.response).toMatchObject({ uid: 'slow-1', success: false, status: { status: 'Failed', message: expect.stringMatching(/^slow: Present _acme-challenge\.example\.com\. failed: .*abort/) } });
});

it('closes idle keep-alive connections at once', async () => {
  const { server, port, ca } = await start();
  const agent = new Agent({ keepAlive: true, ca });
  const res = await call({ port, ca, agent, path: '/healthz' });
  expect(res.status).toBe(200);
  const started = Date.now();
  await server.close(5000);
  expect(Date.now() - started).toBeLessThan(500);
  agent.destroy();
});

it('aborts the challenge when the client disconnects, and survives a body cut short', async () => {
  const lines: string[] = [];
  const pair = await selfSignedServing(['localhost']);
  const server = testWebhookServer({ tls: pair, log: createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } }) });
  const { port } = await server.listen();
  try {
    const body = challengeBody({ uid: 'gone-1', config: { delayMs: 20_000 } });
    const open = (length: number) =>
      httpsRequest({ host: '127.0.0.1', port, path: '/apis/acme.example.com/v1alpha1/slow', method: 'POST', ca: pair.certPem, servername: 'localhost', agent: false,
        headers: { ...JSON_HEADERS, 'Content-Length': String(length) } }).on('error', () => {});
    const whole = open(Buffer.byteLength(body));
    whole.end(body);
    await sleep(300);
    const started = Date.now();
    whole.destroy();
    let failed: any;
    while (!failed && Date.now() - started < 3000) {
      await sleep(20);
      failed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'challenge failed' && l.uid === 'gone-1');
    }
    expect(failed?.error).toMatch(/aborted \(server shutting down or client disconnected\)/);
    expect(Date.now() - started).toBeLessThan(2000);

    const cut = open(Buffer.byteLength(body) + 100);
    cut.write(body);
    await sleep(100);
    cut.destroy();
    await sleep(100);
    expect((await call({ port, ca: pair.certPem, path: '/healthz' })).status).toBe(200);
    expect(lines.some((l) => l.includes('unexpected error'))).toBe(false);
  } finally {
    await server.close(500);
  }
});
