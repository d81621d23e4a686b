/** Shared set-up for the DNSPod tests: the emulator, the official SDK pointed at it, and challenge requests. */
import { createRequire } from 'node:module';
import { executeChallenge, mapSecrets, silentLogger, type ChallengeOutcome, type ChallengeRequest, type Economy, type Solver } from '@dns01-webhook/core';
import * as tencentcloud from 'tencentcloud-sdk-nodejs-dnspod';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY } from '../emulators/dnspod/emulator.js';
import { challengeFor } from '../support/challenge.js';

export { DEFAULT_SECRET_ID as SECRET_ID, DEFAULT_SECRET_KEY as SECRET_KEY };

export const NAMESPACE = 'cert-manager';
export const secretsFor = mapSecrets({
  [NAMESPACE]: { 'dnspod-secret': { 'secret-id': DEFAULT_SECRET_ID, 'secret-key': `${DEFAULT_SECRET_KEY}\n` } },
  // The same secret name in another namespace holds a wrong key: reading it would fail the signature.
  other: { 'dnspod-secret': { 'secret-id': DEFAULT_SECRET_ID, 'secret-key': 'wrong-key' } },
});

export type SdkClient = InstanceType<typeof tencentcloud.dnspod.v20210323.Client>;

/** The official SDK client pointed at the emulator, exactly as a user would configure it. */
export function sdkClient(url: string, credential = { secretId: DEFAULT_SECRET_ID, secretKey: DEFAULT_SECRET_KEY }): SdkClient {
  const u = new URL(url);
  return new tencentcloud.dnspod.v20210323.Client({
    credential,
    region: '',
    profile: { httpProfile: { endpoint: u.host, protocol: 'http://', reqTimeout: 5 } },
  });
}

/** The SDK's own TC3 signer (CommonJS internals), for hand-made raw requests. */
const require = createRequire(import.meta.url);
export const sdkSign: {
  sign3(args: { method: string; url: string; payload: unknown; timestamp: number; service: string; secretId: string; secretKey: string; multipart: boolean; headers: Record<string, string> }): string;
} = require('tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js').default;

/** A raw API call signed with the SDK's signer; `mutate` tampers with what is sent after signing. */
export async function rawCall(
  url: string,
  action: string,
  params: object,
  opts: { timestamp?: number; secretId?: string; secretKey?: string; version?: string; sendBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any }> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const authorization = sdkSign.sign3({
    method: 'POST', url: `${url}/`, payload: params, timestamp, service: new URL(url).hostname.split('.')[0]!,
    secretId: opts.secretId ?? DEFAULT_SECRET_ID, secretKey: opts.secretKey ?? DEFAULT_SECRET_KEY, multipart: false, headers,
  });
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: {
      ...headers, Authorization: authorization, 'X-TC-Action': action, 'X-TC-Version': opts.version ?? '2021-03-23',
      'X-TC-Timestamp': String(timestamp), ...opts.headers,
    },
    body: opts.sendBody ?? JSON.stringify(params),
  });
  const text = await res.text();
  return { status: res.status, json: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

export function challenge(action: 'Present' | 'CleanUp', fqdn: string, zone: string, key: string, config: unknown, extra: Partial<ChallengeRequest> = {}): ChallengeRequest {
  return challengeFor({ action, fqdn, zone, key, namespace: NAMESPACE, config }, extra);
}

/** Through executeChallenge as the server runs it; `economy` = a fresh one (cold zone cache, own breakers), else the process's. */
export function run(solver: Solver<any>, request: ChallengeRequest, timeoutMs = 10_000, economy?: Economy): Promise<ChallengeOutcome> {
  return executeChallenge(solver, request, { secretsFor, log: silentLogger(), timeoutMs, ...(economy ? { economy } : {}) });
}

/** The imroc 1.5.x shape, pointed at the emulator. */
export function newerConfig(url: string, extra: Record<string, unknown> = {}) {
  return {
    secretIdRef: { name: 'dnspod-secret', key: 'secret-id' },
    secretKeyRef: { name: 'dnspod-secret', key: 'secret-key' },
    ttl: 600,
    recordLine: '',
    endpoint: url,
    ...extra,
  };
}
