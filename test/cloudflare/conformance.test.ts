/**
 * The core's conformance kit (Basic, strict Extended, Concurrency) against the Cloudflare emulator, with
 * the official SDK on the wire and every check made through real DNS queries to the emulator's nameserver.
 * Once with an API token, once with e-mail + global key.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformance } from '@dns01-webhook/core/conformance';
import cloudflareSolver from '@dns01-webhook/solver-cloudflare';
import type { CloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { NAMESPACE, ZONE, keyConfig, secretsFor, startEmulator, tokenConfig } from './fixtures.js';

let emu: CloudflareEmulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu?.close();
});

for (const [style, config] of [
  ['API token', () => tokenConfig(emu)],
  ['e-mail + global API key', () => keyConfig(emu)],
] as const) {
  describe(`cloudflare conformance (${style})`, () => {
    const kit = () =>
      conformance({
        solver: cloudflareSolver,
        config: config(),
        zone: `${ZONE}.`,
        nameserver: emu.dns.address,
        secretsFor,
        resourceNamespace: NAMESPACE,
        pollIntervalMs: 100,
        timeoutMs: 5_000,
        concurrency: 5,
        failures: [{ name: 'zone not hosted', zone: 'not-hosted.test.' }],
      });
    it('basic: Present is visible in DNS, idempotent, CleanUp removes it, twice is fine', () => kit().basic(), 20_000);
    it('extended (strict): CleanUp of B keeps A at the same name', () => kit().extended(), 20_000);
    it('concurrency: 5 parallel Presents and CleanUps at one name', () => kit().concurrency(), 20_000);
    it('stable failures: wrong credentials, missing Secret, zone not hosted — each repeated, byte-identical', () => kit().stableFailures(), 20_000);
  });
}
