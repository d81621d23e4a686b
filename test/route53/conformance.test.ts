/**
 * The core's conformance kit (Basic, strict Extended, Concurrency) against the Route 53 emulator: the real
 * AWS SDK on the wire, SigV4 verified, results checked through the emulator's real DNS server.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformance } from '@dns01-webhook/core/conformance';
import route53Solver from '@dns01-webhook/solver-route53';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { secretsFor, staticConfig } from './helpers.js';

let emu: RunningRoute53Emulator;

beforeAll(async () => {
  emu = await startRoute53Emulator({ zones: ['example.test', { name: 'example.test', private: true }] });
});
afterAll(async () => {
  await emu?.close();
});

describe('route53 conformance (emulator, zone looked up by name)', () => {
  const kit = () =>
    conformance({
      solver: route53Solver,
      config: staticConfig(emu),
      secrets: secretsFor(emu),
      zone: 'example.test.',
      nameserver: emu.dns.address,
      pollIntervalMs: 100,
      timeoutMs: 5_000,
      concurrency: 6,
      failures: [{ name: 'zone not hosted', zone: 'not-hosted.test.' }],
    });
  it('basic: Present visible in DNS, idempotent, CleanUp removes it, twice is fine', () => kit().basic(), 20_000);
  it('extended (strict): CleanUp of B leaves A', () => kit().extended(), 20_000);
  it('concurrency: 6 parallel Presents all land (compare-and-swap), 6 parallel CleanUps leave none', () => kit().concurrency(), 25_000);
  it('stable failures: wrong credentials, missing Secret, zone not hosted — each repeated, byte-identical', () => kit().stableFailures(), 25_000);
});

describe('route53 conformance (hostedZoneID given)', () => {
  it('basic + extended with hostedZoneID', async () => {
    const kit = conformance({
      solver: route53Solver,
      config: staticConfig(emu, { hostedZoneID: `/hostedzone/${emu.zoneId('example.test', { private: false })}` }),
      secrets: secretsFor(emu),
      zone: 'example.test.',
      nameserver: emu.dns.address,
      pollIntervalMs: 100,
      timeoutMs: 5_000,
    });
    await kit.basic();
    await kit.extended();
  }, 25_000);
});
