/**
 * The check behind every issuance test: Pebble (run by support/pebble.ts with validation really on) looks the
 * DNS-01 TXT value up and refuses an authorization whose value is not served. Without this, a green issuance
 * through cert-manager (cert-manager-issuance.test.ts) could mean a CA that accepts anything.
 *
 * acme-client plays the ACME client; the apex's value is written straight into the DNSPod emulator's zone
 * (its authoritative DNS is what Pebble queries), the wildcard's value never is.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryTxt } from '@dns01-webhook/core';
import { startDnspodEmulator, type RunningDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { DEFAULT_LINE, DEFAULT_LINE_ID } from '../emulators/dnspod/store.js';
import { openOrder, trustAcmeServer, type DnsChallenge } from './support/acme-order.js';
import { startPebble, type RunningPebble } from './support/pebble.js';

const ZONE = 'example.test';
const FQDN = `_acme-challenge.${ZONE}.`;

let dnspod: RunningDnspodEmulator;
let pebble: RunningPebble;

beforeAll(async () => {
  dnspod = await startDnspodEmulator({ domains: [ZONE] });
  pebble = await startPebble({ dnsServer: dnspod.dns.address });
  trustAcmeServer(pebble.tlsCaPem);
});

afterAll(async () => {
  await pebble?.stop();
  await dnspod?.close();
});

it('Pebble validates each value: the apex whose value is served passes, the wildcard whose value is not fails', async () => {
  const order = await openOrder(pebble.directoryUrl, [ZONE, `*.${ZONE}`]);
  const apex = order.challenges.find((c) => !c.wildcard)!;
  const wildcard = order.challenges.find((c) => c.wildcard)!;
  const domain = dnspod.store.domainByName(ZONE)!;
  dnspod.store.addRecord({ domainId: domain.id, name: '_acme-challenge', type: 'TXT', line: DEFAULT_LINE, lineId: DEFAULT_LINE_ID, value: apex.key, ttl: 600, status: 'ENABLE' });
  expect((await queryTxt(FQDN, { server: dnspod.dns.address })).values).toEqual([apex.key]);

  const outcome = async (c: DnsChallenge) => {
    await order.client.completeChallenge(c.challenge);
    return order.client.waitForValidStatus(c.challenge).then(() => 'valid', (err: Error) => `failed: ${err.message}`);
  };
  const [apexOutcome, wildcardOutcome] = await Promise.all([outcome(apex), outcome(wildcard)]);
  expect(apexOutcome).toBe('valid');
  expect(wildcardOutcome).toMatch(/^failed: /);
  const authz = (await order.client.getAuthorizations(order.order)).find((a) => a.url === wildcard.authz.url)!;
  expect(authz.status).toBe('invalid');
  const failed = authz.challenges.find((x) => x.type === 'dns-01') as { error?: { type?: string; detail?: string } };
  // Pebble's wording when the lookup worked but no TXT value matched (a failed lookup reads differently).
  expect(failed.error).toMatchObject({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'Correct value not found for DNS challenge' });
}, 60_000);
