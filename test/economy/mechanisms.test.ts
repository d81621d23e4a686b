/**
 * The provider economy (issue 8), one focused test per mechanism, against the strict emulators with their
 * documented quotas and call counters: zone cache (hit, invalidation on a moved zone), singleflight under
 * 20 identical requests, rate-limit waits and fail-fast, the breaker (opens, stays byte-identical, closes
 * on a changed Secret, one real try per cool-down), and Route 53 batching (merge, split on one bad change).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Economy,
  Metrics,
  executeChallenge,
  silentLogger,
  type ChallengeOutcome,
  type ChallengeRequest,
  type SecretReader,
  type Solver,
} from '@dns01-webhook/core';
import cloudflareSolver from '@dns01-webhook/solver-cloudflare';
import { createDnspodSolver } from '@dns01-webhook/solver-dnspod';
import route53Solver from '@dns01-webhook/solver-route53';
import { startCloudflareEmulator, type CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { challengeFor } from '../support/challenge.js';

const TOKEN = 'economyTestToken'.padEnd(40, 'e');
const NS = 'cert-manager';

/** A Secret store the test can change between challenges, like a user rotating a key. */
function mutableSecrets(initial: Record<string, string>) {
  const values = { ...initial };
  const reader = (namespace: string): SecretReader => ({
    namespace,
    async get(selector) {
      const v = values[`${selector.name}/${selector.key}`];
      if (v === undefined) throw new Error(`no secret ${selector.name}/${selector.key}`);
      return v;
    },
  });
  return { values, reader };
}

function request(action: 'Present' | 'CleanUp', fqdn: string, zone: string, key: string, config: unknown): ChallengeRequest {
  return challengeFor({ action, fqdn, zone, key, namespace: NS, config });
}

function runner(solver: Solver<any>, economy: Economy, secrets: (ns: string) => SecretReader, metrics?: Metrics) {
  return (action: 'Present' | 'CleanUp', fqdn: string, zone: string, key: string, config: unknown, timeoutMs = 10_000): Promise<ChallengeOutcome> =>
    executeChallenge(solver, request(action, fqdn, zone, key, config), { secretsFor: secrets, log: silentLogger(), economy, timeoutMs, ...(metrics ? { metrics } : {}) });
}

