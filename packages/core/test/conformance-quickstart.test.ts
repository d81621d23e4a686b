/**
 * The docs/solver-authors.md quick start, end to end: the example solver talks HTTP to a small strict
 * ExampleDNS emulator, whose records the embedded DNS server serves; the kit is imported by package name,
 * exactly as a third-party author wires it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { conformance, startDnsServer, type DnsServer } from '@dns01-webhook/core/conformance';
import { exampleSolver } from './fixtures/example-solver.js';

const TOKEN = 'example-api-token-123';
/** zone → records; the emulator is the provider, so it may keep state. */
const records = new Map<string, Array<{ id: string; name: string; value: string }>>([['example.test', []]]);
let api: Server;
let dns: DnsServer;
let endpoint: string;

function startEmulator(): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { error: 'bad token' });
    const url = new URL(req.url!, 'http://x');
    const m = /^\/zones\/([^/]+)\/txt(?:\/([^/]+))?$/.exec(url.pathname);
    const zone = m && records.get(m[1]!);
    if (!m || !zone) return send(404, { error: 'no such zone' });
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      if (req.method === 'GET' && !m[2]) return send(200, zone.filter((r) => r.name === url.searchParams.get('name')));
      if (req.method === 'POST' && !m[2]) {
        const { name, value } = JSON.parse(text) as { name: string; value: string };
        if (zone.some((r) => r.name === name && r.value === value)) return send(409, { error: 'exists' });
        const id = randomUUID();
        zone.push({ id, name, value });
        return send(201, { id });
      }
      if (req.method === 'DELETE' && m[2]) {
        const i = zone.findIndex((r) => r.id === m[2]);
        if (i < 0) return send(404, { error: 'no such record' });
        zone.splice(i, 1);
        return send(204);
      }
      send(405, { error: 'method not allowed' });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  api = await startEmulator();
  const address = api.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
  dns = await startDnsServer({
    source: {
      zones: () => [...records.keys()].map((z) => `${z}.`),
      txt: (fqdn) => [...records.values()].flat().filter((r) => r.name === fqdn).map((r) => r.value),
    },
  });
});
afterAll(async () => {
  await dns?.close();
  await new Promise((r) => api?.close(r));
});

describe('solver-authors quick start', () => {
  const kit = () =>
    conformance({
      solver: exampleSolver,
      config: { endpoint, tokenSecretRef: { name: 'exampledns', key: 'token' } },
      secrets: { default: { exampledns: { token: TOKEN } } },
      zone: 'example.test.',
      nameserver: dns.address,
      pollIntervalMs: 50,
      timeoutMs: 5000,
    });

  it('passes every conformance case', async () => {
    for (const c of kit().cases) await c.run();
    expect(records.get('example.test')).toEqual([]);
  });

  it('a wrong token fails with the provider message and opens the breaker (the solver marks 401 credentialsRejected)', async () => {
    const bad = conformance({
      solver: exampleSolver,
      config: { endpoint, tokenSecretRef: { name: 'exampledns', key: 'token' } },
      secrets: { default: { exampledns: { token: 'not-the-token' } } },
      zone: 'example.test.',
      nameserver: dns.address,
    });
    // Present is one add (addReportsExisting): its 401 is the provider message inside the breaker's.
    await expect(bad.basic()).rejects.toThrow(
      /the provider rejected these credentials: exampledns: add answered HTTP 401: \{"error":"bad token"\}\. To protect the account, the webhook makes no call with them for a cool-down/,
    );
  });
});
