/**
 * The route53 solver against the emulator through executeChallenge: zone choice, keeping other values,
 * cert-manager built-in multivalue sets, idempotency, retries on throttling/5xx, deadlines, messages.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { queryTxt } from '@dns01-webhook/core/conformance';
import { randomKey } from '@dns01-webhook/core/conformance';
import { Economy } from '@dns01-webhook/core';
import route53Solver from '@dns01-webhook/solver-route53';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { freshEconomy, run, sdk, staticConfig, storedValues } from './helpers.js';

let emu: RunningRoute53Emulator;
let n = 0;
const fresh = (zone = 'example.test.') => `_acme-challenge.t${++n}.${zone}`;

beforeAll(async () => {
  emu = await startRoute53Emulator({
    zones: [
      'example.test',
      'sub.example.test',
      { name: 'sub.example.test', private: true },
      { name: 'internal.example.test', private: true },
      'twice.test',
      'twice.test',
    ],
  });
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(() => {
  emu.control.reset();
  freshEconomy();
});

const ok = { success: true };

describe('zone lookup', () => {
  it('uses the longest public zone: a nested public zone wins over its parent, private zones are skipped', async () => {
    const fqdn = fresh('sub.example.test.');
    const key = randomKey();
    expect(await run(route53Solver, emu, 'Present', fqdn, 'sub.example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(storedValues(emu, 'sub.example.test.', fqdn)).toEqual([key]);
    expect(emu.store.zones.find((z) => z.name === 'sub.example.test.' && z.private)!.sets.some((s) => s.type === 'TXT')).toBe(false);
    // A zone that exists only privately is passed over for its public parent.
    const inner = fresh('internal.example.test.');
    expect(await run(route53Solver, emu, 'Present', inner, 'internal.example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(storedValues(emu, 'example.test.', inner)).toEqual([key]);
    expect((await queryTxt(inner, { server: emu.dns.address })).values).toEqual([key]);
  });

  it('caches the zone id (one ListHostedZonesByName per candidate, not per challenge)', async () => {
    const fqdn = fresh();
    await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu));
    const lookups = emu.control.calls('ListHostedZonesByName');
    await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu));
    expect(lookups).toBe(1);
    expect(emu.control.calls('ListHostedZonesByName')).toBe(1);
  });

  it('refuses to guess between two public zones of one name, and names a missing zone', async () => {
    const twice = await run(route53Solver, emu, 'Present', '_acme-challenge.twice.test.', 'twice.test.', randomKey(), staticConfig(emu));
    expect(twice.success).toBe(false);
    expect((twice as { message: string }).message).toMatch(/several public hosted zones are named twice\.test\. \(Z[A-Z0-9]+, Z[A-Z0-9]+\); set hostedZoneID/);
    const none = await run(route53Solver, emu, 'Present', '_acme-challenge.nowhere.test.', 'nowhere.test.', randomKey(), staticConfig(emu));
    expect((none as { message: string }).message).toContain('no public hosted zone for _acme-challenge.nowhere.test visible to these credentials');
  });

  it('hostedZoneID skips the lookup; an unknown one fails with NoSuchHostedZone', async () => {
    const fqdn = fresh();
    const cfg = staticConfig(emu, { hostedZoneID: emu.zoneId('example.test') });
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), cfg)).toEqual(ok);
    expect(emu.control.calls('ListHostedZonesByName')).toBe(0);
    const bad = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu, { hostedZoneID: 'ZNOSUCHZONE' }));
    expect((bad as { message: string }).message).toContain('NoSuchHostedZone (HTTP 404): No hosted zone found with ID: ZNOSUCHZONE');
  });
});

describe('editing the TXT set', () => {
  it('keeps other values and the TTL of an existing set; Present twice writes once; CleanUp of an absent value writes nothing', async () => {
    const fqdn = fresh();
    const zoneId = emu.zoneId('example.test');
    await sdk(emu).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: fqdn, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"someone-else"' }] } }] },
      }),
    );
    emu.control.reset();
    const key = randomKey();
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(emu.control.calls('ChangeResourceRecordSets')).toBe(1);
    const set = emu.store.zones.find((z) => z.id === zoneId)!.sets.find((s) => s.name === fqdn && s.type === 'TXT')!;
    expect(set.ttl).toBe(300);
    expect(set.values.sort()).toEqual([`"${key}"`, '"someone-else"'].sort());
    expect(await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual(['someone-else']);
    expect(await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(emu.control.calls('ChangeResourceRecordSets')).toBe(2);
  });

  it('a new set gets the configured ttl (default 10, as cert-manager); removing the last value deletes the set', async () => {
    const fqdn = fresh();
    const key = randomKey();
    await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu));
    const sets = () => emu.store.zones.find((z) => z.name === 'example.test.')!.sets.filter((s) => s.name === fqdn);
    expect(sets()).toEqual([{ name: fqdn, type: 'TXT', ttl: 10, values: [`"${key}"`] }]);
    await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', key, staticConfig(emu));
    expect(sets()).toEqual([]);
    await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu, { ttl: 120 }));
    expect(sets()[0]!.ttl).toBe(120);
  });

  it("works alongside cert-manager's built-in provider sets (MultiValueAnswer, SetIdentifier = value, TTL 10) without breaking them", async () => {
    const fqdn = fresh();
    const zoneId = emu.zoneId('example.test');
    const builtIn = randomKey();
    const builtInSet = { Name: fqdn, Type: 'TXT' as const, TTL: 10, SetIdentifier: builtIn, MultiValueAnswer: true, ResourceRecords: [{ Value: `"${builtIn}"` }] };
    await sdk(emu).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: builtInSet }] } }));
    const ours = randomKey();
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', ours, staticConfig(emu))).toEqual(ok);
    const txtSets = () => emu.store.zones.find((z) => z.id === zoneId)!.sets.filter((s) => s.name === fqdn && s.type === 'TXT');
    const bySetId = (a: unknown[], b: unknown[]) => (String(a[0]) < String(b[0]) ? -1 : 1);
    expect(txtSets().map((s) => [s.setIdentifier, s.multiValueAnswer, s.ttl, s.values]).sort(bySetId)).toEqual(
      [
        [builtIn, true, 10, [`"${builtIn}"`]],
        [ours, true, 10, [`"${ours}"`]],
      ].sort(bySetId),
    );
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values.sort()).toEqual([builtIn, ours].sort());
    expect(await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', ours, staticConfig(emu))).toEqual(ok);
    // The built-in provider can still delete its set exactly as it wrote it.
    await sdk(emu).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: builtInSet }] } }));
    expect(txtSets()).toEqual([]);
    // And a CleanUp of a value the built-in provider wrote removes just that set.
    const other = randomKey();
    await sdk(emu).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: builtInSet }, { Action: 'CREATE', ResourceRecordSet: { ...builtInSet, SetIdentifier: other, ResourceRecords: [{ Value: `"${other}"` }] } }] } }));
    expect(await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', builtIn, staticConfig(emu))).toEqual(ok);
    expect(txtSets().map((s) => s.setIdentifier)).toEqual([other]);
  });

  it('a value longer than 255 characters is written as several quoted strings and resolves to the whole value', async () => {
    const fqdn = fresh();
    const key = 'k'.repeat(300);
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    const set = emu.store.zones.find((z) => z.name === 'example.test.')!.sets.find((s) => s.name === fqdn)!;
    expect(set.values).toEqual([`"${'k'.repeat(255)}" "${'k'.repeat(45)}"`]);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual([key]);
    expect(await run(route53Solver, emu, 'CleanUp', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([]);
  });

  it('refuses to touch weighted TXT sets at the name, saying why', async () => {
    const fqdn = fresh();
    await sdk(emu).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: emu.zoneId('example.test'),
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: fqdn, Type: 'TXT', TTL: 60, SetIdentifier: 'w', Weight: 1, ResourceRecords: [{ Value: '"w"' }] } }] },
      }),
    );
    const out = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu));
    expect((out as { message: string }).message).toContain('routing policy other than multivalue answer');
  });

  it('parallel Presents without batching race through compare-and-swap conflicts and all land', async () => {
    const fqdn = fresh();
    const keys = Array.from({ length: 8 }, randomKey);
    const unbatched = new Economy({ features: { batching: false } });
    const outcomes = await Promise.all(
      keys.map((k) => run(route53Solver, emu, 'Present', fqdn, 'example.test.', k, staticConfig(emu), { economy: unbatched, timeoutMs: 20_000 })),
    );
    expect(outcomes.every((o) => o.success)).toBe(true);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([...keys].sort());
    // More change calls than values: some batches lost the race (stale DELETE) and were retried.
    expect(emu.control.calls('ChangeResourceRecordSets')).toBeGreaterThan(keys.length);
  });
});

describe('faults', () => {
  it('retries Throttling and PriorRequestNotComplete mid-Present, then succeeds', async () => {
    const fqdn = fresh();
    emu.control.inject({ kind: 'throttle', action: 'ChangeResourceRecordSets', times: 1 });
    emu.control.inject({ kind: 'throttle', code: 'PriorRequestNotComplete', action: 'ChangeResourceRecordSets', times: 1 });
    const key = randomKey();
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu))).toEqual(ok);
    expect(emu.control.calls('ChangeResourceRecordSets')).toBe(3);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([key]);
  });

  it('retries a 5xx on the read', async () => {
    const fqdn = fresh();
    emu.control.inject({ kind: 'server-error', action: 'ListResourceRecordSets', times: 2 });
    expect(await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu))).toEqual(ok);
    expect(emu.control.calls('ListResourceRecordSets')).toBe(3);
  });

  it('a provider slower than the deadline fails clearly and leaves no record', async () => {
    const fqdn = fresh();
    emu.control.inject({ kind: 'delay', action: 'ChangeResourceRecordSets', delayMs: 2_500 });
    const started = Date.now();
    const out = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu), { timeoutMs: 800 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toMatch(/route53: Present _acme-challenge\.t\d+\.example\.test\. failed: .*(did not finish within 800 ms|aborted)/);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([]);
  });

  it('persistent throttling ends inside the deadline with a message naming the code', async () => {
    const fqdn = fresh();
    emu.control.inject({ kind: 'throttle', action: 'ListResourceRecordSets', times: 1000 });
    const out = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', randomKey(), staticConfig(emu), { timeoutMs: 1_500 });
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toContain('Throttling');
  });
});

describe('messages', () => {
  it('a wrong secret key gives SignatureDoesNotMatch with a hint, and never the secret', async () => {
    const secret = 'this-is-the-wrong-secret-key-0123456789';
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu), {
      secrets: { default: { 'route53-credentials': { 'secret-access-key': secret } } },
    });
    expect(out.success).toBe(false);
    const message = (out as { message: string }).message;
    expect(message).toContain('SignatureDoesNotMatch (HTTP 403)');
    expect(message).toContain('check secretAccessKeySecretRef');
    expect(message).not.toContain(secret);
  });

  it('an unknown access key id gives InvalidClientTokenId', async () => {
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu, { accessKeyID: 'AKIANOTKNOWN00000000' }));
    expect((out as { message: string }).message).toContain('InvalidClientTokenId (HTTP 403)');
  });
});
