/**
 * The kit's URL mode: POSTs ChallengePayloads over real HTTPS to a running webhook server (authentication off)
 * whose memory solver writes to the store the embedded DNS server serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformance, createMemoryStore, memorySolver, startDnsServer, type DnsServer } from '../src/conformance/index.js';
import type { WebhookServer } from '../src/server/index.js';
import { SolverRegistry } from '../src/solver/registry.js';
import { createCA, issueCertificate } from '../src/testing/index.js';
import { deletesEverything as brokenDeletesEverything, embedsRequestId } from './fixtures/broken-solvers.js';
import { testWebhookServer } from './fixtures/webhook-server.js';

const ZONE = 'example.test.';
const GROUP = 'acme.conformance.test';
const store = createMemoryStore([ZONE]);
let dns: DnsServer;
let server: WebhookServer;
let url: string;
let caPem: string;

const deletesEverything = brokenDeletesEverything(store);

beforeAll(async () => {
  dns = await startDnsServer({ source: store });
  const ca = await createCA('conformance test CA');
  caPem = ca.certPem;
  const serving = await issueCertificate(ca, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
  const registry = new SolverRegistry();
  registry.register(memorySolver(store));
  registry.register(deletesEverything);
  registry.register(embedsRequestId('opaque-ids', 'opaque', 'never-configured'));
  server = testWebhookServer({ groupName: GROUP, registry, tls: serving });
  const { port } = await server.listen();
  url = `https://127.0.0.1:${port}`;
});
afterAll(async () => {
  await server?.close(0);
  await dns?.close();
});

const fast = () => ({ zone: ZONE, nameserver: dns.address, pollIntervalMs: 20, timeoutMs: 2000 });

describe('conformance kit against a running webhook', () => {
  it('passes every case for the memory solver, trusting the serving CA', async () => {
    const kit = conformance({ webhook: { url, groupName: GROUP, solverName: 'memory', ca: caPem }, config: { ttl: 30 }, ...fast() });
    for (const c of kit.cases) await c.run();
    expect([...store.names()]).toEqual([]);
  });

  it('fails Extended for a solver that deletes by name', async () => {
    const kit = conformance({ webhook: { url, groupName: GROUP, solverName: 'deletes-everything', insecure: true }, ...fast() });
    await kit.basic();
    await expect(kit.extended()).rejects.toThrow(/expected TXT ".+" to stay at .* but DNS shows NXDOMAIN/);
  });

  it('stable failures over HTTPS: a message that embeds a request id is caught from response.status', async () => {
    const kit = conformance({
      webhook: { url, groupName: GROUP, solverName: 'opaque-ids', ca: caPem },
      failures: [{ name: 'bad credential', config: {} }],
      ...fast(),
    });
    expect(kit.cases.at(-1)?.name).toMatch(/^stable failures: bad credential/);
    await expect(kit.stableFailures()).rejects.toThrow(/"bad credential" gave different messages on repeats 1 and 2.*\(ref [0-9a-f]{12}\)/s);
  });

  it('reports the solver failure message from response.status', async () => {
    const kit = conformance({ webhook: { url, groupName: GROUP, solverName: 'memory', insecure: true }, config: { ttl: 'long' }, ...fast() });
    await expect(kit.basic()).rejects.toThrow(/Present failed: memory: Present .* failed: invalid config: config\.ttl/);
  });

  it('reports HTTP errors and TLS trust problems', async () => {
    const unknown = conformance({ webhook: { url, groupName: GROUP, solverName: 'nope', insecure: true }, ...fast() });
    await expect(unknown.basic()).rejects.toThrow(/Present: POST \/apis\/acme\.conformance\.test\/v1alpha1\/nope answered HTTP 404/);
    const untrusted = conformance({ webhook: { url, groupName: GROUP, solverName: 'memory' }, ...fast() });
    await expect(untrusted.basic()).rejects.toThrow(/POST https:\/\/127\.0\.0\.1:\d+\/apis\/.* failed: .*(self-signed|unable to verify|certificate)/i);
  });
});
