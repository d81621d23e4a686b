import { describe, expect, it } from 'vitest';
import { absoluteName, relativeName, toFqdn, zoneCandidates } from '@dns01-webhook/core';

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
});
