/**
 * The kit's `stable failures` case (issue 8 §0): a third-party solver whose repeated failure gives
 * different messages is caught, with where they differ; one whose volatile part the core already strips
 * passes (what cert-manager sees is stable); derived scenarios do not apply to a solver that reads no Secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { conformance, createMemoryStore, memorySolver, startDnsServer, type DnsServer } from '../src/conformance/index.js';
import { executeChallenge } from '../src/challenge/execute.js';
import { defineSolver } from '../src/solver/define.js';
import { SolverError } from '../src/solver/errors.js';
import { mapSecrets } from '../src/secrets/static.js';
import { silentLogger } from '../src/observability/logger.js';
import { embedsRequestId } from './fixtures/broken-solvers.js';

const ZONE = 'example.test.';
const TOKEN = 'the-right-token-0123456789';
const store = createMemoryStore([ZONE]);
let dns: DnsServer;

beforeAll(async () => {
  dns = await startDnsServer({ source: store });
});
afterAll(() => dns?.close());

const kitFor = (solver: Parameters<typeof conformance>[0]['solver'], extra: Partial<Parameters<typeof conformance>[0]> = {}) =>
  conformance({
    solver,
    config: { tokenSecretRef: { name: 'api', key: 'token' } },
    secrets: { default: { api: { token: TOKEN } } },
    zone: ZONE,
    nameserver: dns.address,
    pollIntervalMs: 20,
    timeoutMs: 2000,
    ...extra,
  });

describe('conformance kit: stable failure messages', () => {
  it('catches a solver whose message embeds a request id, and says where the messages differ', async () => {
    const kit = kitFor(embedsRequestId('opaque-ids', 'opaque', TOKEN));
    expect(kit.cases.map((c) => c.name.split(':')[0])).toEqual(['basic', 'extended', 'concurrency', 'stable failures']);
    await expect(kit.stableFailures()).rejects.toThrow(
      /"wrong credentials.*" gave different messages on repeats 1 and 2;.*retry storm.*\n {2}repeat 1: +".*provider rejected the token \(ref [0-9a-f]{12}\).*"\n {2}repeat 2: +".*\(ref [0-9a-f]{12}\)/s,
    );
  });

  it('passes a solver whose request id the core already strips (what cert-manager sees is stable)', async () => {
    const solver = embedsRequestId('uuid-ids', 'uuid', TOKEN);
    await kitFor(solver).stableFailures();
    const outcome = await executeChallenge(
      solver,
      {
        uid: 'u', action: 'Present', type: 'dns-01', dnsName: 'x.example.test', key: 'k', resourceNamespace: 'default',
        resolvedFQDN: '_acme-challenge.x.example.test.', resolvedZone: ZONE, allowAmbientCredentials: false,
        config: { tokenSecretRef: { name: 'api', key: 'token' } },
      },
      { secretsFor: mapSecrets({}), log: silentLogger() },
    );
    expect(outcome).toEqual({ success: false, message: expect.stringMatching(/secret "api" key "token" not found/) });
  });

  it('explicit scenarios: a failure that sometimes succeeds is reported, and a stable one passes', async () => {
    let n = 0;
    const flaky = defineSolver({
      name: 'flaky',
      config: z.object({}).passthrough(),
      async present() {
        if (++n % 2 === 0) return;
        throw new SolverError('provider: HTTP 503', { code: 'HTTP503' });
      },
      async cleanUp() {},
    });
    const kit = conformance({ solver: flaky, zone: ZONE, nameserver: dns.address, failures: [{ name: 'provider down', config: {} }] });
    await expect(kit.stableFailures()).rejects.toThrow(/expected "provider down" to fail on every one of 3 repeats, but 1 succeeded/);
    // Epoch milliseconds and an elapsed time: shapes the core stabilizes, so the kit passes it.
    const timed = defineSolver({
      name: 'timed',
      config: z.object({}).passthrough(),
      async present() {
        throw new SolverError(`zone not hosted (checked at ${Date.now()}, took ${Math.random() * 100} ms)`, { code: 'ZoneNotFound' });
      },
      async cleanUp() {},
    });
    await conformance({ solver: timed, zone: ZONE, nameserver: dns.address, failures: [{ name: 'zone not hosted', zone: 'other.test.' }] }).stableFailures();
    // A counter of its own: no shape the core could know, so only the kit catches it.
    let calls = 0;
    const counting = defineSolver({
      name: 'counting',
      config: z.object({}).passthrough(),
      async present() {
        throw new SolverError(`zone not hosted (lookup #${++calls})`, { code: 'ZoneNotFound' });
      },
      async cleanUp() {},
    });
    const caught = conformance({ solver: counting, zone: ZONE, nameserver: dns.address, failures: [{ name: 'zone not hosted', zone: 'other.test.' }] });
    await expect(caught.stableFailures()).rejects.toThrow(/"zone not hosted" gave different messages on repeats 1 and 2/);
  });

  it('derived scenarios do not apply to a solver that reads no Secret; without scenarios there is no case', async () => {
    const kit = kitFor(memorySolver(store) as never, { config: {} });
    await kit.stableFailures();
    expect(conformance({ solver: memorySolver(store), zone: ZONE, nameserver: dns.address }).cases).toHaveLength(3);
  });
});