describe('cloudflare: zone cache, singleflight, rate limits', () => {
  let emu: CloudflareEmulator;
  const secrets = mutableSecrets({ 'cf/token': TOKEN });
  const config = () => ({ apiTokenSecretRef: { name: 'cf', key: 'token' }, endpoint: `${emu.url}` });
  beforeAll(async () => {
    emu = await startCloudflareEmulator({ zones: ['a.test', 'b.test'], tokens: { [TOKEN]: '*' } });
  });
  afterAll(() => emu.close());

  it('zone cache: a warm Present is one create (no zone lookup); a moved zone is found again within the same challenge', async () => {
    emu.control.reset();
    const metrics = new Metrics();
    const run = runner(cloudflareSolver, new Economy(), secrets.reader, metrics);
    expect(await run('Present', '_acme-challenge.x.a.test.', 'a.test.', 'k1', config())).toEqual({ success: true });
    expect(emu.control.calls()).toEqual({ 'GET zones': 1, 'POST dns_records': 1 });
    expect(await run('Present', '_acme-challenge.y.a.test.', 'a.test.', 'k2', config())).toEqual({ success: true });
    expect(emu.control.calls()).toEqual({ 'GET zones': 1, 'POST dns_records': 2 });
    // The zone is deleted and added again: the cached id is stale (the API answers 10000 for an unknown zone id).
    emu.recreateZone('a.test');
    expect(await run('Present', '_acme-challenge.z.a.test.', 'a.test.', 'k3', config())).toEqual({ success: true });
    expect(emu.records().map((r) => [r.name, r.content])).toEqual([['_acme-challenge.z.a.test', 'k3']]);
    expect(emu.control.calls()).toEqual({ 'GET zones': 2, 'POST dns_records': 4 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('dns01_webhook_zone_cache_total{solver="cloudflare",result="hit"} 2');
    expect(text).toContain('dns01_webhook_zone_cache_total{solver="cloudflare",result="miss"} 2');
  });

  it('singleflight: 20 identical concurrent Presents share one provider operation', async () => {
    emu.control.reset();
    const metrics = new Metrics();
    const run = runner(cloudflareSolver, new Economy(), secrets.reader, metrics);
    emu.control.inject({ kind: 'delay', action: 'POST dns_records', delayMs: 300 });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => run('Present', '_acme-challenge.sf.b.test.', 'b.test.', 'same', config())));
    expect(outcomes).toEqual(Array(20).fill({ success: true }));
    expect(emu.control.calls()).toEqual({ 'GET zones': 1, 'POST dns_records': 1 });
    expect(await metrics.registry.metrics()).toContain('dns01_webhook_challenges_shared_total{solver="cloudflare",action="Present"} 19');
  });

  it('rate limit: calls wait for the credential\'s window (0 throttled answers), and fail fast with a stable message when no slot fits the deadline', async () => {
    emu.control.reset();
    emu.control.setQuota({ action: '*', requests: 4, perSeconds: 1 });
    const metrics = new Metrics();
    const economy = new Economy();
    const run = runner(cloudflareSolver, economy, secrets.reader, metrics);
    const limited = { ...config(), rateLimit: { requests: 4, perSeconds: 1 } };
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => run('Present', `_acme-challenge.rl${i}.b.test.`, 'b.test.', `r${i}`, limited)));
    expect(outcomes.every((o) => o.success)).toBe(true);
    // 11 calls at 4 per second: the last ones had to wait two windows.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(emu.control.throttled()).toBe(0);
    expect(await metrics.registry.metrics()).toMatch(/dns01_webhook_rate_limit_wait_seconds_count\{solver="cloudflare"\} 11/);

    // A quota of one call per minute: the second challenge cannot get a slot before its deadline.
    const tight = { ...config(), rateLimit: { requests: 1, perSeconds: 60 } };
    const fresh = new Economy();
    const runTight = runner(cloudflareSolver, fresh, secrets.reader);
    expect(await runTight('Present', '_acme-challenge.t1.b.test.', 'b.test.', 't1', tight)).toEqual({ success: false, message: expect.any(String) });
    const calls = emu.control.calls('POST dns_records');
    const first = await runTight('Present', '_acme-challenge.t2.b.test.', 'b.test.', 't2', tight, 2_000);
    const again = await runTight('Present', '_acme-challenge.t2.b.test.', 'b.test.', 't2', tight, 2_000);
    expect(first.success).toBe(false);
    expect(again).toEqual(first);
    expect((first as { message: string }).message).toMatch(/rate limit for these credentials \(1 requests\/60 s, config\.rateLimit\).*no request slot frees up before this challenge's deadline/);
    expect(emu.control.calls('POST dns_records')).toBe(calls);
  });
});

