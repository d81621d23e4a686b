import { describe, expect, it } from 'vitest';
import { absoluteName, createMemoryStore, executeChallenge, memorySolver, relativeName, silentLogger, mapSecrets, toFqdn, zoneCandidates } from '@dns01-webhook/core';
import { challengeRequestProblem, dnsNameProblem, MAX_ZONE_CANDIDATES } from '../src/solver/names.js';

describe('names', () => {
  it('normalises and converts IDNA', () => {
    expect(toFqdn('Example.COM')).toBe('example.com.');
    expect(toFqdn('_acme-challenge.bücher.example')).toBe('_acme-challenge.xn--bcher-kva.example.');
  });
  it('relative and absolute names round-trip', () => {
    expect(relativeName('_acme-challenge.a.example.com.', 'example.com.')).toBe('_acme-challenge.a');
    expect(relativeName('example.com.', 'example.com.')).toBe('@');
    expect(absoluteName('_acme-challenge', 'example.com.')).toBe('_acme-challenge.example.com.');
    expect(() => relativeName('a.other.org.', 'example.com.')).toThrow(/not inside/);
  });
  it('zone candidates walk from the resolved zone up, never to the TLD', () => {
    expect(zoneCandidates('_acme-challenge.a.b.example.com.', 'b.example.com.')).toEqual(['b.example.com.', 'example.com.']);
    expect(zoneCandidates('_acme-challenge.example.test.', 'example.test.')).toEqual(['example.test.']);
  });
  it('zone candidates are bounded: a 120-label zone is at most 8 lookups', () => {
    const zone = `${Array.from({ length: 118 }, (_, i) => `l${i % 10}`).join('.')}.example.com.`;
    const candidates = zoneCandidates(`_acme-challenge.${zone}`, zone);
    expect(candidates).toHaveLength(MAX_ZONE_CANDIDATES);
    expect(candidates[0]).toBe(zone);
  });
  it('DNS limits: 253 octets, labels 1-63 of letters, digits, - and _, a wildcard only where allowed', () => {
    expect(dnsNameProblem('_acme-challenge.example.com.')).toBeUndefined();
    expect(dnsNameProblem(`${'a'.repeat(63)}.com`)).toBeUndefined();
    expect(dnsNameProblem(`${'a'.repeat(64)}.com`)).toMatch(/label 1 .* 64 octets long \(at most 63\)/);
    expect(dnsNameProblem(`${'a.'.repeat(127)}`)).toBeUndefined(); // 253 octets
    expect(dnsNameProblem(`${'a.'.repeat(127)}b`)).toMatch(/255 octets long \(at most 253\)/);
    expect(dnsNameProblem('x'.repeat(1_000_000))).toMatch(/longer than 253 octets/);
    expect(dnsNameProblem('.')).toMatch(/empty/);
    expect(dnsNameProblem('*.example.com')).toMatch(/label 1/);
    expect(dnsNameProblem('*.example.com', { wildcard: true })).toBeUndefined();
    expect(dnsNameProblem('a.*.example.com', { wildcard: true })).toMatch(/label 2/);
  });
  it('a challenge needs the FQDN inside the zone and a namespace name', () => {
    const ok = { resolvedFQDN: '_acme-challenge.a.example.com.', resolvedZone: 'example.com.', dnsName: 'a.example.com', resourceNamespace: 'cert-manager' };
    expect(challengeRequestProblem(ok)).toBeUndefined();
    expect(challengeRequestProblem({ ...ok, resolvedZone: 'example.org.' })).toMatch(/^resolvedFQDN .* is not inside resolvedZone example\.org\./);
    expect(challengeRequestProblem({ ...ok, resolvedZone: 'ample.com.' })).toMatch(/not inside/);
    expect(challengeRequestProblem({ ...ok, resourceNamespace: 'Cert_Manager' })).toMatch(/^resourceNamespace/);
  });
  it('executeChallenge refuses names outside DNS limits before the solver runs (CLI, conformance kit, server alike)', async () => {
    const store = createMemoryStore(['example.test']);
    const outcome = await executeChallenge(memorySolver(store), {
      uid: '', action: 'Present', type: 'dns-01', dnsName: 'example.test', key: 'k', resourceNamespace: 'default',
      resolvedFQDN: `_acme-challenge.${'a'.repeat(64)}.example.test.`, resolvedZone: 'example.test.', allowAmbientCredentials: false,
    }, { secretsFor: mapSecrets({}), log: silentLogger() });
    expect(outcome).toEqual({ success: false, message: expect.stringMatching(/^memory: Present .* failed: invalid request: resolvedFQDN is not a valid DNS name: label 2 .* 64 octets/) });
    expect(store.names()).toEqual([]);
  });
});
