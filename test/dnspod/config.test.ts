/**
 * Config shapes of the dnspod solver: imroc's existing configs unchanged, the optional fields, and bad
 * configs rejected with messages naming the field. Secrets come only from the request's namespace.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import dnspod, { dnspodConfig } from '@dns01-webhook/solver-dnspod';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { challenge, newerConfig, run, SECRET_ID, SECRET_KEY } from './helpers.js';

/** Exactly as imroc/cert-manager-webhook-dnspod documents them (older and 1.5.x). */
const IMROC_OLDER = '{"secretId":"AKIDEMULATOR0000000000000000000000000","secretKeyRef":{"name":"dnspod-secret","key":"secret-key"},"ttl":600}';
const IMROC_15X = '{"secretIdRef":{"name":"dnspod-secret","key":"secret-id"},"secretKeyRef":{"name":"dnspod-secret","key":"secret-key"},"ttl":600,"recordLine":""}';

let emu: RunningDnspodEmulator;
beforeAll(async () => {
  emu = await startDnspodEmulator({ domains: ['example.test'] });
});
afterAll(() => emu.close());

describe('dnspod config: accepted shapes', () => {
  it('parses the imroc configs verbatim, with the documented defaults', () => {
    expect(dnspodConfig.parse(JSON.parse(IMROC_OLDER))).toEqual({
      secretId: SECRET_ID, secretKeyRef: { name: 'dnspod-secret', key: 'secret-key' }, ttl: 600, recordLine: '默认',
    });
    expect(dnspodConfig.parse(JSON.parse(IMROC_15X))).toMatchObject({ secretIdRef: { name: 'dnspod-secret', key: 'secret-id' }, recordLine: '默认' });
    expect(dnspodConfig.parse({ secretId: 'x', secretKeyRef: { name: 'a', key: 'b' } })).toMatchObject({ ttl: 600, recordLine: '默认' });
    expect(dnspodConfig.parse({ ...JSON.parse(IMROC_15X), recordLine: '境内', endpoint: 'https://dnspod.intl.tencentcloudapi.com' })).toMatchObject({
      recordLine: '境内',
      endpoint: 'https://dnspod.intl.tencentcloudapi.com',
    });
  });

  it.each([
    ['older (plain secretId)', IMROC_OLDER],
    ['1.5.x (secretIdRef)', IMROC_15X],
  ])('imroc %s config + endpoint: Present and CleanUp through the SDK, visible in DNS', async (_name, json) => {
    const config = { ...JSON.parse(json), endpoint: emu.url };
    const fqdn = '_acme-challenge.shape.example.test.';
    expect(await run(dnspod, challenge('Present', fqdn, 'example.test.', 'k-shape', config))).toEqual({ success: true });
    expect((await queryTxt(fqdn, { server: emu.dns.address })).values).toEqual(['k-shape']);
    expect(emu.records()).toEqual([expect.objectContaining({ fqdn, ttl: 600, line: '默认', type: 'TXT' })]);
    expect(await run(dnspod, challenge('CleanUp', fqdn, 'example.test.', 'k-shape', config))).toEqual({ success: true });
    expect(emu.records()).toEqual([]);
  });

  it('reads secrets only from the request namespace, and never shows the key in a failure', async () => {
    const fqdn = '_acme-challenge.ns.example.test.';
    // "other" has a secret of the same name holding a wrong key: the signature fails there.
    const other = await run(dnspod, challenge('Present', fqdn, 'example.test.', 'k', newerConfig(emu.url), { resourceNamespace: 'other' }));
    expect(other.success).toBe(false);
    expect(!other.success && other.message).toMatch(/AuthFailure\.SignatureFailure.*secretKeyRef/);
    expect(!other.success && other.message).not.toContain('wrong-key');
    expect(!other.success && other.message).not.toContain(SECRET_KEY);
    const missing = await run(dnspod, challenge('Present', fqdn, 'example.test.', 'k', newerConfig(emu.url), { resourceNamespace: 'nowhere' }));
    expect(!missing.success && missing.message).toMatch(/secret "dnspod-secret" key "secret-id" not found in namespace "nowhere"/);
    expect(emu.records()).toEqual([]);
  });
});

