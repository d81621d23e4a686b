/**
 * The dnspod solver under provider trouble: DNSPod's own throttling error mid-Present, 5xx, an unreachable
 * endpoint, and a provider slower than the challenge deadline (clear failure, no zombie calls afterwards,
 * no record left once cert-manager's CleanUp has run). Plus proxies: never from the environment unless
 * ambient settings are allowed; explicitly from config.
 */
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Economy, queryTxt } from '@dns01-webhook/core';
import dnspod from '@dns01-webhook/solver-dnspod';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { challenge, newerConfig, run } from './helpers.js';

let emu: RunningDnspodEmulator;
beforeAll(async () => {
  emu = await startDnspodEmulator({ domains: ['example.test'] });
});
afterAll(() => emu.close());

const zone = 'example.test.';
const present = (fqdn: string, key: string, timeoutMs = 10_000, extra: Record<string, unknown> = {}) =>
  run(dnspod, challenge('Present', fqdn, zone, key, newerConfig(emu.url, extra)), timeoutMs);
const cleanUp = (fqdn: string, key: string, timeoutMs = 10_000) => run(dnspod, challenge('CleanUp', fqdn, zone, key, newerConfig(emu.url)), timeoutMs);

describe('dnspod faults', () => {
  it('throttled (RequestLimitExceeded) mid-Present, then success after backoff', async () => {
    const fqdn = '_acme-challenge.throttle.example.test.';
    const before = emu.control.calls('CreateRecord');
    emu.control.inject({ kind: 'throttle', action: 'CreateRecord', times: 1 });
    emu.control.inject({ kind: 'throttle', action: 'DescribeRecordList', times: 1 });
    expect(await present(fqdn, 'k-throttle')).toEqual({ success: true });
    expect(emu.control.calls('CreateRecord') - before).toBe(2);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual(['k-throttle']);
    expect(await cleanUp(fqdn, 'k-throttle')).toEqual({ success: true });
  });

  it('throttled for longer than the deadline allows → a message naming RequestLimitExceeded', async () => {
    emu.control.inject({ kind: 'throttle', action: 'CreateRecord', times: 50 });
    const outcome = await present('_acme-challenge.throttled.example.test.', 'k', 1_500);
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toMatch(/RequestLimitExceeded/);
    emu.control.reset();
  });

  it('5xx on list, create, delete and DescribeDomain, then success', async () => {
    const fqdn = '_acme-challenge.fivexx.example.test.';
    // A cold zone cache, so the domain lookup happens; Present is CreateRecord alone (the call floor).
    for (const action of ['DescribeDomain', 'CreateRecord']) emu.control.inject({ kind: 'server-error', action, times: 1 });
    expect(await run(dnspod, challenge('Present', fqdn, zone, 'k-5xx', newerConfig(emu.url)), 10_000, new Economy())).toEqual({ success: true });
    expect(emu.control.takeFault('DescribeDomain')).toBeUndefined();
    expect(emu.records()).toEqual([expect.objectContaining({ fqdn, value: 'k-5xx' })]);
    emu.control.inject({ kind: 'server-error', action: 'DescribeRecordList', times: 1 });
    emu.control.inject({ kind: 'server-error', action: 'DeleteRecord', times: 2 });
    expect(await cleanUp(fqdn, 'k-5xx')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });

  it('an unreachable endpoint → retried, then a message saying DNSPod cannot be reached', async () => {
    const closed = createNetServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const outcome = await run(
      dnspod,
      challenge('Present', '_acme-challenge.x.example.test.', zone, 'k', newerConfig(`http://127.0.0.1:${port}`)),
      1_500,
    );
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toMatch(new RegExp(`cannot reach DNSPod at http://127.0.0.1:${port} for DescribeDomain: .*ECONNREFUSED`));
  });

  it('a provider slower than the deadline → clear failure, no zombie calls; CleanUp leaves nothing behind', async () => {
    const fqdn = '_acme-challenge.slow.example.test.';
    emu.control.inject({ kind: 'delay', action: 'CreateRecord', delayMs: 2_000 });
    const started = Date.now();
    const outcome = await present(fqdn, 'k-slow', 1_000);
    expect(Date.now() - started).toBeLessThan(1_800);
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toMatch(/dnspod: Present _acme-challenge\.slow\.example\.test\. failed: .*(did not finish within 1 s|deadline)/);
    // Let the delayed call land (the server may still apply it, as a real API would), then check nothing
    // else arrives: the solver stopped at its deadline.
    await sleep(1_500);
    const calls = emu.control.calls();
    await sleep(700);
    expect(emu.control.calls()).toEqual(calls);
    // cert-manager runs CleanUp for a failed challenge: whatever landed is removed.
    expect(await cleanUp(fqdn, 'k-slow')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual([]);
  });

  it('slow before anything was written → failure and no CreateRecord ever sent', async () => {
    const before = emu.control.calls('CreateRecord');
    emu.control.inject({ kind: 'delay', action: 'DescribeDomain', delayMs: 1_500 });
    const outcome = await run(dnspod, challenge('Present', '_acme-challenge.slowlist.example.test.', zone, 'k', newerConfig(emu.url)), 800, new Economy());
    expect(outcome.success).toBe(false);
    await sleep(1_200);
    expect(emu.control.calls('CreateRecord')).toBe(before);
    expect(emu.records()).toEqual([]);
  });
});

describe('dnspod proxies', () => {
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  /** Hosts the proxy carried calls to since the last reset (CONNECT host:port, or an absolute-form URL's host). */
  let mark = 0;
  const tunnels = {
    get list() {
      return proxy.seen.slice(mark).map((line) => line.replace(/^CONNECT /, '').replace(/^\w+ http:\/\/([^/]+).*$/, '$1'));
    },
    reset() {
      mark = proxy.seen.length;
    },
  };
  const saved = { http_proxy: process.env.http_proxy, https_proxy: process.env.https_proxy, HTTP_PROXY: process.env.HTTP_PROXY };

  beforeAll(async () => {
    proxy = await startForwardProxy();
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  afterAll(async () => {
    await proxy.close();
  });

  const emulatorHost = () => new URL(emu.url).host;

  it('ignores http_proxy/https_proxy from the environment when ambient settings are not allowed', async () => {
    tunnels.reset();
    process.env.http_proxy = proxy.url;
    process.env.https_proxy = proxy.url;
    process.env.HTTP_PROXY = proxy.url;
    const fqdn = '_acme-challenge.noproxy.example.test.';
    expect(await present(fqdn, 'k-direct')).toEqual({ success: true });
    expect(await cleanUp(fqdn, 'k-direct')).toEqual({ success: true });
    expect(tunnels.list).toEqual([]);
  });

  it('uses http_proxy from the environment only when ambient settings are allowed', async () => {
    tunnels.reset();
    process.env.http_proxy = proxy.url;
    const fqdn = '_acme-challenge.ambient.example.test.';
    const req = challenge('Present', fqdn, zone, 'k-ambient', newerConfig(emu.url), { allowAmbientCredentials: true });
    expect(await run(dnspod, req)).toEqual({ success: true });
    expect(tunnels.list.length).toBeGreaterThan(0);
    expect(new Set(tunnels.list)).toEqual(new Set([emulatorHost()]));
    delete process.env.http_proxy;
    expect(await cleanUp(fqdn, 'k-ambient')).toEqual({ success: true });
  });

  it('uses config.proxy explicitly', async () => {
    tunnels.reset();
    const fqdn = '_acme-challenge.proxied.example.test.';
    expect(await present(fqdn, 'k-proxy', 10_000, { proxy: proxy.url })).toEqual({ success: true });
    expect(new Set(tunnels.list)).toEqual(new Set([emulatorHost()]));
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual(['k-proxy']);
    expect(await cleanUp(fqdn, 'k-proxy')).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });
});
