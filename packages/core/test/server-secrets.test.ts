/** A solver error that includes a secret value reaches neither the HTTP answer nor any log line. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebhookServer } from '../src/server/webhook-server.js';
import { createLogger } from '../src/observability/logger.js';
import { mapSecrets } from '../src/secrets/static.js';
import { selfSignedServing } from '../src/tls/certificates.js';
import { call, challengeBody, JSON_HEADERS } from './fixtures/https-client.js';
import { testWebhookServer } from './fixtures/webhook-server.js';
import { defineSolver } from '../src/solver/define.js';
import { SolverRegistry } from '../src/solver/registry.js';
import { z } from 'zod';

const SECRET = 'S3cr3t-T0ken-value-9f8e7d';
const lines: string[] = [];
let server: WebhookServer;
let port: number;
let ca: string;

beforeAll(async () => {
  const pair = await selfSignedServing(['localhost', '127.0.0.1']);
  ca = pair.certPem;
  server = testWebhookServer({
    secretsFor: mapSecrets({ 'cert-manager': { creds: { token: SECRET } } }),
    log: createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } }),
    tls: pair,
  });
  ({ port } = await server.listen());
});
afterAll(async () => server.close(1000));

it('redacts the secret from the response and from every log line', async () => {
  const body = challengeBody({ uid: 'leak-1', config: { apiTokenSecretRef: { name: 'creds', key: 'token' } } });
  const res = await call({ port, ca, path: '/apis/acme.example.com/v1alpha1/leaky', method: 'POST', headers: JSON_HEADERS, body });
  expect(res.status).toBe(201);
  expect(res.json.response).toEqual({
    uid: 'leak-1',
    success: false,
    status: { status: 'Failed', message: 'leaky: Present _acme-challenge.example.com. failed: provider rejected credentials "[redacted]": 401 invalid token (check the Secret)' },
  });
  expect(res.text).not.toContain(SECRET);

  // The per-challenge line was written (so we are really looking at the server's log) ...
  const failed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'challenge failed');
  expect(failed).toMatchObject({ solver: 'leaky', action: 'Present', uid: 'leak-1', error: expect.stringContaining('[redacted]') });
  expect(lines.some((l) => l.includes('"msg":"request"'))).toBe(true);
  // ... and no line anywhere carries the value.
  expect(lines.length).toBeGreaterThan(2);
  for (const line of lines) expect(line).not.toContain(SECRET);
});

it('reads secrets only from the request namespace', async () => {
  const body = challengeBody({ resourceNamespace: 'team-a', config: { apiTokenSecretRef: { name: 'creds', key: 'token' } } });
  const res = await call({ port, ca, path: '/apis/acme.example.com/v1alpha1/leaky', method: 'POST', headers: JSON_HEADERS, body });
  expect(res.json.response.success).toBe(false);
  expect(res.json.response.status.message).toMatch(/secret "creds" key "token" not found in namespace "team-a"/);
});

it("censors credential-named keys in what a solver logs from initialize (no challenge, no registered secrets)", async () => {
  const initLines: string[] = [];
  const registry = new SolverRegistry();
  registry.register(
    defineSolver({
      name: 'chatty',
      config: z.object({}),
      initialize: ({ log }) => log.info({ client: { endpoint: 'https://api.example', apiKey: 'k-123-init', token: 't-456-init' } }, 'client ready'),
      async present() {},
      async cleanUp() {},
    }),
  );
  const chatty = testWebhookServer({
    registry,
    log: createLogger({ level: 'info', destination: { write: (s: string) => void initLines.push(s) } }),
    tls: await selfSignedServing(['localhost']),
  });
  await chatty.listen();
  await chatty.close(100);
  const ready = initLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'client ready');
  expect(ready).toMatchObject({ solver: 'chatty', client: { endpoint: 'https://api.example', apiKey: '[redacted]', token: '[redacted]' } });
  for (const line of initLines) expect(line).not.toMatch(/k-123-init|t-456-init/);
});
