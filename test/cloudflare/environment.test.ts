/**
 * The client is built from explicit options only: CLOUDFLARE_* never count, and http(s)_proxy from the
 * process environment only when the challenge allows ambient settings; config.proxyURL always wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Cloudflare from 'cloudflare';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { EMAIL, GLOBAL_KEY, TOKEN_ALL, ZONE, keyConfig, run, startEmulator, storedAt, tokenConfig } from './fixtures.js';

let emu: CloudflareEmulator;
let decoy: CloudflareEmulator;
let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
const ENV_NAMES = ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_KEY', 'CLOUDFLARE_EMAIL', 'CLOUDFLARE_BASE_URL', 'CLOUDFLARE_CUSTOM_HEADERS', 'CLOUDFLARE_LOG', 'http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'NO_PROXY', 'no_proxy'];
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  emu = await startEmulator();
  decoy = await startEmulator();
  proxy = await startForwardProxy();
  for (const name of ENV_NAMES) saved[name] = process.env[name];
  Object.assign(process.env, {
    CLOUDFLARE_API_TOKEN: TOKEN_ALL,
    CLOUDFLARE_API_KEY: GLOBAL_KEY,
    CLOUDFLARE_EMAIL: EMAIL,
    CLOUDFLARE_BASE_URL: decoy.url,
    CLOUDFLARE_CUSTOM_HEADERS: 'X-Injected: from-env\nX-Auth-Key: 00000000000000000000000000000000deadb',
    CLOUDFLARE_LOG: 'debug',
    http_proxy: proxy.url,
    HTTP_PROXY: proxy.url,
    https_proxy: proxy.url,
    HTTPS_PROXY: proxy.url,
  });
  delete process.env['NO_PROXY'];
  delete process.env['no_proxy'];
});
afterAll(async () => {
  for (const name of ENV_NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await Promise.all([emu?.close(), decoy?.close(), proxy?.close()]);
});

describe('cloudflare solver: environment isolation', () => {
  it('the SDK on its own WOULD use these variables (so the next tests can fail)', () => {
    const implicit = new Cloudflare({ logLevel: 'off' });
    expect(implicit.baseURL).toBe(decoy.url);
    expect(implicit.apiToken).toBe(TOKEN_ALL);
    expect(implicit.apiKey).toBe(GLOBAL_KEY);
  });

  for (const [style, config] of [
    ['token', () => tokenConfig(emu)],
    ['e-mail + key', () => keyConfig(emu)],
  ] as const) {
    it(`ignores CLOUDFLARE_* and http(s)_proxy (${style})`, async () => {
      const name = `_acme-challenge.env-${style.replace(/\W/g, '')}.${ZONE}`;
      const before = emu.requests.length;
      const seenBefore = proxy.seen.length;
      expect(await run('Present', `${name}.`, 'env-key', config())).toEqual({ success: true });
      expect(await run('CleanUp', `${name}.`, 'env-key', config())).toEqual({ success: true });
      expect(storedAt(emu, name)).toEqual([]);
      const sent = emu.requests.slice(before);
      expect(sent.length).toBeGreaterThanOrEqual(4);
      for (const r of sent) {
        expect(r.headers['x-injected']).toBeUndefined();
        if (style === 'token') expect([r.headers['x-auth-key'], r.headers['x-auth-email']]).toEqual([undefined, undefined]);
        else expect([r.headers['authorization'], r.headers['x-auth-key']]).toEqual([undefined, GLOBAL_KEY]);
      }
      expect(decoy.requests).toHaveLength(0);
      expect(proxy.seen.length).toBe(seenBefore);
      // hidden only while the client was constructed
      expect(process.env['CLOUDFLARE_CUSTOM_HEADERS']).toContain('X-Injected');
    });
  }

  it('uses config.proxyURL when given', async () => {
    const name = `_acme-challenge.proxied.${ZONE}`;
    const seenBefore = proxy.seen.length;
    expect(await run('Present', `${name}.`, 'via-proxy', tokenConfig(emu, { proxyURL: proxy.url }))).toEqual({ success: true });
    const carried = proxy.seen.slice(seenBefore);
    expect(carried.length).toBeGreaterThan(0);
    expect(carried.every((line) => line.includes(new URL(emu.url).host))).toBe(true);
    expect(storedAt(emu, name)).toEqual(['via-proxy']);
    expect(await run('CleanUp', `${name}.`, 'via-proxy', tokenConfig(emu, { proxyURL: proxy.url }))).toEqual({ success: true });
  });

  it('uses HTTPS_PROXY/HTTP_PROXY from the environment only when ambient settings are allowed, honouring NO_PROXY', async () => {
    const name = `_acme-challenge.ambient-proxy.${ZONE}`;
    const seenBefore = proxy.seen.length;
    expect(await run('Present', `${name}.`, 'ambient', tokenConfig(emu), { allowAmbientCredentials: true })).toEqual({ success: true });
    const carried = proxy.seen.slice(seenBefore);
    expect(carried.length).toBeGreaterThan(0);
    expect(carried.every((line) => line.includes(new URL(emu.url).host))).toBe(true);
    process.env['NO_PROXY'] = '127.0.0.1';
    try {
      const seenNoProxy = proxy.seen.length;
      expect(await run('CleanUp', `${name}.`, 'ambient', tokenConfig(emu), { allowAmbientCredentials: true })).toEqual({ success: true });
      expect(proxy.seen.length).toBe(seenNoProxy);
    } finally {
      delete process.env['NO_PROXY'];
    }
    expect(storedAt(emu, name)).toEqual([]);
  });

  it('an unreachable proxy is a retryable connection error that names config.proxyURL', async () => {
    const out = await run('Present', `_acme-challenge.noproxy.${ZONE}.`, 'k', tokenConfig(emu, { proxyURL: 'http://127.0.0.1:1' }), { timeoutMs: 1500 });
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toContain('cannot reach the API (connect ECONNREFUSED 127.0.0.1:1); check config.endpoint / config.proxyURL');
  });
});
