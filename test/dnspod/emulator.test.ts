/**
 * The DNSPod emulator is as strict as the documented API: signatures, the timestamp window, parameter
 * checks, the documented business error codes (HTTP 200), pagination, quotas — driven through the official
 * SDK (and raw requests signed by the SDK's signer), with records checked through real DNS.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt, querySoa } from '@dns01-webhook/core';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { rawCall, sdkClient, SECRET_ID, SECRET_KEY, type SdkClient } from './helpers.js';

let emu: RunningDnspodEmulator;
let sdk: SdkClient;

beforeAll(async () => {
  emu = await startDnspodEmulator({
    domains: ['example.test', { name: 'paid.test', grade: 'DP_PRO' }, '中文.test', 'sub.parent.test', 'parent.test'],
  });
  sdk = sdkClient(emu.url);
});
afterAll(() => emu.close());

async function sdkError(p: Promise<unknown>): Promise<{ code?: string; message: string; httpCode?: number; requestId?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

const txt = (Domain: string, SubDomain: string, Value: string, extra: object = {}) =>
  sdk.CreateRecord({ Domain, SubDomain, RecordType: 'TXT', RecordLine: '默认', Value, TTL: 600, ...extra });

describe('DNSPod emulator: authentication (TC3-HMAC-SHA256)', () => {
  it('accepts the official SDK signature and serves the record over real DNS', async () => {
    const created = await txt('example.test', '_acme-challenge.www', 'v-sdk');
    expect(created.RecordId).toBeGreaterThan(0);
    const dns = await queryTxt('_acme-challenge.www.example.test.', { server: emu.dns.address });
    expect(dns).toMatchObject({ rcode: 'NOERROR', authoritative: true, values: ['v-sdk'] });
    expect((await queryTxt('_acme-challenge.www.example.test.', { server: emu.dns.address, tcp: true })).values).toEqual(['v-sdk']);
    const soa = await querySoa('example.test.', { server: emu.dns.address });
    expect(soa.soa?.zone).toBe('example.test.');
    await sdk.DeleteRecord({ Domain: 'example.test', RecordId: created.RecordId! });
    expect((await queryTxt('_acme-challenge.www.example.test.', { server: emu.dns.address })).values).toEqual([]);
  });

  it('wrong SecretKey → AuthFailure.SignatureFailure (HTTP 200 error body)', async () => {
    const bad = sdkClient(emu.url, { secretId: SECRET_ID, secretKey: 'not-the-key' });
    expect(await sdkError(bad.DescribeDomainList({}))).toMatchObject({ code: 'AuthFailure.SignatureFailure' });
    const raw = await rawCall(emu.url, 'DescribeDomainList', {}, { secretKey: 'not-the-key' });
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    expect(raw.json.Response.RequestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('unknown SecretId → AuthFailure.SecretIdNotFound', async () => {
    const bad = sdkClient(emu.url, { secretId: 'AKIDunknown', secretKey: SECRET_KEY });
    expect(await sdkError(bad.DescribeDomainList({}))).toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
  });

  it('timestamp more than 5 minutes off → AuthFailure.SignatureExpire; within the window → accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await rawCall(emu.url, 'DescribeDomainList', {}, { timestamp: now - 301 })).json.Response.Error.Code).toBe('AuthFailure.SignatureExpire');
    expect((await rawCall(emu.url, 'DescribeDomainList', {}, { timestamp: now + 400 })).json.Response.Error.Code).toBe('AuthFailure.SignatureExpire');
    expect((await rawCall(emu.url, 'DescribeDomainList', {}, { timestamp: now - 200 })).json.Response.Error).toBeUndefined();
    // A server whose clock is ahead rejects the SDK's fresh signatures too.
    const skewed = await startDnspodEmulator({ domains: ['example.test'], clockOffsetSeconds: 400 });
    try {
      expect(await sdkError(sdkClient(skewed.url).DescribeDomainList({}))).toMatchObject({ code: 'AuthFailure.SignatureExpire' });
    } finally {
      await skewed.close();
    }
  });

  it('a body changed after signing, or a missing Authorization → rejected', async () => {
    const tampered = await rawCall(emu.url, 'DescribeRecordList', { Domain: 'example.test' }, { sendBody: JSON.stringify({ Domain: 'paid.test' }) });
    expect(tampered.json.Response.Error.Code).toBe('AuthFailure.SignatureFailure');
    const noAuth = await rawCall(emu.url, 'DescribeDomainList', {}, { headers: { Authorization: '' } });
    expect(noAuth.json.Response.Error.Code).toBe('AuthFailure.InvalidAuthorization');
  });

  it('unknown action, wrong version, unknown or mistyped parameters → gateway errors', async () => {
    expect((await rawCall(emu.url, 'DescribeNothing', {})).json.Response.Error.Code).toBe('InvalidAction');
    expect((await rawCall(emu.url, 'DescribeDomainList', {}, { version: '2018-08-26' })).json.Response.Error.Code).toBe('NoSuchVersion');
    expect((await rawCall(emu.url, 'DescribeRecordList', { Domain: 'example.test', Sub: 'x' })).json.Response.Error.Code).toBe('UnknownParameter');
    expect((await rawCall(emu.url, 'DescribeRecordList', { Domain: 'example.test', Limit: '10' })).json.Response.Error.Code).toBe('InvalidParameter');
    expect((await rawCall(emu.url, 'CreateRecord', { Domain: 'example.test', RecordType: 'TXT', Value: 'x' })).json.Response.Error.Code).toBe('MissingParameter');
  });
});

describe('DNSPod emulator: documented business errors', () => {
  it('an empty list is ResourceNotFound.NoDataOfRecord (unless ErrorOnEmpty=no)', async () => {
    expect(await sdkError(sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.none', RecordType: 'TXT' }))).toMatchObject({
      code: 'ResourceNotFound.NoDataOfRecord',
    });
    const quiet = await sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.none', ErrorOnEmpty: 'no' });
    expect(quiet.RecordList).toEqual([]);
    // Every domain carries DNSPod's two default NS records at @.
    const all = await sdk.DescribeRecordList({ Domain: 'example.test' });
    expect(all.RecordList?.filter((r) => r.Type === 'NS' && r.DefaultNS)).toHaveLength(2);
  });

  it('the same name+type+value+line twice → InvalidParameter.DomainRecordExist; another value is fine', async () => {
    await txt('example.test', '_acme-challenge.dup', 'same');
    expect(await sdkError(txt('example.test', '_acme-challenge.dup', 'same'))).toMatchObject({ code: 'InvalidParameter.DomainRecordExist' });
    await txt('example.test', '_acme-challenge.dup', 'other');
    const list = await sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.dup', RecordType: 'TXT' });
    expect(list.RecordList?.map((r) => r.Value).sort()).toEqual(['other', 'same']);
  });

  it('TTL below the plan minimum → LimitExceeded.RecordTtlLimit; the plan floor is in DescribeDomainPurview', async () => {
    expect(await sdkError(txt('example.test', '_acme-challenge.ttl', 'v', { TTL: 300 }))).toMatchObject({ code: 'LimitExceeded.RecordTtlLimit' });
    const purview = await sdk.DescribeDomainPurview({ Domain: 'example.test' });
    expect(purview.PurviewList).toContainEqual({ Name: '记录 TTL 最低', Value: '600' });
    await txt('paid.test', '_acme-challenge.ttl', 'v', { TTL: 60 });
  });

  it('unknown domain → InvalidParameterValue.DomainNotExists; a name inside a domain → InvalidParameter.DomainInvalid', async () => {
    expect(await sdkError(sdk.DescribeDomain({ Domain: 'nowhere.test' }))).toMatchObject({ code: 'InvalidParameterValue.DomainNotExists' });
    expect(await sdkError(txt('www.example.test', '_acme-challenge', 'v'))).toMatchObject({ code: 'InvalidParameter.DomainInvalid' });
    // A registered sub-zone is a domain of its own, and DescribeDomain says so.
    const sub = await sdk.DescribeDomain({ Domain: 'sub.parent.test' });
    expect(sub.DomainInfo).toMatchObject({ Domain: 'sub.parent.test', IsSubDomain: true });
  });

  it('deleting an unknown record id → InvalidParameter.RecordIdInvalid', async () => {
    expect(await sdkError(sdk.DeleteRecord({ Domain: 'example.test', RecordId: 987654 }))).toMatchObject({ code: 'InvalidParameter.RecordIdInvalid' });
  });

  it('a split-zone line other than 默认 (or RecordLineId 0) → InvalidParameter.RecordLineInvalid', async () => {
    expect(await sdkError(txt('example.test', '_acme-challenge.line', 'v', { RecordLine: '电信' }))).toMatchObject({
      code: 'InvalidParameter.RecordLineInvalid',
    });
    await sdk.CreateRecord({ Domain: 'example.test', SubDomain: '_acme-challenge.line', RecordType: 'TXT', RecordLine: '', RecordLineId: '0', Value: 'v' });
  });
});

describe('DNSPod emulator: listing, IDN, quotas and faults', () => {
  it('paginates with Offset/Limit and RecordCountInfo; Limit > 3000 is refused', async () => {
    for (let i = 0; i < 7; i++) await txt('example.test', '_acme-challenge.page', `p${i}`);
    const seen: string[] = [];
    for (let offset = 0; offset < 7; offset += 3) {
      const page = await sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.page', RecordType: 'TXT', Offset: offset, Limit: 3 });
      expect(page.RecordCountInfo).toMatchObject({ TotalCount: 7, ListCount: Math.min(3, 7 - offset) });
      seen.push(...page.RecordList!.map((r) => r.Value!));
    }
    expect(seen.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(await sdkError(sdk.DescribeRecordList({ Domain: 'example.test', Subdomain: '_acme-challenge.page', Offset: 9, Limit: 3 }))).toMatchObject({
      code: 'ResourceNotFound.NoDataOfRecord',
    });
    expect(await sdkError(sdk.DescribeRecordList({ Domain: 'example.test', Limit: 3001 }))).toMatchObject({ code: 'InvalidParameterValue.LimitInvalid' });
    const dns = await queryTxt('_acme-challenge.page.example.test.', { server: emu.dns.address });
    expect(dns.values).toHaveLength(7);
  });

  it('IDN: Domain in Unicode or punycode; names come back in Unicode; DNS serves punycode', async () => {
    const info = await sdk.DescribeDomain({ Domain: 'xn--fiq228c.test' });
    expect(info.DomainInfo).toMatchObject({ Domain: '中文.test', Punycode: 'xn--fiq228c.test' });
    await txt('中文.test', '_acme-challenge.xn--fsqu00a', 'idn-value');
    const list = await sdk.DescribeRecordList({ Domain: 'xn--fiq228c.test', Subdomain: '_acme-challenge.例子', RecordType: 'TXT' });
    expect(list.RecordList?.map((r) => r.Name)).toEqual(['_acme-challenge.例子']);
    const dns = await queryTxt('_acme-challenge.xn--fsqu00a.xn--fiq228c.test.', { server: emu.dns.address });
    expect(dns.values).toEqual(['idn-value']);
  });

  it('over a quota → RequestLimitExceeded (HTTP 200); the documented quotas are on by default', async () => {
    emu.control.setQuota({ action: 'DescribeDomainList', burst: 2, perSecond: 0.01 });
    await sdk.DescribeDomainList({});
    await sdk.DescribeDomainList({});
    const raw = await rawCall(emu.url, 'DescribeDomainList', {});
    expect(raw.status).toBe(200);
    expect(raw.json.Response.Error.Code).toBe('RequestLimitExceeded');
    expect(await sdkError(sdk.DescribeDomainList({}))).toMatchObject({ code: 'RequestLimitExceeded' });
    emu.control.setQuota({ action: 'DescribeDomainList', burst: 100, perSecond: 100 });
    // A fresh emulator enforces DescribeRecordList 100/s: a burst of 250 in one go cannot all pass.
    const fresh = await startDnspodEmulator({ domains: ['example.test'] });
    try {
      const client = sdkClient(fresh.url);
      const results = await Promise.allSettled(
        Array.from({ length: 250 }, () => client.DescribeRecordList({ Domain: 'example.test', ErrorOnEmpty: 'no' })),
      );
      const throttled = results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'RequestLimitExceeded');
      expect(throttled.length).toBeGreaterThan(0);
      expect(fresh.control.calls('DescribeRecordList')).toBe(250);
    } finally {
      await fresh.close();
    }
  });

  it('injected 5xx reaches the SDK as httpCode 502; the control API dumps records and counts calls', async () => {
    emu.control.inject({ kind: 'server-error', action: 'DescribeDomain' });
    expect(await sdkError(sdk.DescribeDomain({ Domain: 'example.test' }))).toMatchObject({ httpCode: 502 });
    await sdk.DescribeDomain({ Domain: 'example.test' });
    const dump = (await (await fetch(`${emu.url}/_emulator/records`)).json()) as Array<{ fqdn: string; value: string }>;
    expect(dump).toContainEqual(expect.objectContaining({ fqdn: '_acme-challenge.dup.example.test.', value: 'same' }));
    const calls = (await (await fetch(`${emu.url}/_emulator/calls`)).json()) as Record<string, number>;
    expect(calls.DescribeDomain).toBeGreaterThanOrEqual(2);
  });
});

describe('DNSPod emulator: standalone entry (e2e tier)', () => {
  it('main.ts prints {url, dns, secretId} and serves the API and DNS until SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'test/emulators/dnspod/main.ts', '--host', '127.0.0.1', '--port', '0', '--dns-port', '0', '--zones', 'e2e.test,b.test', '--secret-id', 'AKIDe2e', '--secret-key', 'e2e-key'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`main.ts exited with ${code}`)));
      });
      const ready = JSON.parse(line) as { url: string; dns: string; secretId: string };
      expect(ready.secretId).toBe('AKIDe2e');
      const client = sdkClient(ready.url, { secretId: 'AKIDe2e', secretKey: 'e2e-key' });
      await client.CreateRecord({ Domain: 'e2e.test', SubDomain: '_acme-challenge', RecordType: 'TXT', RecordLine: '默认', Value: 'from-main', TTL: 600 });
      expect((await queryTxt('_acme-challenge.e2e.test.', { server: ready.dns })).values).toEqual(['from-main']);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 20_000);
});
