/**
 * The core's conformance kit (Basic, strict Extended, Concurrency) on the dnspod solver: the official SDK on
 * the wire against the emulator, every result checked through real DNS queries to the emulator's nameserver.
 * Run once with imroc's older config shape verbatim and once with the 1.5.x shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformance } from '@dns01-webhook/core/conformance';
import dnspod from '@dns01-webhook/solver-dnspod';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { NAMESPACE, newerConfig, SECRET_ID, secretsFor } from './helpers.js';

let emu: RunningDnspodEmulator;
beforeAll(async () => {
  emu = await startDnspodEmulator({ domains: ['example.test'] });
});
afterAll(() => emu.close());

const shapes = {
  'imroc older shape (plain secretId)': () => ({
    secretId: SECRET_ID,
    secretKeyRef: { name: 'dnspod-secret', key: 'secret-key' },
    ttl: 600,
    endpoint: emu.url,
  }),
  'imroc 1.5.x shape (secretIdRef, recordLine "")': () => newerConfig(emu.url),
};

for (const [shape, config] of Object.entries(shapes)) {
  describe(`dnspod conformance, ${shape}`, () => {
    const kit = () =>
      conformance({
        solver: dnspod,
        config: config(),
        zone: 'example.test.',
        nameserver: emu.dns.address,
        resourceNamespace: NAMESPACE,
        secretsFor,
        pollIntervalMs: 100,
        timeoutMs: 5_000,
        challengeTimeoutMs: 10_000,
        concurrency: 6,
        failures: [{ name: 'zone not hosted', zone: 'not-hosted.test.' }],
      });

    it('basic: Present visible in DNS, idempotent, CleanUp twice', async () => {
      await kit().basic();
    });
    it('extended (strict): CleanUp removes only its own value', async () => {
      await kit().extended();
    });
    it('concurrency: parallel Presents and CleanUps at one name', async () => {
      await kit().concurrency();
    });
    it('stable failures: wrong credentials, missing Secret, zone not hosted — each repeated, byte-identical', async () => {
      await kit().stableFailures();
    });
    it('left nothing behind and went through the SDK', () => {
      expect(emu.records()).toEqual([]);
      expect(emu.control.calls('CreateRecord')).toBeGreaterThan(0);
      expect(emu.control.calls('DeleteRecord')).toBeGreaterThan(0);
    });
  });
}