describe('dnspod config: rejected shapes name the field', () => {
  const ref = { name: 'dnspod-secret', key: 'secret-key' };
  it.each([
    ['both secretId and secretIdRef', { secretId: 'AKID', secretIdRef: ref, secretKeyRef: ref }, /secretIdRef: give either secretId or secretIdRef, not both/],
    ['neither secretId nor secretIdRef', { secretKeyRef: ref }, /secretId: secretId \(plain\) or secretIdRef .* is required/],
    ['no secretKeyRef', { secretId: 'AKID' }, /secretKeyRef/],
    ['a plain secretKey', { secretId: 'AKID', secretKey: 'oops', secretKeyRef: ref }, /unknown field\(s\) "secretKey"/],
    ['a typo', { secretId: 'AKID', secretKeyRef: ref, recordline: '' }, /unknown field\(s\) "recordline".*recordLine/],
    ['ttl as a string', { secretId: 'AKID', secretKeyRef: ref, ttl: '600' }, /ttl/],
    ['ttl 0', { secretId: 'AKID', secretKeyRef: ref, ttl: 0 }, /ttl/],
    ['ttl not an integer', { secretId: 'AKID', secretKeyRef: ref, ttl: 600.5 }, /ttl: ttl must be an integer/],
    ['a namespace in secretKeyRef', { secretId: 'AKID', secretKeyRef: { ...ref, namespace: 'kube-system' } }, /secretKeyRef/],
    ['an ftp endpoint', { secretId: 'AKID', secretKeyRef: ref, endpoint: 'ftp://x.test' }, /endpoint: endpoint must use https:\/\/ or http:\/\//],
    ['an endpoint with a path', { secretId: 'AKID', secretKeyRef: ref, endpoint: 'https://x.test/api' }, /endpoint: endpoint must be scheme:\/\/host\[:port\] only/],
    ['a proxy that is not a URL', { secretId: 'AKID', secretKeyRef: ref, proxy: 'proxy:3128' }, /proxy: proxy must be an http:\/\/ or https:\/\/ URL/],
    ['an empty secretId', { secretId: ' ', secretKeyRef: ref }, /secretId: secretId must not be empty/],
  ])('%s', async (_name, config, message) => {
    const outcome = await run(dnspod, challenge('Present', '_acme-challenge.bad.example.test.', 'example.test.', 'k', config));
    expect(outcome.success).toBe(false);
    expect(!outcome.success && outcome.message).toMatch(message);
    expect(!outcome.success && outcome.message).toMatch(/invalid config/);
  });

  it('a split-zone line DNSPod refuses → a message saying how to fix recordLine', async () => {
    const outcome = await run(dnspod, challenge('Present', '_acme-challenge.line.example.test.', 'example.test.', 'k', newerConfig(emu.url, { recordLine: '电信' })));
    expect(!outcome.success && outcome.message).toMatch(/rejected recordLine "电信" for example\.test \(InvalidParameter\.RecordLineInvalid\); leave config\.recordLine empty/);
    expect(emu.records()).toEqual([]);
  });

  it('a missing config is rejected before any API call', async () => {
    const before = emu.control.calls();
    const outcome = await run(dnspod, challenge('Present', '_acme-challenge.bad.example.test.', 'example.test.', 'k', undefined));
    expect(!outcome.success && outcome.message).toMatch(/secretKeyRef/);
    expect(emu.control.calls()).toEqual(before);
  });
});

describe('dnspod as a plugin', () => {
  it('loads by package name as solverName "dnspod" without loading the Tencent Cloud SDK until used', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(process.cwd() + '/');
      const sdkLoaded = () => Object.keys(require.cache).some((k) => k.includes('tencentcloud-sdk-nodejs'));
      const { SolverRegistry, loadSolverPackages } = await import('@dns01-webhook/core');
      const registry = new SolverRegistry();
      await loadSolverPackages(registry, ['@dns01-webhook/solver-dnspod']);
      const atStart = sdkLoaded();
      await import('tencentcloud-sdk-nodejs-dnspod');
      console.log(JSON.stringify({ names: registry.names(), atStart, afterUse: sdkLoaded() }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual({ names: ['dnspod'], atStart: false, afterUse: true });
  }, 25_000);
});
