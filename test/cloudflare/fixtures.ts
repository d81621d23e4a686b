/** Shared fixtures for the Cloudflare tests: credentials, an emulator with them, and a challenge runner. */
import { executeChallenge, mapSecrets, silentLogger, type ChallengeOutcome, type ChallengeRequest, type Economy } from '@dns01-webhook/core';
import cloudflareSolver from '@dns01-webhook/solver-cloudflare';
import { challengeFor } from '../support/challenge.js';
import { startCloudflareEmulator, type CloudflareEmulator, type CloudflareEmulatorOptions } from '../emulators/cloudflare/emulator.js';

/** API tokens are 40 characters; global keys 37 lower-case hex characters. */
export const TOKEN_ALL = 'tokenAllZones'.padEnd(40, 'a');
export const TOKEN_OTHER_ONLY = 'tokenOtherZoneOnly'.padEnd(40, 'b');
export const TOKEN_UNKNOWN = 'tokenNobodyIssued'.padEnd(40, 'c');
export const EMAIL = 'ops@example.test';
export const GLOBAL_KEY = '0123456789abcdef0123456789abcdef01234';
export const NAMESPACE = 'cert-manager';

export const ZONE = 'example.test';
export const OTHER_ZONE = 'other.test';

export function startEmulator(extra: Partial<CloudflareEmulatorOptions> = {}): Promise<CloudflareEmulator> {
  return startCloudflareEmulator({
    zones: [ZONE, OTHER_ZONE, 'sub.deep.test'],
    tokens: { [TOKEN_ALL]: '*', [TOKEN_OTHER_ONLY]: [OTHER_ZONE] },
    users: [{ email: EMAIL, key: GLOBAL_KEY }],
    ...extra,
  });
}

/** Secrets in the request namespace only; `elsewhere` holds the same names to prove no other namespace is read. */
export const secretsFor = mapSecrets({
  [NAMESPACE]: {
    'cf-token': { 'api-token': TOKEN_ALL },
    'cf-token-other': { 'api-token': TOKEN_OTHER_ONLY },
    'cf-token-unknown': { 'api-token': TOKEN_UNKNOWN },
    'cf-key': { 'api-key': GLOBAL_KEY },
  },
  elsewhere: { 'cf-elsewhere': { 'api-token': TOKEN_ALL } },
});

export const tokenConfig = (emu: CloudflareEmulator, extra: Record<string, unknown> = {}) => ({
  apiTokenSecretRef: { name: 'cf-token', key: 'api-token' },
  endpoint: emu.url,
  ...extra,
});

export const keyConfig = (emu: CloudflareEmulator, extra: Record<string, unknown> = {}) => ({
  email: EMAIL,
  apiKeySecretRef: { name: 'cf-key', key: 'api-key' },
  endpoint: emu.url,
  ...extra,
});

export function request(
  action: 'Present' | 'CleanUp',
  fqdn: string,
  key: string,
  config: unknown,
  zone = `${ZONE}.`,
  allowAmbientCredentials = false,
): ChallengeRequest {
  return challengeFor({ action, fqdn, zone, key, namespace: NAMESPACE, config }, { uid: `uid-${Math.random().toString(16).slice(2)}`, allowAmbientCredentials });
}

/** Runs one challenge the way the server does (config validation, secrets, deadline, redaction). */
export function run(
  action: 'Present' | 'CleanUp',
  fqdn: string,
  key: string,
  config: unknown,
  options: { zone?: string; timeoutMs?: number; allowAmbientCredentials?: boolean; economy?: Economy } = {},
): Promise<ChallengeOutcome> {
  return executeChallenge(cloudflareSolver, request(action, fqdn, key, config, options.zone, options.allowAmbientCredentials), {
    secretsFor,
    log: silentLogger(),
    ...(options.economy ? { economy: options.economy } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

/** TXT values (as DNS serves them) stored by the emulator at a name without trailing dot. */
export function storedAt(emu: CloudflareEmulator, name: string): string[] {
  return emu.records().filter((r) => r.name === name).map((r) => r.content);
}
