/**
 * Provider trouble: throttling (429 + Retry-After) and 5xx are retried with backoff inside the deadline;
 * a provider slower than the deadline gives a clear failure, and nothing is left behind once CleanUp ran.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Economy } from '@dns01-webhook/core';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { TOKEN_ALL, ZONE, run as runWith, startEmulator, storedAt, tokenConfig } from './fixtures.js';

let emu: CloudflareEmulator;
let n = 0;
const fresh = () => `_acme-challenge.f${++n}-${Date.now().toString(36)}.${ZONE}`;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.close();
});
// Each test starts cold (zone lookups happen, no breaker or limiter state from another test).
let economy = new Economy();
const run = (...args: Parameters<typeof runWith>) => runWith(args[0], args[1], args[2], args[3], { economy, ...args[4] });
beforeEach(() => {
  emu.control.reset();
  economy = new Economy();
});

describe('cloudflare solver: faults', () => {
  it('throttled (429) mid-Present: waits the Retry-After, then succeeds with one record', async () => {
    const name = fresh();
    emu.control.inject({ kind: 'throttle', action: 'POST dns_records' });
    const started = Date.now();
    expect(await run('Present', `${name}.`, 'throttled', tokenConfig(emu))).toEqual({ success: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // Retry-After: 1
    expect(emu.control.calls('POST dns_records')).toBe(2);
    expect(storedAt(emu, name)).toEqual(['throttled']);
  });

  it('throttled by the documented quota on the zone lookup: retried after Retry-After', async () => {
    emu.control.setQuota({ action: 'GET zones', burst: 1, perSecond: 1 });
    // Someone else spent the burst with the same token.
    expect((await fetch(`${emu.url}/zones`, { headers: { authorization: `Bearer ${TOKEN_ALL}` } })).status).toBe(200);
    const name = fresh();
    expect(await run('Present', `${name}.`, 'quota', tokenConfig(emu))).toEqual({ success: true });
    expect(emu.control.calls('GET zones')).toBeGreaterThanOrEqual(2);
    expect(storedAt(emu, name)).toEqual(['quota']);
  });

  it('5xx on create twice, then success', async () => {
    const name = fresh();
    emu.control.inject({ kind: 'server-error', action: 'POST dns_records', times: 2 });
    expect(await run('Present', `${name}.`, 'after-5xx', tokenConfig(emu))).toEqual({ success: true });
    expect(emu.control.calls('POST dns_records')).toBe(3);
    expect(storedAt(emu, name)).toEqual(['after-5xx']);
  });

  it('5xx that never ends: fails inside the deadline naming the HTTP status, no record', async () => {
    const name = fresh();
    emu.control.inject({ kind: 'server-error', action: 'POST dns_records', times: 1000 });
    const started = Date.now();
    const out = await run('Present', `${name}.`, 'never', tokenConfig(emu), { timeoutMs: 2500 });
    expect(Date.now() - started).toBeLessThan(3500);
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toMatch(/HTTP ?502/);
    expect(storedAt(emu, name)).toEqual([]);
  });

  it('a zone lookup slower than the deadline: clear failure on time, nothing written', async () => {
    const name = fresh();
    // Every zone lookup is slow (a single fault could be taken by a straggler from an earlier test).
    emu.control.inject({ kind: 'delay', action: 'GET zones', delayMs: 2000, times: 20 });
    const started = Date.now();
    const out = await run('Present', `${name}.`, 'slow', tokenConfig(emu), { timeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(out).toEqual({ success: false, message: expect.stringMatching(/^cloudflare: Present _acme-challenge\.\S+ failed: .*(did not finish within 1 s|did not answer within)/) });
    // Once the slow lookups have answered, the abandoned Present still must not write anything.
    await new Promise((r) => setTimeout(r, 2500));
    expect(storedAt(emu, name)).toEqual([]);
    expect(emu.control.calls('POST dns_records')).toBe(0);
  });

  it('a create that lands after the deadline: Present fails clearly, and the following CleanUp leaves no record', async () => {
    const name = fresh();
    emu.control.inject({ kind: 'delay', action: 'POST dns_records', delayMs: 1500 });
    const out = await run('Present', `${name}.`, 'late', tokenConfig(emu), { timeoutMs: 1000 });
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toMatch(/did not finish within 1 s|did not answer within/);
    // The API may still apply a write whose answer never arrived: cert-manager then calls CleanUp.
    const deadline = Date.now() + 3000;
    while (storedAt(emu, name).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(storedAt(emu, name)).toEqual(['late']);
    expect(await run('CleanUp', `${name}.`, 'late', tokenConfig(emu))).toEqual({ success: true });
    expect(storedAt(emu, name)).toEqual([]);
  });
});
