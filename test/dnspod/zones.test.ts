/**
 * Where the dnspod solver writes: the DNSPod domain hosting resolvedZone (a registered sub-zone, or a parent
 * domain holding the sub-zone's names), IDN domains, the TTL floor of the plan, and listing across pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { conformance } from '@dns01-webhook/core/conformance';
import dnspod, { createDnspodSolver } from '@dns01-webhook/solver-dnspod';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { challenge, NAMESPACE, newerConfig, run, sdkClient, secretsFor } from './helpers.js';

let emu: RunningDnspodEmulator;
beforeAll(async () => {
  emu = await startDnspodEmulator({
    domains: ['parent.test', 'sub.parent.test', '中文.test', { name: 'paid.test', grade: 'DP_PRO' }, 'page.test'],
  });
});
afterAll(() => emu.close());

const present = (fqdn: string, zone: string, key: string, extra: Record<string, unknown> = {}) =>
  run(dnspod, challenge('Present', fqdn, zone, key, newerConfig(emu.url, extra)));
const cleanUp = (fqdn: string, zone: string, key: string, extra: Record<string, unknown> = {}) =>
  run(dnspod, challenge('CleanUp', fqdn, zone, key, newerConfig(emu.url, extra)));

describe('dnspod zone discovery', () => {
  it('a sub-zone registered as its own domain gets the record, not its parent', async () => {
    const fqdn = '_acme-challenge.www.sub.parent.test.';
    expect(await present(fqdn, 'sub.parent.test.', 'k-sub')).toEqual({ success: true });
    expect(emu.records()).toEqual([expect.objectContaining({ domain: 'sub.parent.test', name: '_acme-challenge.www', value: 'k-sub' })]);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual(['k-sub']);
    expect(await cleanUp(fqdn, 'sub.parent.test.', 'k-sub')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });

  it('a zone that is not a DNSPod domain is written into the parent domain that hosts it', async () => {
    // cert-manager resolved "deep.parent.test." (e.g. a delegated sub-zone), but DNSPod only has parent.test.
    const fqdn = '_acme-challenge.deep.parent.test.';
    expect(await present(fqdn, 'deep.parent.test.', 'k-deep')).toEqual({ success: true });
    expect(emu.records()).toEqual([expect.objectContaining({ domain: 'parent.test', name: '_acme-challenge.deep', value: 'k-deep' })]);
    expect(await cleanUp(fqdn, 'deep.parent.test.', 'k-deep')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });

  it('no hosting domain → a message naming the candidates and the domains the key sees', async () => {
    const outcome = await present('_acme-challenge.www.nowhere.test.', 'www.nowhere.test.', 'k');
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toMatch(
      /no DNSPod domain hosts _acme-challenge\.www\.nowhere\.test\.: tried www\.nowhere\.test, nowhere\.test; this API key sees \[parent\.test, sub\.parent\.test, 中文\.test, paid\.test, page\.test\]/,
    );
  });

  it('IDN domain: conformance Basic + strict Extended on a Unicode zone (names compared in punycode)', async () => {
    const kit = conformance({
      solver: dnspod,
      config: newerConfig(emu.url),
      zone: 'xn--fiq228c.test.',
      fqdn: '_acme-challenge.xn--fsqu00a.xn--fiq228c.test.',
      nameserver: emu.dns.address,
      resourceNamespace: NAMESPACE,
      secretsFor,
      pollIntervalMs: 100,
      timeoutMs: 5_000,
    });
    await kit.basic();
    await kit.extended();
    expect(emu.records()).toEqual([]);
  });

  it('IDN domain: a value presented while another exists is found again from the Unicode listing', async () => {
    const sdk = sdkClient(emu.url);
    await sdk.CreateRecord({ Domain: '中文.test', SubDomain: '_acme-challenge.例子', RecordType: 'TXT', RecordLine: '默认', Value: 'keep-me', TTL: 600 });
    const fqdn = '_acme-challenge.xn--fsqu00a.xn--fiq228c.test.';
    // Already there (listed as "_acme-challenge.例子"): Present must not create a second copy
    // (its one CreateRecord is answered DomainRecordExist).
    expect(await present(fqdn, 'xn--fiq228c.test.', 'keep-me')).toEqual({ success: true });
    expect(emu.records().filter((r) => r.value === 'keep-me')).toHaveLength(1);
    expect(await cleanUp(fqdn, 'xn--fiq228c.test.', 'keep-me')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });
});

describe('dnspod TTL and listing', () => {
  it('TTL below the plan minimum → a message naming the minimum and the fix; nothing created', async () => {
    const outcome = await present('_acme-challenge.ttl.parent.test.', 'parent.test.', 'k-ttl', { ttl: 300 });
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toContain(
      'DNSPod refused TTL 300 for _acme-challenge.ttl.parent.test. (LimitExceeded.RecordTtlLimit): the plan of parent.test (DP_FREE) allows at least 600; set config.ttl ≥ 600',
    );
    expect(emu.records()).toEqual([]);
  });

  it('a paid plan accepts a short TTL', async () => {
    const fqdn = '_acme-challenge.paid.test.';
    expect(await present(fqdn, 'paid.test.', 'k-paid', { ttl: 60 })).toEqual({ success: true });
    expect(emu.records()).toEqual([expect.objectContaining({ ttl: 60, value: 'k-paid' })]);
    expect(await cleanUp(fqdn, 'paid.test.', 'k-paid')).toEqual({ success: true });
  });

  it('lists every page: CleanUp finds a value on the last page and removes only it; Present adds no copy', async () => {
    const small = createDnspodSolver({ pageSize: 2 });
    const sdk = sdkClient(emu.url);
    const fqdn = '_acme-challenge.page.test.';
    for (const v of ['o1', 'o2', 'o3', 'o4', 'target']) {
      await sdk.CreateRecord({ Domain: 'page.test', SubDomain: '_acme-challenge', RecordType: 'TXT', RecordLine: '默认', Value: v, TTL: 600 });
    }
    const lists = emu.control.calls('DescribeRecordList');
    const creates = emu.control.calls('CreateRecord');
    expect(await run(small, challenge('Present', fqdn, 'page.test.', 'target', newerConfig(emu.url)))).toEqual({ success: true });
    // The call floor: one CreateRecord (answered DomainRecordExist), no listing.
    expect(emu.control.calls('CreateRecord') - creates).toBe(1);
    expect(emu.control.calls('DescribeRecordList')).toBe(lists);
    expect(emu.records()).toHaveLength(5);
    expect(await run(small, challenge('CleanUp', fqdn, 'page.test.', 'target', newerConfig(emu.url)))).toEqual({ success: true });
    expect(emu.control.calls('DescribeRecordList') - lists).toBe(3);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values.sort()).toEqual(['o1', 'o2', 'o3', 'o4']);
    for (const r of emu.records()) await sdk.DeleteRecord({ Domain: 'page.test', RecordId: r.id });
  });

  it('other record types and other names at the domain are left alone', async () => {
    const sdk = sdkClient(emu.url);
    await sdk.CreateRecord({ Domain: 'parent.test', SubDomain: '_acme-challenge', RecordType: 'CNAME', RecordLine: '默认', Value: 'x.example.', TTL: 600 }).catch(() => undefined);
    await sdk.CreateRecord({ Domain: 'parent.test', SubDomain: '_acme-challenge.other', RecordType: 'TXT', RecordLine: '默认', Value: 'same-key', TTL: 600 });
    expect(await present('_acme-challenge.x.parent.test.', 'parent.test.', 'same-key')).toEqual({ success: true });
    expect(await cleanUp('_acme-challenge.x.parent.test.', 'parent.test.', 'same-key')).toEqual({ success: true });
    expect(emu.records().map((r) => `${r.type} ${r.fqdn} ${r.value}`).sort()).toEqual([
      'CNAME _acme-challenge.parent.test. x.example.',
      'TXT _acme-challenge.other.parent.test. same-key',
    ]);
    for (const r of emu.records()) await sdk.DeleteRecord({ Domain: 'parent.test', RecordId: r.id });
  });
});
