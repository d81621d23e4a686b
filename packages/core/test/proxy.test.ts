import { describe, expect, it } from 'vitest';
import { environmentProxy } from '@dns01-webhook/core';

describe('environmentProxy', () => {
  const env = { HTTPS_PROXY: 'http://proxy.corp:3128', http_proxy: 'http://plain.corp:3128', NO_PROXY: 'localhost,.internal.example, 10.0.0.1:8443' };

  it('picks the variable for the target scheme, either case', () => {
    expect(environmentProxy('https://api.cloudflare.com/client/v4', env)).toBe('http://proxy.corp:3128');
    expect(environmentProxy('http://emulator.test:9000', env)).toBe('http://plain.corp:3128');
    expect(environmentProxy('https://x.example', {})).toBeUndefined();
    expect(environmentProxy('https://x.example', { HTTPS_PROXY: '  ' })).toBeUndefined();
  });

  it('honours NO_PROXY: hosts, domain suffixes, host:port and *', () => {
    expect(environmentProxy('https://localhost:8443', env)).toBeUndefined();
    expect(environmentProxy('https://dns.internal.example', env)).toBeUndefined();
    expect(environmentProxy('https://internal.example', env)).toBeUndefined();
    expect(environmentProxy('https://notinternal.example', env)).toBe('http://proxy.corp:3128');
    expect(environmentProxy('https://10.0.0.1:8443', env)).toBeUndefined();
    expect(environmentProxy('https://10.0.0.1:443', env)).toBe('http://proxy.corp:3128');
    expect(environmentProxy('https://anything', { HTTPS_PROXY: 'http://p:1', no_proxy: '*' })).toBeUndefined();
  });
});
