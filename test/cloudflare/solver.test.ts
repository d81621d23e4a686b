/**
 * The cloudflare solver against the emulator, through executeChallenge like the server runs it: quoting,
 * both auth styles (and exactly which headers go out), zone walk, permissions, races with "already exists" /
 * "does not exist", pagination, TTL, secrets namespace.
 */
import { Economy } from '@dns01-webhook/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import Cloudflare from 'cloudflare';
import { queryTxt } from '@dns01-webhook/core';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { startCloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { EMAIL, GLOBAL_KEY, TOKEN_ALL, ZONE, keyConfig, run, startEmulator, storedAt, tokenConfig } from './fixtures.js';

let emu: CloudflareEmulator;
let n = 0;
/** A fresh name per test so tests never see each other's records. */
const fresh = (zone = ZONE) => `_acme-challenge.t${++n}-${Date.now().toString(36)}.${zone}`;
const sdk = () => new Cloudflare({ baseURL: emu.url, apiToken: TOKEN_ALL, apiKey: null, apiEmail: null, userServiceKey: null, maxRetries: 0, logLevel: 'off' });

async function until(check: () => boolean, what: string, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(() => emu.control.reset());

describe('cloudflare solver: quoting', () => {
  it('finds a record the dashboard stored quoted: Present adds nothing, CleanUp removes it and keeps a different value', async () => {
    const name = fresh();
    emu.seedRecord(ZONE, { name, content: '"key-from-dashboard"' });
    emu.seedRecord(ZONE, { name, content: '"someone-else"' });

    // Listing first (the call floor off): the quoted record is recognised, nothing is created.
    const listing = new Economy({ features: { callFloor: false } });
    expect(await run('Present', `${name}.`, 'key-from-dashboard', tokenConfig(emu), { economy: listing })).toEqual({ success: true });
    expect(emu.control.calls('POST dns_records')).toBe(0);
    // The call floor: one create, answered 81058 (identical record): still no second copy.
    expect(await run('Present', `${name}.`, 'key-from-dashboard', tokenConfig(emu))).toEqual({ success: true });
    expect(emu.control.calls('POST dns_records')).toBe(1);
    expect(storedAt(emu, name).sort()).toEqual(['"key-from-dashboard"', '"someone-else"']);

    expect(await run('CleanUp', `${name}.`, 'key-from-dashboard', tokenConfig(emu))).toEqual({ success: true });
    expect(storedAt(emu, name)).toEqual(['"someone-else"']);
    expect((await queryTxt(`${name}.`, { server: emu.dns.address })).values).toEqual(['someone-else']);
  });

  it('writes the key unquoted with the default TTL 60, or the configured one', async () => {
    const name = fresh();
    expect(await run('Present', `${name}.`, 'plain-key', tokenConfig(emu))).toEqual({ success: true });
    expect(emu.records().filter((r) => r.name === name).map((r) => [r.content, r.ttl])).toEqual([['plain-key', 60]]);
    const auto = fresh();
    expect(await run('Present', `${auto}.`, 'auto-ttl', tokenConfig(emu, { ttl: 1 }))).toEqual({ success: true });
    expect(emu.records().find((r) => r.name === auto)?.ttl).toBe(1);
  });
});

describe('cloudflare solver: auth', () => {
  it('sends only the Authorization header with a token (also when a stray email is configured)', async () => {
    const name = fresh();
    const before = emu.requests.length;
    expect(await run('Present', `${name}.`, 'k1', tokenConfig(emu, { email: EMAIL }))).toEqual({ success: true });
    const sent = emu.requests.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    for (const r of sent) {
      expect(r.headers['authorization']).toBe(`Bearer ${TOKEN_ALL}`);
      expect(r.headers['x-auth-key']).toBeUndefined();
      expect(r.headers['x-auth-email']).toBeUndefined();
    }
  });

  it('sends only X-Auth-Email + X-Auth-Key with a global key', async () => {
    const name = fresh();
    const before = emu.requests.length;
    expect(await run('Present', `${name}.`, 'k2', keyConfig(emu))).toEqual({ success: true });
    for (const r of emu.requests.slice(before)) {
      expect(r.headers['authorization']).toBeUndefined();
      expect([r.headers['x-auth-email'], r.headers['x-auth-key']]).toEqual([EMAIL, GLOBAL_KEY]);
    }
    expect(await run('CleanUp', `${name}.`, 'k2', keyConfig(emu))).toEqual({ success: true });
    expect(storedAt(emu, name)).toEqual([]);
  });

  it('a token without access to the zone gets an actionable message naming what was tried and the permission', async () => {
    const out = await run('Present', `${fresh()}.`, 'k3', tokenConfig(emu, { apiTokenSecretRef: { name: 'cf-token-other', key: 'api-token' } }));
    expect(out.success).toBe(false);
    const message = (out as { message: string }).message;
    expect(message).toContain('no zone found');
    expect(message).toContain('tried example.test');
    expect(message).toContain('Zone:Zone:Read');
    expect(message).not.toContain('tokenOtherZoneOnly'); // the token never appears in a message
  });

  it('an unknown token fails with code 10000 and a hint; the token is redacted', async () => {
    const out = await run('Present', `${fresh()}.`, 'k4', tokenConfig(emu, { apiTokenSecretRef: { name: 'cf-token-unknown', key: 'api-token' } }));
    expect(out.success).toBe(false);
    const message = (out as { message: string }).message;
    expect(message).toMatch(/HTTP 403, error 10000 Authentication error/);
    expect(message).toContain('Zone:DNS:Edit');
    expect(message).not.toContain('tokenNobodyIssued');
  });

  it('reads secrets only from the request namespace', async () => {
    const out = await run('Present', `${fresh()}.`, 'k5', tokenConfig(emu, { apiTokenSecretRef: { name: 'cf-elsewhere', key: 'api-token' } }));
    expect(out).toEqual({ success: false, message: expect.stringContaining('secret "cf-elsewhere" key "api-token" not found in namespace "cert-manager"') });
    expect(emu.control.calls()).toEqual({});
  });
});

describe('cloudflare solver: zones', () => {
  it('walks from resolvedZone to the parent zone Cloudflare hosts', async () => {
    const name = `_acme-challenge.www.dept.${ZONE}`;
    const before = emu.requests.length;
    const out = await run('Present', `${name}.`, 'walk-key', tokenConfig(emu), { zone: `dept.${ZONE}.` });
    expect(out).toEqual({ success: true });
    const zonesAsked = emu.requests.slice(before).filter((r) => r.path === '/client/v4/zones').map((r) => new URLSearchParams(r.query).get('name'));
    expect(zonesAsked).toEqual([`dept.${ZONE}`, ZONE]);
    expect(emu.records().find((r) => r.name === name)?.zone_name).toBe(ZONE);
    expect((await queryTxt(`${name}.`, { server: emu.dns.address })).values).toEqual(['walk-key']);
    expect(await run('CleanUp', `${name}.`, 'walk-key', tokenConfig(emu), { zone: `dept.${ZONE}.` })).toEqual({ success: true });
    expect(storedAt(emu, name)).toEqual([]);
  });

  it('uses a hosted sub-zone itself when it is the resolved zone', async () => {
    const name = '_acme-challenge.www.sub.deep.test';
    expect(await run('Present', `${name}.`, 'deep-key', tokenConfig(emu), { zone: 'sub.deep.test.' })).toEqual({ success: true });
    expect(emu.records().find((r) => r.name === name)?.zone_name).toBe('sub.deep.test');
    expect(await run('CleanUp', `${name}.`, 'deep-key', tokenConfig(emu), { zone: 'sub.deep.test.' })).toEqual({ success: true });
  });
});

describe('cloudflare solver: races and pagination', () => {
  it('"identical record" (81057 or 81058) on create after a racing writer is success', async () => {
    for (const code of [81057, 81058] as const) {
      const racy = await startCloudflareEmulator({ zones: [ZONE], tokens: { [TOKEN_ALL]: '*' }, duplicateCode: code });
      try {
        const name = fresh();
        racy.control.inject({ kind: 'delay', action: 'POST dns_records', delayMs: 300 });
        const present = run('Present', `${name}.`, 'raced', tokenConfig(racy));
        await until(() => racy.control.calls('POST dns_records') === 1, 'the delayed POST');
        racy.seedRecord(ZONE, { name, content: 'raced' }); // another replica got there first
        expect(await present).toEqual({ success: true });
        expect(racy.records().filter((r) => r.name === name).map((r) => r.content)).toEqual(['raced']);
      } finally {
        await racy.close();
      }
    }
  });

  it('"Record does not exist" (81044) on delete after a racing cleaner is success', async () => {
    const name = fresh();
    expect(await run('Present', `${name}.`, 'gone-soon', tokenConfig(emu))).toEqual({ success: true });
    const id = emu.records().find((r) => r.name === name)!.id;
    emu.control.inject({ kind: 'delay', action: 'DELETE dns_records', delayMs: 300 });
    const cleanUp = run('CleanUp', `${name}.`, 'gone-soon', tokenConfig(emu));
    await until(() => emu.control.calls('DELETE dns_records') === 1, 'the delayed DELETE');
    await sdk().dns.records.delete(id, { zone_id: emu.zoneId(ZONE) });
    expect(await cleanUp).toEqual({ success: true });
    expect(emu.control.calls('DELETE dns_records')).toBe(2);
  });

  it('lists every page: a value on page 2 is found by Present and removed by CleanUp, the 149 others stay', async () => {
    const name = fresh();
    for (let i = 0; i < 150; i++) emu.seedRecord(ZONE, { name, content: `value-${i}` });
    // A listing Present (call floor off) and a warm zone cache: only the record calls count.
    const listing = new Economy({ features: { callFloor: false } });
    expect(await run('Present', `${name}.`, 'warm-up', tokenConfig(emu), { economy: listing })).toEqual({ success: true });
    emu.control.reset();
    expect(await run('Present', `${name}.`, 'value-140', tokenConfig(emu), { economy: listing })).toEqual({ success: true });
    expect(emu.control.calls('POST dns_records')).toBe(0);
    // total_pages says when to stop: no request for the empty page past the end
    expect(emu.control.calls('GET dns_records')).toBe(2);
    expect(await run('CleanUp', `${name}.`, 'value-140', tokenConfig(emu))).toEqual({ success: true });
    expect(await run('CleanUp', `${name}.`, 'warm-up', tokenConfig(emu))).toEqual({ success: true });
    const left = storedAt(emu, name);
    expect(left).toHaveLength(149);
    expect(left).not.toContain('value-140');
  });

  it('a TTL the API rejects fails with 1004/9021 and says what to set', async () => {
    const out = await run('Present', `${fresh()}.`, 'k', tokenConfig(emu, { ttl: 30 }));
    expect(out.success).toBe(false);
    const message = (out as { message: string }).message;
    expect(message).toContain('1004 DNS Validation Error (9021 TTL must be between 60 and 86400 seconds, or 1 for Automatic.)');
    expect(message).toContain('set config.ttl to 1 (automatic) or a value from 60 to 86400');
    expect(message).toContain('(ttl 30)');
  });
});
