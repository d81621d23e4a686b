import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSolver } from '../src/solver/define.js';
import { SolverError } from '../src/solver/errors.js';
import { conformance, createMemoryStore, memorySolver, startDnsServer, queryTxt, type DnsServer } from '../src/conformance/index.js';
import { deletesEverything as brokenDeletesEverything } from './fixtures/broken-solvers.js';

const ZONE = 'example.test.';
const store = createMemoryStore([ZONE]);
let dns: DnsServer;

beforeAll(async () => {
  dns = await startDnsServer({ source: store });
});
afterAll(async () => {
  await dns.close();
});

const fast = () => ({ zone: ZONE, nameserver: dns.address, pollIntervalMs: 20, timeoutMs: 2000 });

const deletesEverything = brokenDeletesEverything(store);

/** Adds on every Present, even when the value is already there. */
const notIdempotent = defineSolver({
  name: 'not-idempotent',
  config: z.strictObject({}),
  async present(req) {
    store.add(req.resolvedFQDN, req.key);
  },
  async cleanUp(req) {
    store.remove(req.resolvedFQDN, req.key);
  },
});

/** Reports success and writes nothing. */
const neverWrites = defineSolver({
  name: 'never-writes',
  config: z.strictObject({}),
  async present() {},
  async cleanUp() {},
});

/** A second CleanUp of a gone value errors instead of succeeding. */
const cleanupFailsWhenGone = defineSolver({
  name: 'cleanup-fails-when-gone',
  config: z.strictObject({}),
  async present(req) {
    if (!store.list(req.resolvedFQDN).includes(req.key)) store.add(req.resolvedFQDN, req.key);
  },
  async cleanUp(req) {
    if (store.remove(req.resolvedFQDN, req.key) === 0) throw new SolverError('record not found');
  },
});

describe('conformance kit against the memory solver over real DNS', () => {
  it('has the three cases, in order', () => {
    const kit = conformance({ solver: memorySolver(store), ...fast() });
    expect(kit.cases.map((c) => c.name.split(':')[0])).toEqual(['basic', 'extended', 'concurrency']);
  });

  it('passes every case', async () => {
    const live = conformance({ solver: memorySolver(store), config: { ttl: 60 }, concurrency: 8, ...fast() });
    for (const c of live.cases) await c.run();
    // Each case used its own random name and left nothing behind.
    expect([...store.names()]).toEqual([]);
  });

  it('passes with a fixed fqdn shared by all cases, leaving an unrelated value alone', async () => {
    const fqdn = '_acme-challenge.shared.example.test.';
    store.add(fqdn, 'someone-else');
    const live = conformance({ solver: memorySolver(store), fqdn, ...fast() });
    for (const c of live.cases) await c.run();
    expect((await queryTxt(fqdn, { server: dns.address })).values).toEqual(['someone-else']);
    store.remove(fqdn, 'someone-else');
  });

  it('fails with the solver message when the config is invalid', async () => {
    const bad = conformance({ solver: memorySolver(store), config: { ttl: 60, zone: 'x' }, ...fast() });
    await expect(bad.basic()).rejects.toThrow(/Present failed: memory: Present .* failed: invalid config: .*zone/);
  });
});

describe('conformance kit catches broken solvers', () => {
  it('a CleanUp that deletes every value at the name passes Basic but fails Extended', async () => {
    const kit = conformance({ solver: deletesEverything, ...fast() });
    await kit.basic();
    await expect(kit.extended()).rejects.toThrow(/expected TXT ".+" to stay at _acme-challenge\.conformance-[0-9a-f]+\.example\.test\. after CleanUp of the other value .* but DNS shows NXDOMAIN, values \[\]/);
    expect([...store.names()]).toEqual([]);
  });

  it('a Present that is not idempotent fails Basic, saying how many copies DNS shows', async () => {
    const kit = conformance({ solver: notIdempotent, ...fast() });
    await expect(kit.basic()).rejects.toThrow(/expected exactly one TXT ".+" .* \(Present must be idempotent\), but DNS shows 2 copies/);
    // The kit cleaned up after the failure.
    expect([...store.names()]).toEqual([]);
  });

  it('a solver that never writes times out quickly with what DNS showed', async () => {
    const kit = conformance({ solver: neverWrites, ...fast(), timeoutMs: 300 });
    const started = Date.now();
    await expect(kit.basic()).rejects.toThrow(/expected TXT ".+" to be visible after Present at _acme-challenge\..+ within 300 ms, but DNS showed NXDOMAIN, values \[\]/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a second CleanUp that errors on an already-gone value fails Basic', async () => {
    const kit = conformance({ solver: cleanupFailsWhenGone, ...fast() });
    await expect(kit.basic()).rejects.toThrow(/second CleanUp .* to succeed .* record not found/);
  });

  it('a nameserver that is not authoritative for the zone fails fast', async () => {
    const kit = conformance({ solver: memorySolver(store), ...fast(), zone: 'elsewhere.test.' });
    await expect(kit.basic()).rejects.toThrow(/memory: no zone for/);
    const other = createMemoryStore(['elsewhere.test.']);
    const kit2 = conformance({ solver: memorySolver(other), ...fast(), zone: 'elsewhere.test.' });
    await expect(kit2.basic()).rejects.toThrow(/answered REFUSED .* is it authoritative for the zone\?/);
  });

  it('rejects bad options up front', () => {
    expect(() => conformance({ zone: ZONE, nameserver: dns.address })).toThrow(/exactly one of `solver`/);
    expect(() => conformance({ solver: neverWrites, zone: ZONE, nameserver: dns.address, fqdn: 'x.other.test' })).toThrow(/not inside zone/);
    expect(() => conformance({ solver: neverWrites, zone: ZONE, nameserver: dns.address, concurrency: 1 })).toThrow(/concurrency/);
  });
});
