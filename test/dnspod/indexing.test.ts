/**
 * DNSPod documents that a new record can take up to ~30 s to appear in DescribeRecordList. The emulator
 * models that (listingDelayMs); the solver covers the gap for records it created itself (DescribeRecord on
 * the id CreateRecord returned, never trusted without asking DNSPod), so an early CleanUp does not leak.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { createDnspodSolver } from '@dns01-webhook/solver-dnspod';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { challenge, newerConfig, run, sdkClient } from './helpers.js';

const DELAY = 1_200;
let emu: RunningDnspodEmulator;
beforeAll(async () => {
  emu = await startDnspodEmulator({ domains: ['example.test'], listingDelayMs: DELAY });
});
afterAll(() => emu.close());

describe('dnspod listing delay', () => {
  it('emulator: a new record is missing from DescribeRecordList for a while, but DescribeRecord finds it', async () => {
    const sdk = sdkClient(emu.url);
    const { RecordId } = await sdk.CreateRecord({ Domain: 'example.test', SubDomain: '_acme-challenge.idx', RecordType: 'TXT', RecordLine: '默认', Value: 'v' });
    await expect(sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.idx' })).rejects.toMatchObject({ code: 'ResourceNotFound.NoDataOfRecord' });
    expect((await sdk.DescribeRecord({ Domain: 'example.test', RecordId: RecordId! })).RecordInfo).toMatchObject({ SubDomain: '_acme-challenge.idx', Value: 'v' });
    expect((await queryTxt('_acme-challenge.idx.example.test.', { server: emu.dns.address })).values).toEqual(['v']);
    await sleep(DELAY + 100);
    expect((await sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.idx' })).RecordList).toHaveLength(1);
    await sdk.DeleteRecord({ Domain: 'example.test', RecordId: RecordId! });
  });

  it('Present twice and CleanUp right away (same replica): one record created, and it is removed', async () => {
    const solver = createDnspodSolver();
    const fqdn = '_acme-challenge.fast.example.test.';
    const config = newerConfig(emu.url);
    expect(await run(solver, challenge('Present', fqdn, 'example.test.', 'k-fast', config))).toEqual({ success: true });
    // The second CreateRecord is answered DomainRecordExist (DNSPod checks duplicates on write, not in its index).
    expect(await run(solver, challenge('Present', fqdn, 'example.test.', 'k-fast', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([expect.objectContaining({ fqdn, value: 'k-fast' })]);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual(['k-fast']);
    expect(await run(solver, challenge('CleanUp', fqdn, 'example.test.', 'k-fast', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });

  it('CleanUp on another replica inside the listing delay removes the value (issue 7 §5: it used to leak)', async () => {
    const fqdn = '_acme-challenge.replica.example.test.';
    const config = newerConfig(emu.url);
    expect(await run(createDnspodSolver(), challenge('Present', fqdn, 'example.test.', 'k-rep', config))).toEqual({ success: true });
    const other = createDnspodSolver();
    const started = Date.now();
    expect(await run(other, challenge('CleanUp', fqdn, 'example.test.', 'k-rep', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
    // It waited for DNSPod's index (the probe said the value exists), not longer than needed.
    expect(Date.now() - started).toBeLessThan(DELAY + 4_000);
  });

  it('CleanUp of a value that is really gone, on a replica that did not delete it: the probe record is removed again', async () => {
    const fqdn = '_acme-challenge.never.example.test.';
    const creates = emu.control.calls('CreateRecord');
    expect(await run(createDnspodSolver(), challenge('CleanUp', fqdn, 'example.test.', 'k-never', newerConfig(emu.url)))).toEqual({ success: true });
    expect(emu.control.calls('CreateRecord') - creates).toBe(1);
    expect(emu.records()).toEqual([]);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual([]);
  });

  it('two replicas, 40 values, every CleanUp on the other replica inside the delay: 0 leaked', async () => {
    const [a, b] = [createDnspodSolver(), createDnspodSolver()];
    const config = newerConfig(emu.url);
    const names = Array.from({ length: 40 }, (_, i) => [`_acme-challenge.r${i}.example.test.`, `k-r${i}`] as const);
    const presented = await Promise.all(names.map(([fqdn, key]) => run(a, challenge('Present', fqdn, 'example.test.', key, config), 15_000)));
    expect(presented.every((o) => o.success)).toBe(true);
    expect(emu.records()).toHaveLength(40);
    const cleaned = await Promise.all(names.map(([fqdn, key]) => run(b, challenge('CleanUp', fqdn, 'example.test.', key, config), 15_000)));
    expect(cleaned.filter((o) => !o.success)).toEqual([]);
    expect(emu.records()).toEqual([]);
  });

  it('a remembered record deleted elsewhere is not trusted: DescribeRecord says it is gone', async () => {
    const solver = createDnspodSolver();
    const fqdn = '_acme-challenge.gone.example.test.';
    const config = newerConfig(emu.url);
    expect(await run(solver, challenge('Present', fqdn, 'example.test.', 'k-gone', config))).toEqual({ success: true });
    const [record] = emu.records();
    await sdkClient(emu.url).DeleteRecord({ Domain: 'example.test', RecordId: record!.id });
    const [deletes, creates] = [emu.control.calls('DeleteRecord'), emu.control.calls('CreateRecord')];
    expect(await run(solver, challenge('CleanUp', fqdn, 'example.test.', 'k-gone', config))).toEqual({ success: true });
    // Not found, and not deleted by this replica: the (disabled) probe record is created and removed again.
    expect(emu.control.calls('CreateRecord') - creates).toBe(1);
    expect(emu.control.calls('DeleteRecord') - deletes).toBe(1);
    expect(emu.records()).toEqual([]);
    // And Present creates it again instead of believing the stale memory.
    expect(await run(solver, challenge('Present', fqdn, 'example.test.', 'k-gone', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([expect.objectContaining({ fqdn, value: 'k-gone' })]);
    expect(await run(solver, challenge('CleanUp', fqdn, 'example.test.', 'k-gone', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });
});
