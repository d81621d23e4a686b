/** The rfc2136 config: cert-manager's built-in block verbatim, and a message naming the field for every mistake. */
import { describe, expect, it } from 'vitest';
import { executeChallenge, mapSecrets, silentLogger } from '@dns01-webhook/core';
import rfc2136Solver, { rfc2136ConfigSchema } from '@dns01-webhook/solver-rfc2136';
import { request } from './fixtures.js';

/** What a cert-manager user has under `dns01.rfc2136` today (docs example), byte for byte. */
const CERT_MANAGER_BLOCK = JSON.parse(
  '{"nameserver":"1.2.3.4:53","tsigKeyName":"example-com-secret","tsigAlgorithm":"HMACSHA512","tsigSecretSecretRef":{"name":"tsig-secret","key":"tsig-secret-key"}}',
);

async function configMessage(config: unknown): Promise<string> {
  const outcome = await executeChallenge(rfc2136Solver, request('Present', 'k', config), {
    secretsFor: mapSecrets({}),
    log: silentLogger(),
    timeoutMs: 2000,
  });
  expect(outcome.success).toBe(false);
  return (outcome as { message: string }).message;
}

describe('rfc2136 config', () => {
  it("accepts cert-manager's built-in rfc2136 block verbatim", () => {
    expect(rfc2136ConfigSchema.parse(CERT_MANAGER_BLOCK)).toEqual({
      nameserver: '1.2.3.4:53',
      tsigKeyName: 'example-com-secret',
      tsigAlgorithm: 'hmac-sha512',
      tsigSecretSecretRef: { name: 'tsig-secret', key: 'tsig-secret-key' },
      ttl: 60,
    });
  });

  it('accepts both spellings of every algorithm, case-insensitively, and cert-manager\'s protocol field', () => {
    const parse = (tsigAlgorithm: string) => rfc2136ConfigSchema.parse({ ...CERT_MANAGER_BLOCK, tsigAlgorithm }).tsigAlgorithm;
    expect(['HMACMD5', 'hmacsha1', 'HMACSHA224', 'HmacSha256', 'HMACSHA384', 'HMACSHA512'].map(parse)).toEqual(['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']);
    expect(['hmac-sha256', 'HMAC-SHA384.', 'hmac-md5.sig-alg.reg.int.'].map(parse)).toEqual(['hmac-sha256', 'hmac-sha384', 'hmac-md5']);
    expect(rfc2136ConfigSchema.parse({ ...CERT_MANAGER_BLOCK, protocol: 'TCP' }).protocol).toBe('TCP');
    for (const nameserver of ['192.0.2.1', '192.0.2.1:5353', '[2001:db8::1]:53', '[2001:db8::1]', 'ns1.example.com:53']) {
      expect(rfc2136ConfigSchema.parse({ nameserver }).nameserver).toBe(nameserver);
    }
  });

  it('names the field for each mistake', async () => {
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, tsigAlgorithm: 'HMACSHA999' })).toMatch(/tsigAlgorithm.*"HMACSHA999" is not supported; use one of HMACSHA256/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, tsigSecretSecretRef: undefined })).toMatch(/tsigSecretSecretRef.*required with tsigKeyName/);
    expect(await configMessage({ nameserver: '1.2.3.4', tsigSecretSecretRef: { name: 'a', key: 'b' } })).toMatch(/tsigKeyName.*required with tsigSecretSecretRef/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, nameserver: '1.2.3.4:99999' })).toMatch(/nameserver.*must be host:port/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, nameserver: '' })).toMatch(/nameserver is required/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, protocol: 'tcp' })).toMatch(/protocol must be "UDP" or "TCP"/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, tsigSecret: 'inline' })).toMatch(/tsigSecret/);
    expect(await configMessage({ ...CERT_MANAGER_BLOCK, tsigSecretSecretRef: { name: 'a', key: 'b', namespace: 'kube-system' } })).toMatch(/namespace/);
  });
});
