/** Shared set-up for the route53 tests: run challenges through executeChallenge as the server does. */
import { Route53Client } from '@aws-sdk/client-route-53';
import { Economy, executeChallenge, mapSecrets, silentLogger, type ChallengeRequest, type SecretMap, type Solver } from '@dns01-webhook/core';
import type { RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { challengeFor } from '../support/challenge.js';

export const NS = 'default';
export const SECRET_NAME = 'route53-credentials';

/** The usual config: key id in plain text, secret key from a Secret in the request namespace. */
export function staticConfig(emu: RunningRoute53Emulator, extra: Record<string, unknown> = {}) {
  return {
    region: 'us-east-1',
    accessKeyID: emu.credentials.accessKeyId,
    secretAccessKeySecretRef: { name: SECRET_NAME, key: 'secret-access-key' },
    endpoint: emu.url,
    ...extra,
  };
}

export function secretsFor(emu: RunningRoute53Emulator): SecretMap {
  return { [NS]: { [SECRET_NAME]: { 'secret-access-key': emu.credentials.secretAccessKey, 'access-key-id': emu.credentials.accessKeyId } } };
}

export function request(action: 'Present' | 'CleanUp', fqdn: string, zone: string, key: string, config: unknown, allowAmbientCredentials = false): ChallengeRequest {
  return challengeFor({ action, fqdn, zone, key, namespace: NS, config }, { uid: 'test', allowAmbientCredentials });
}

/** The economy (zone cache, breakers, limits, batches) the helpers' challenges share; fresh per test when asked. */
let economy = new Economy();
export function freshEconomy(): Economy {
  return (economy = new Economy());
}
export function currentEconomy(): Economy {
  return economy;
}

export function run(
  solver: Solver<any>,
  emu: RunningRoute53Emulator,
  action: 'Present' | 'CleanUp',
  fqdn: string,
  zone: string,
  key: string,
  config: unknown,
  options: { timeoutMs?: number; allowAmbientCredentials?: boolean; secrets?: SecretMap; economy?: Economy } = {},
) {
  return executeChallenge(solver, request(action, fqdn, zone, key, config, options.allowAmbientCredentials ?? false), {
    secretsFor: mapSecrets(options.secrets ?? secretsFor(emu)),
    log: silentLogger(),
    economy: options.economy ?? economy,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** A raw SDK client on the emulator, for arranging and reading back state. */
export function sdk(emu: RunningRoute53Emulator, credentials = emu.credentials): Route53Client {
  return new Route53Client({ region: 'us-east-1', endpoint: emu.url, credentials, maxAttempts: 1 });
}

/** Values of the TXT sets at `fqdn` in the emulator's store, unquoted, sorted. */
export function storedValues(emu: RunningRoute53Emulator, zoneName: string, fqdn: string): string[] {
  const zone = emu.store.zones.find((z) => z.name === zoneName && !z.private)!;
  return zone.sets
    .filter((s) => s.type === 'TXT' && s.name === fqdn)
    .flatMap((s) => s.values)
    .map((v) => v.replace(/^"|"$/g, ''))
    .sort();
}
