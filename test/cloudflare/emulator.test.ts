/**
 * The Cloudflare emulator is as strict as the documented API: checked with the official SDK on the wire
 * (and raw HTTP where the SDK would hide the answer), plus real DNS queries for what it serves.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Cloudflare, { APIError } from 'cloudflare';
import { queryTxt } from '@dns01-webhook/core';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { EMAIL, GLOBAL_KEY, OTHER_ZONE, TOKEN_ALL, TOKEN_OTHER_ONLY, TOKEN_UNKNOWN, ZONE, startEmulator } from './fixtures.js';

let emu: CloudflareEmulator;
const sdk = (opts: { apiToken?: string; apiKey?: string; apiEmail?: string }) =>
  new Cloudflare({ baseURL: emu.url, apiToken: opts.apiToken ?? null, apiKey: opts.apiKey ?? null, apiEmail: opts.apiEmail ?? null, userServiceKey: null, maxRetries: 0, logLevel: 'off' });

async function raw(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function apiError(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(() => emu.control.reset());

describe('cloudflare emulator: auth', () => {
  it('scopes a token to its zones: another zone is invisible in GET /zones?name= and 403 10000 on its dns_records', async () => {
    const scoped = sdk({ apiToken: TOKEN_OTHER_ONLY });
    expect((await scoped.zones.list({ name: OTHER_ZONE })).result.map((z) => z.name)).toEqual([OTHER_ZONE]);
    expect((await scoped.zones.list({ name: ZONE })).result).toEqual([]);
    const all = await scoped.zones.list();
    expect(all.result.map((z) => z.name)).toEqual([OTHER_ZONE]);

    const err = await apiError(scoped.dns.records.list({ zone_id: emu.zoneId(ZONE) }));
    expect(err.status).toBe(403);
    expect(err.errors).toEqual([{ code: 10000, message: 'Authentication error' }]);
  });

  it('answers an unknown token with 403 10000 "Authentication error" and a malformed one with 400 6003/6111', async () => {
    const err = await apiError(sdk({ apiToken: TOKEN_UNKNOWN }).zones.list({ name: ZONE }));
    expect(err.status).toBe(403);
    expect(err.errors[0]).toMatchObject({ code: 10000, message: 'Authentication error' });

    const bad = await raw('GET', '/zones', bearer('short'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, result: null, errors: [{ code: 6003, error_chain: [{ code: 6111 }] }] });
  });

  it('accepts e-mail + global key (every zone), and rejects a wrong key, a token-shaped key, and a missing e-mail', async () => {
    const byKey = sdk({ apiEmail: EMAIL, apiKey: GLOBAL_KEY });
    expect((await byKey.zones.list()).result.map((z) => z.name)).toEqual(['example.test', 'other.test', 'sub.deep.test']);

    const wrong = await apiError(sdk({ apiEmail: EMAIL, apiKey: 'f'.repeat(37) }).zones.list());
    expect([wrong.status, wrong.errors[0]?.code]).toEqual([403, 9103]);

    const tokenAsKey = await raw('GET', '/zones', { 'x-auth-email': EMAIL, 'x-auth-key': TOKEN_ALL });
    expect(tokenAsKey.status).toBe(400);
    expect(tokenAsKey.body.errors[0]).toMatchObject({ code: 6003, error_chain: [{ code: 6103, message: 'Invalid format for X-Auth-Key header' }] });

    const noEmail = await raw('GET', '/zones', { 'x-auth-key': GLOBAL_KEY });
    expect([noEmail.status, noEmail.body.errors[0].code]).toEqual([400, 9106]);
  });

  it('rejects a request carrying both a token and key headers (what SDK 7.x sends when both are configured)', async () => {
    // The SDK sends every auth header configured: apiToken + apiKey/apiEmail → Authorization and X-Auth-*.
    const both = sdk({ apiToken: TOKEN_ALL, apiEmail: EMAIL, apiKey: GLOBAL_KEY });
    const err = await apiError(both.zones.list());
    expect(err.status).toBe(400);
    expect(err.errors[0]).toMatchObject({ code: 6003, message: 'Invalid request headers' });
    const last = emu.requests.at(-1)!;
    expect(last.headers['authorization']).toBe(`Bearer ${TOKEN_ALL}`);
    expect(last.headers['x-auth-key']).toBe(GLOBAL_KEY);
  });

  it('answers no credentials at all with 403 10000', async () => {
    const res = await raw('GET', '/zones', {});
    expect([res.status, res.body.errors[0].code]).toEqual([403, 10000]);
  });
});

describe('cloudflare emulator: zones and records', () => {
  const cf = () => sdk({ apiToken: TOKEN_ALL });

  it('paginates dns_records and answers a page past the end with an EMPTY page (the SDK stops there)', async () => {
    const zoneId = emu.zoneId(ZONE);
    const name = `_acme-challenge.pages.${ZONE}`;
    for (let i = 0; i < 12; i++) await cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: `v${i}`, ttl: 60 });

    const first = await cf().dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name }, per_page: 5 });
    expect(first.result).toHaveLength(5);
    expect(first.result_info).toMatchObject({ page: 1, per_page: 5, count: 5, total_count: 12, total_pages: 3 });

    const past = await raw('GET', `/zones/${zoneId}/dns_records?type=TXT&name=${name}&per_page=5&page=4`, bearer(TOKEN_ALL));
    expect(past.status).toBe(200);
    expect(past.body).toMatchObject({ success: true, result: [], result_info: { page: 4, count: 0, total_count: 12 } });

    emu.control.reset();
    const all: string[] = [];
    for await (const r of cf().dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name }, per_page: 5 })) all.push((r as { content: string }).content);
    expect(all.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`).sort());
    // pages 1..3, then the empty page 4 that ends the SDK's auto-pagination
    expect(emu.control.calls('GET dns_records')).toBe(4);
    const pages = emu.requests.slice(-4).map((r) => new URLSearchParams(r.query).get('page'));
    expect(pages).toEqual([null, '2', '3', '4']);
  });

  it('filters by exact name (name and name.exact) and content.exact; per_page out of bounds is a 400', async () => {
    const zoneId = emu.zoneId(ZONE);
    await cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name: `_acme-challenge.filter.${ZONE}`, content: 'one', ttl: 60 });
    await cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name: `x._acme-challenge.filter.${ZONE}`, content: 'two', ttl: 60 });
    const exact = await cf().dns.records.list({ zone_id: zoneId, name: { exact: `_acme-challenge.filter.${ZONE}` } });
    expect(exact.result.map((r) => r.content)).toEqual(['one']);
    expect(emu.requests.at(-1)!.query).toContain('name.exact=');
    const plain = await raw('GET', `/zones/${zoneId}/dns_records?name=_acme-challenge.filter.${ZONE}`, bearer(TOKEN_ALL));
    expect(plain.body.result.map((r: { content: string }) => r.content)).toEqual(['one']);
    const byContent = await cf().dns.records.list({ zone_id: zoneId, content: { exact: 'two' } });
    expect(byContent.result.map((r) => r.name)).toEqual([`x._acme-challenge.filter.${ZONE}`]);

    const tooBig = await raw('GET', `/zones?per_page=51`, bearer(TOKEN_ALL));
    expect(tooBig.status).toBe(400);
    const zero = await raw('GET', `/zones/${zoneId}/dns_records?per_page=0`, bearer(TOKEN_ALL));
    expect(zero.status).toBe(400);
  });

  it('rejects a TTL outside 1 or 60..86400 with 400 1004 / 9021', async () => {
    for (const ttl of [0, 30, 86401]) {
      const err = await apiError(cf().dns.records.create({ zone_id: emu.zoneId(ZONE), type: 'TXT', name: `ttl.${ZONE}`, content: 'x', ttl }));
      expect(err.status).toBe(400);
      expect(err.errors).toEqual([
        { code: 1004, message: 'DNS Validation Error', error_chain: [{ code: 9021, message: 'TTL must be between 60 and 86400 seconds, or 1 for Automatic.' }] },
      ]);
    }
    for (const ttl of [1, 60, 86400]) {
      await cf().dns.records.create({ zone_id: emu.zoneId(ZONE), type: 'TXT', name: `ttl-ok-${ttl}.${ZONE}`, content: 'x', ttl });
    }
  });

  it('answers an identical record with 400 81058, stores content as sent, and serves quoted or not as the same string over DNS', async () => {
    const zoneId = emu.zoneId(ZONE);
    const name = `_acme-challenge.dup.${ZONE}`;
    const created = await cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'same-value', ttl: 60 });
    expect(created).toMatchObject({ name, type: 'TXT', content: 'same-value', ttl: 60 });
    const err = await apiError(cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'same-value', ttl: 60 }));
    expect([err.status, err.errors[0]?.code, err.errors[0]?.message]).toEqual([400, 81058, 'An identical record already exists.']);
    // The quoted form answers the same string in DNS, so it is identical too.
    const quoted = await apiError(cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: '"same-value"', ttl: 60 }));
    expect(quoted.errors[0]?.code).toBe(81058);

    emu.seedRecord(ZONE, { name, content: '"dashboard-made"' });
    expect(emu.records().find((r) => r.content === '"dashboard-made"')).toBeDefined();
    const answer = await queryTxt(`${name}.`, { server: emu.dns.address });
    expect(answer.values.sort()).toEqual(['dashboard-made', 'same-value']);
  });

  it('deletes by id ({result:{id}}), answers an unknown id with 404 81044 and a malformed id with 7003', async () => {
    const zoneId = emu.zoneId(ZONE);
    const rec = await cf().dns.records.create({ zone_id: zoneId, type: 'TXT', name: `del.${ZONE}`, content: 'bye', ttl: 1 });
    expect(await cf().dns.records.delete(rec.id, { zone_id: zoneId })).toEqual({ id: rec.id });
    const again = await apiError(cf().dns.records.delete(rec.id, { zone_id: zoneId }));
    expect([again.status, again.errors[0]?.code, again.errors[0]?.message]).toEqual([404, 81044, 'Record does not exist.']);
    const malformed = await apiError(cf().dns.records.delete('not-an-id', { zone_id: zoneId }));
    expect(malformed.errors[0]?.code).toBe(7003);
    const otherZone = await cf().dns.records.create({ zone_id: emu.zoneId(OTHER_ZONE), type: 'TXT', name: `x.${OTHER_ZONE}`, content: 'keep', ttl: 60 });
    const wrongZone = await apiError(cf().dns.records.delete(otherZone.id, { zone_id: zoneId }));
    expect(wrongZone.errors[0]?.code).toBe(81044);
  });

  it('answers 429 971 with Retry-After once the quota is spent, and the throttle fault looks the same', async () => {
    emu.control.setQuota({ action: '*', burst: 3, perSecond: 0.001 });
    for (let i = 0; i < 3; i++) await cf().zones.list({ name: ZONE });
    const limited = await raw('GET', `/zones?name=${ZONE}`, bearer(TOKEN_ALL));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ success: false, errors: [{ code: 971 }] });
    emu.control.reset();

    emu.control.inject({ kind: 'throttle', action: 'POST dns_records' });
    const err = await apiError(cf().dns.records.create({ zone_id: emu.zoneId(ZONE), type: 'TXT', name: `t.${ZONE}`, content: 'x', ttl: 60 }));
    expect(err.status).toBe(429);
    expect(err.headers?.get('retry-after')).toBe('1');
  });

  it('serves its active zones over DNS (SOA, TXT over UDP and TCP), refuses names outside them', async () => {
    const { querySoa } = await import('@dns01-webhook/core');
    const soa = await querySoa(`${ZONE}.`, { server: emu.dns.address });
    expect(soa).toMatchObject({ rcode: 'NOERROR', authoritative: true, soa: { zone: `${ZONE}.` } });
    const name = `_acme-challenge.dnscheck.${ZONE}`;
    await cf().dns.records.create({ zone_id: emu.zoneId(ZONE), type: 'TXT', name, content: 'over-dns', ttl: 60 });
    for (const tcp of [false, true]) {
      expect(await queryTxt(`${name}.`, { server: emu.dns.address, tcp })).toMatchObject({ rcode: 'NOERROR', values: ['over-dns'], authoritative: true });
    }
    expect((await queryTxt(`_acme-challenge.nothing.${ZONE}.`, { server: emu.dns.address })).values).toEqual([]);
    expect((await queryTxt('_acme-challenge.elsewhere.invalid.', { server: emu.dns.address })).rcode).toBe('REFUSED');
  });
});