describe('dnspod: breaker on rejected credentials', () => {
  let emu: RunningDnspodEmulator;
  beforeAll(async () => {
    emu = await startDnspodEmulator({ domains: ['example.test'] });
  });
  afterAll(() => emu.close());
  const config = () => ({ secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod', key: 'secret-key' }, endpoint: emu.url });

  it('opens on AuthFailure (one provider call for 10 challenges), keeps one byte-identical message, and closes at once on a changed Secret', async () => {
    emu.control.reset();
    const secrets = mutableSecrets({ 'dnspod/secret-key': 'wrong-secret-key' });
    const metrics = new Metrics();
    const run = runner(createDnspodSolver(), new Economy({ breaker: { initialMs: 30_000 } }), secrets.reader, metrics);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => run('Present', `_acme-challenge.b${i}.example.test.`, 'example.test.', `k${i}`, config())));
    expect(emu.control.requestsBy()).toEqual({ [`secretId:${DEFAULT_SECRET_ID}`]: 1 });
    const messages = outcomes.map((o) => (o as { message: string }).message.replace(/_acme-challenge\.b\d+\.example\.test\./, 'NAME'));
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toMatch(
      /^dnspod: Present NAME failed: the provider rejected these credentials: DNSPod DescribeDomain on example\.test failed: AuthFailure\.SignatureFailure.*makes no call with them for a cool-down \(30 s, doubling up to 10 min/,
    );
    // A retry of the same challenge: the same bytes, still no call.
    const retry = await run('Present', '_acme-challenge.b0.example.test.', 'example.test.', 'k0', config());
    expect(retry).toEqual(outcomes[0]);
    expect(emu.control.requestsBy()[`secretId:${DEFAULT_SECRET_ID}`]).toBe(1);
    expect(await metrics.registry.metrics()).toContain('dns01_webhook_breaker_open{solver="dnspod"} 1');
    // The user fixes the Secret: a different credential hash, tried at once.
    secrets.values['dnspod/secret-key'] = DEFAULT_SECRET_KEY;
    expect(await run('Present', '_acme-challenge.b0.example.test.', 'example.test.', 'k0', config())).toEqual({ success: true });
    expect(await run('CleanUp', '_acme-challenge.b0.example.test.', 'example.test.', 'k0', config())).toEqual({ success: true });
  });

  it('after the cool-down one real try goes out; rejected again, the cool-down doubles and the message stays the same', async () => {
    emu.control.reset();
    const secrets = mutableSecrets({ 'dnspod/secret-key': 'another-wrong-key' });
    const run = runner(createDnspodSolver(), new Economy({ breaker: { initialMs: 2_000, maxMs: 8_000 } }), secrets.reader);
    const calls = () => emu.control.requestsBy()[`secretId:${DEFAULT_SECRET_ID}`];
    const first = (await run('Present', '_acme-challenge.cd.example.test.', 'example.test.', 'k', config())) as { message: string };
    expect(first.message).toContain('for a cool-down (2 s, doubling up to 8 s');
    await new Promise((r) => setTimeout(r, 2_100));
    const [a, b] = await Promise.all([
      run('Present', '_acme-challenge.cd.example.test.', 'example.test.', 'k', config()),
      run('Present', '_acme-challenge.cd2.example.test.', 'example.test.', 'k2', config()),
    ]);
    expect(calls()).toBe(2);
    // The real try was rejected the same way: cert-manager sees the same bytes as before it.
    expect(a).toEqual(first);
    expect((b as { message: string }).message.replace('cd2.', 'cd.')).toBe(first.message);
    // The second cool-down is 4 s: 2.1 s later there is still no call; after it, one.
    await new Promise((r) => setTimeout(r, 2_100));
    expect(await run('Present', '_acme-challenge.cd.example.test.', 'example.test.', 'k', config())).toEqual(first);
    expect(calls()).toBe(2);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await run('Present', '_acme-challenge.cd.example.test.', 'example.test.', 'k', config())).toEqual(first);
    expect(calls()).toBe(3);
  });
});

