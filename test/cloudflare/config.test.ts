/**
 * Config: every shape cert-manager's built-in cloudflare block accepts, plus endpoint/ttl/proxyURL; bad
 * configs fail before any API call with a message naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudflareConfigSchema } from '@dns01-webhook/solver-cloudflare';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { EMAIL, ZONE, run, startEmulator } from './fixtures.js';

const tokenRef = { name: 'cf-token', key: 'api-token' };
const keyRef = { name: 'cf-key', key: 'api-key' };

describe('cloudflare config: accepted shapes', () => {
  it.each([
    ['API token (cert-manager built-in)', { apiTokenSecretRef: tokenRef }],
    ['e-mail + global key (cert-manager built-in)', { email: EMAIL, apiKeySecretRef: keyRef }],
    ['token with a leftover email (cert-manager ignores it too)', { email: EMAIL, apiTokenSecretRef: tokenRef }],
    ['all options', { apiTokenSecretRef: tokenRef, endpoint: 'https://api.example.test/client/v4', ttl: 120, proxyURL: 'http://proxy.corp:3128' }],
    ['ttl 1 = automatic', { apiTokenSecretRef: tokenRef, ttl: 1 }],
    ['ttl 86400', { apiTokenSecretRef: tokenRef, ttl: 86400 }],
  ])('%s', (_, config) => {
    const parsed = cloudflareConfigSchema.safeParse(config);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it('defaults ttl to 60 and leaves endpoint unset (api.cloudflare.com)', () => {
    expect(cloudflareConfigSchema.parse({ apiTokenSecretRef: tokenRef })).toEqual({ apiTokenSecretRef: tokenRef, ttl: 60 });
  });
});

describe('cloudflare config: rejected before any API call, naming the field', () => {
  let emu: CloudflareEmulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu?.close();
  });

  it.each([
    ['both refs', { email: EMAIL, apiTokenSecretRef: tokenRef, apiKeySecretRef: keyRef }, 'config.apiTokenSecretRef: give either apiTokenSecretRef or email + apiKeySecretRef, not both'],
    ['neither', {}, 'config.apiTokenSecretRef: credentials required: set apiTokenSecretRef'],
    ['no config at all', undefined, 'config.apiTokenSecretRef: credentials required'],
    ['key without email', { apiKeySecretRef: keyRef }, 'config.email: email is required with apiKeySecretRef'],
    ['email without a key', { email: EMAIL }, 'config.apiTokenSecretRef: credentials required'],
    ['not an e-mail', { email: 'ops', apiKeySecretRef: keyRef }, 'config.email: email must be an e-mail address'],
    ['unknown keys', { apiTokenSecretRef: tokenRef, apiToken: 'x', zone: 'y' }, 'Unrecognized keys: "apiToken", "zone"'],
    ['secret ref with a namespace', { apiTokenSecretRef: { ...tokenRef, namespace: 'kube-system' } }, 'config.apiTokenSecretRef: Unrecognized key: "namespace"'],
    ['secret ref without key', { apiTokenSecretRef: { name: 'cf-token' } }, 'config.apiTokenSecretRef.key'],
    ['endpoint not http(s)', { apiTokenSecretRef: tokenRef, endpoint: 'ftp://x/client/v4' }, 'config.endpoint: endpoint must be an http:// or https:// URL'],
    ['proxyURL not a URL', { apiTokenSecretRef: tokenRef, proxyURL: 'proxy:3128' }, 'config.proxyURL: proxyURL must be an http:// or https:// URL'],
    ['ttl fractional', { apiTokenSecretRef: tokenRef, ttl: 1.5 }, 'config.ttl: ttl must be a whole number of seconds'],
    ['ttl as string', { apiTokenSecretRef: tokenRef, ttl: '60' }, 'config.ttl'],
    ['ttl zero', { apiTokenSecretRef: tokenRef, ttl: 0 }, 'config.ttl'],
    ['ttl above a day', { apiTokenSecretRef: tokenRef, ttl: 86401 }, 'config.ttl'],
  ])('%s', async (_, config, expected) => {
    const cfg = config === undefined ? undefined : { endpoint: emu.url, ...config };
    const out = await run('Present', `_acme-challenge.cfg.${ZONE}.`, 'k', cfg);
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toContain('invalid config');
    expect((out as { message: string }).message).toContain(expected);
    expect(emu.control.calls()).toEqual({});
  });
});
