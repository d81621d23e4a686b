/** Shared pieces of the rfc2136 tests: secrets and configs for a running server's keys, one challenge runner. */
import { executeChallenge, mapSecrets, silentLogger, type ChallengeOutcome, type ChallengeRequest, type SecretReader } from '@dns01-webhook/core';
import rfc2136Solver, { type TsigAlgorithm } from '@dns01-webhook/solver-rfc2136';
import { challengeFor } from '../support/challenge.js';
import { ALGORITHMS, ZONE, type AuthoritativeServer } from './servers.js';

export const NAMESPACE = 'cert-manager';

/** cert-manager's spelling of each algorithm (`HMACSHA256`), as users have it in their Issuers. */
export const certManagerName = (algorithm: TsigAlgorithm) => algorithm.replace('-', '').toUpperCase();
export const secretName = (algorithm: TsigAlgorithm) => `tsig-${algorithm}`;

/** One Secret per key of the server (key `tsig-secret`), plus `readonly` and a wrong secret, all in NAMESPACE. */
export function secretsFor(server: AuthoritativeServer): (namespace: string) => SecretReader {
  return mapSecrets({
    [NAMESPACE]: {
      ...Object.fromEntries(ALGORITHMS.map((a) => [secretName(a), { 'tsig-secret': server.keys[a].secret }])),
      readonly: { 'tsig-secret': server.readonlyKey.secret },
      wrong: { 'tsig-secret': Buffer.alloc(32, 7).toString('base64') },
      'not-base64': { 'tsig-secret': 'this is not base64!' },
    },
  });
}

/** cert-manager's built-in rfc2136 block for `algorithm`'s key, verbatim in shape. */
export function configFor(server: AuthoritativeServer, algorithm: TsigAlgorithm = 'hmac-sha256', extra: Record<string, unknown> = {}) {
  return {
    nameserver: server.address,
    tsigKeyName: server.keys[algorithm].name,
    tsigAlgorithm: certManagerName(algorithm),
    tsigSecretSecretRef: { name: secretName(algorithm), key: 'tsig-secret' },
    ...extra,
  };
}

export function request(action: 'Present' | 'CleanUp', key: string, config: unknown, fqdn = `_acme-challenge.${ZONE}`, zone = ZONE): ChallengeRequest {
  return challengeFor({ action, fqdn, zone, key, namespace: NAMESPACE, config }, { uid: 'rfc2136-test' });
}

/** Runs one challenge exactly as the server does (executeChallenge: validation, deadline, redaction). */
export function run(server: AuthoritativeServer, req: ChallengeRequest, timeoutMs = 15_000): Promise<ChallengeOutcome> {
  return executeChallenge(rfc2136Solver, req, { secretsFor: secretsFor(server), log: silentLogger(), timeoutMs });
}