describe('route53: change batching', () => {
  let emu: RunningRoute53Emulator;
  const NAME = 'aws';
  const secrets = () => mutableSecrets({ [`${NAME}/secret`]: emu.credentials.secretAccessKey }).reader;
  const config = (extra: Record<string, unknown> = {}) => ({
    region: 'us-east-1', accessKeyID: emu.credentials.accessKeyId, secretAccessKeySecretRef: { name: NAME, key: 'secret' }, endpoint: emu.url, ...extra,
  });
  beforeAll(async () => {
    emu = await startRoute53Emulator({ zones: ['batch.test', 'other.test'] });
  });
  afterAll(() => emu.close());

  it('concurrent changes to one zone: different names and values for one name go out as one ChangeResourceRecordSets', async () => {
    emu.control.reset();
    const metrics = new Metrics();
    const run = runner(route53Solver, new Economy(), secrets(), metrics);
    const items = Array.from({ length: 12 }, (_, i) => [`_acme-challenge.n${i % 6}.batch.test.`, `v${i}`] as const);
    const outcomes = await Promise.all(items.map(([fqdn, key]) => run('Present', fqdn, 'batch.test.', key, config())));
    expect(outcomes.every((o) => o.success)).toBe(true);
    expect(emu.control.calls()).toEqual({ ListHostedZonesByName: 1, ListResourceRecordSets: 1, ChangeResourceRecordSets: 1 });
    for (let n = 0; n < 6; n++) {
      const set = emu.store.zones.find((z) => z.name === 'batch.test.')!.sets.find((s) => s.name === `_acme-challenge.n${n}.batch.test.`);
      expect(set?.values.sort()).toEqual([`"v${n}"`, `"v${n + 6}"`].sort());
    }
    expect(await metrics.registry.metrics()).toMatch(/dns01_webhook_batch_size_sum\{solver="route53"\} 12/);
    // CleanUp of all of them: one listing, one change.
    emu.control.reset();
    const cleaned = await Promise.all(items.map(([fqdn, key]) => run('CleanUp', fqdn, 'batch.test.', key, config())));
    expect(cleaned.every((o) => o.success)).toBe(true);
    expect(emu.control.calls()).toEqual({ ListResourceRecordSets: 1, ChangeResourceRecordSets: 1 });
    expect(emu.store.zones.find((z) => z.name === 'batch.test.')!.sets.filter((s) => s.type === 'TXT')).toEqual([]);
  });

  it('breaker: an unknown access key is rejected once (InvalidClientTokenId); 10 challenges make 1 call', async () => {
    emu.control.reset();
    const run = runner(route53Solver, new Economy(), mutableSecrets({ [`${NAME}/secret`]: 'revoked/secret/key/000000000000000000000' }).reader);
    const revoked = config({ accessKeyID: 'AKIAREVOKED000000001' });
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => run('Present', `_acme-challenge.r${i}.batch.test.`, 'batch.test.', `r${i}`, revoked)));
    expect(outcomes.every((o) => !o.success && /the provider rejected these credentials: .*InvalidClientTokenId/.test(o.message))).toBe(true);
    expect(emu.control.requestsBy()).toEqual({ 'accessKey:AKIAREVOKED000000001': 1 });
  });

  it('a batch that fails for one bad change is split: the others land, only the bad one fails', async () => {
    emu.control.reset();
    const run = runner(route53Solver, new Economy(), secrets());
    const zoneId = emu.zoneId('batch.test');
    // hostedZoneID pins every challenge to batch.test; one name lies outside it, which Route 53 rejects.
    const good = Array.from({ length: 4 }, (_, i) => run('Present', `_acme-challenge.g${i}.batch.test.`, 'batch.test.', `g${i}`, config({ hostedZoneID: zoneId })));
    const bad = run('Present', '_acme-challenge.x.other.test.', 'other.test.', 'bad', config({ hostedZoneID: zoneId }));
    const [outcomes, badOutcome] = await Promise.all([Promise.all(good), bad]);
    expect(outcomes.every((o) => o.success)).toBe(true);
    expect(badOutcome.success).toBe(false);
    expect((badOutcome as { message: string }).message).toMatch(/InvalidChangeBatch.*other\.test/);
    const values = emu.store.zones
      .find((z) => z.name === 'batch.test.')!
      .sets.filter((s) => s.type === 'TXT' && /^_acme-challenge\.g\d\./.test(s.name))
      .map((s) => s.values[0])
      .sort();
    expect(values).toEqual(['"g0"', '"g1"', '"g2"', '"g3"']);
    // 1 batch of 5 (rejected), then halves: [3] ok, [2] rejected → [1] ok, [1] rejected.
    expect(emu.control.calls('ChangeResourceRecordSets')).toBeGreaterThanOrEqual(3);
    expect(emu.control.throttled()).toBe(0);
  });
});
