/**
 * cert-manager's conformance checks (Basic, strict Extended, Concurrency) against this solver and the
 * emulator, verified through real DNS queries — green before you change a line, and a guard while you do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeChallenge, mapSecrets, silentLogger } from '@dns01-webhook/core';
import { conformance } from '@dns01-webhook/core/conformance';
import solver from '../src/index.js';
import { startEmulator, type Emulator } from './emulator.js';

const TOKEN = 'test-api-token-0123456789';
const NAMESPACE = 'cert-manager';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ token: TOKEN, zones: ['example.test'] });
});
afterAll(async () => {
  await emulator?.close();
});

const config = () => ({ endpoint: emulator.endpoint, tokenSecretRef: { name: '__SOLVER__-credentials', key: 'token' } });

describe('__SOLVER__ conformance', () => {
  const kit = () =>
    conformance({
      solver,
      config: config(),
      zone: 'example.test.',
      nameserver: emulator.nameserver,
      secrets: { [NAMESPACE]: { '__SOLVER__-credentials': { token: TOKEN } } },
      resourceNamespace: NAMESPACE,
      pollIntervalMs: 50,
      timeoutMs: 5_000,
    });
  it('basic: Present is visible in DNS, idempotent; CleanUp removes it, twice is fine', () => kit().basic());
  it('extended (strict): CleanUp of one value keeps the other at the same name', () => kit().extended());
  it('concurrency: parallel Presents and CleanUps at one name', () => kit().concurrency());

  it('a wrong token fails with the provider message, and the token never appears in it', async () => {
    const outcome = await executeChallenge(
      solver,
      {
        uid: 'test',
        action: 'Present',
        type: 'dns-01',
        dnsName: 'example.test',
        key: 'k',
        resourceNamespace: NAMESPACE,
        resolvedFQDN: '_acme-challenge.example.test.',
        resolvedZone: 'example.test.',
        allowAmbientCredentials: false,
        config: config(),
      },
      { secretsFor: mapSecrets({ [NAMESPACE]: { '__SOLVER__-credentials': { token: 'wrong-token-abcdef' } } }), log: silentLogger() },
    );
    expect(outcome).toEqual({ success: false, message: expect.stringContaining('HTTP 401') });
    expect(JSON.stringify(outcome)).not.toContain('wrong-token-abcdef');
  });
});
