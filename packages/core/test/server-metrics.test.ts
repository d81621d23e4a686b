/** The plain-HTTP /metrics listener `serve --metrics-port` starts next to the secure port. */
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Metrics } from '../src/observability/metrics.js';
import { createMetricsServer, type MetricsServer } from '../src/server/metrics-server.js';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { selfSignedServing } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

let webhook: WebhookServer;
let metricsServer: MetricsServer;
let port: number;
let metricsPort: number;
let ca: string;

function get(path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: metricsPort, path, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const metrics = new Metrics({ processMetrics: true });
  const pair = await selfSignedServing(['localhost']);
  ca = pair.certPem;
  webhook = testWebhookServer({ metrics, tls: pair });
  ({ port } = await webhook.listen());
  metricsServer = createMetricsServer({ metrics, bindAddress: '127.0.0.1', port: 0 });
  ({ port: metricsPort } = await metricsServer.listen());
});
afterAll(async () => {
  await webhook?.close(500);
  await metricsServer?.close();
});

it('exposes request, challenge and process metrics in the Prometheus text format', async () => {
  const ok = await call({ port, ca, path: '/apis/acme.example.com/v1alpha1/recorder', method: 'POST', headers: JSON_HEADERS, body: challengeBody() });
  expect(ok.status).toBe(201);
  await call({ port, ca, path: '/apis/acme.example.com/v1alpha1/recorder', method: 'POST', headers: JSON_HEADERS, body: '{' });
  const res = await get('/metrics');
  expect(res.status).toBe(200);
  expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(res.text).toMatch(/^dns01_webhook_http_requests_total\{path="solver",code="201"\} 1$/m);
  expect(res.text).toMatch(/^dns01_webhook_http_requests_total\{path="solver",code="400"\} 1$/m);
  expect(res.text).toMatch(/^dns01_webhook_challenges_total\{solver="recorder",action="Present",outcome="success"\} 1$/m);
  expect(res.text).toMatch(/^dns01_webhook_challenges_total\{solver="recorder",action="unknown",outcome="invalid"\} 1$/m);
  expect(res.text).toMatch(/^process_cpu_user_seconds_total /m);
});

it('serves nothing else', async () => {
  expect((await get('/')).status).toBe(404);
  expect((await get('/metrics', 'POST')).status).toBe(405);
});
