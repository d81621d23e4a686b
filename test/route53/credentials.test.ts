/**
 * Which credentials, endpoint and proxy the route53 solver uses — proven on the emulator, which records
 * the access key that signed every call (SigV4-verified) and which role issued temporary keys:
 *  - static keys from config/Secrets win over AWS_* in the environment;
 *  - AWS_* / AWS_ENDPOINT_URL* / http_proxy in process.env are not used unless ambient credentials are allowed;
 *  - AssumeRole and AssumeRoleWithWebIdentity go through the emulator's STS with the real SDK;
 *  - proxyURL is used; HTTP(S)_PROXY/NO_PROXY only when ambient settings are allowed.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomKey } from '@dns01-webhook/core/conformance';
import type { Solver } from '@dns01-webhook/core';
import route53Solver, { type ServiceAccountTokenSource } from '@dns01-webhook/solver-route53';
import { startRoute53Emulator, type RunningRoute53Emulator } from '../emulators/route53/emulator.js';
import { startForwardProxy } from '../support/forward-proxy.js';
import { freshEconomy, run, SECRET_NAME, secretsFor, staticConfig, storedValues } from './helpers.js';

const ENV_KEY = { accessKeyId: 'AKIAFROMENVIRONMENT1', secretAccessKey: 'environment/secret/key/000000000000000000' };
const ROLE = 'arn:aws:iam::123456789012:role/dns01';
let emu: RunningRoute53Emulator;
let decoy: RunningRoute53Emulator;
let n = 0;
const fresh = () => `_acme-challenge.c${++n}.example.test.`;
const savedEnv = { ...process.env };

beforeAll(async () => {
  const credentials = [{ accessKeyId: 'AKIACONFIGURED000001', secretAccessKey: 'configured/secret/key/0000000000000000000' }, ENV_KEY];
  emu = await startRoute53Emulator({
    zones: ['example.test'],
    credentials,
    roles: [ROLE],
    acceptWebIdentity: (token, role) => token === 'token:default/route53-sa:sts.amazonaws.com' && role === ROLE,
  });
  // A second emulator only reachable through environment variables: nothing may arrive there.
  decoy = await startRoute53Emulator({ zones: ['example.test'], credentials });
});
afterAll(async () => {
  await emu?.close();
  await decoy?.close();
});
beforeEach(() => {
  freshEconomy();
  emu.authLog.length = 0;
  decoy.authLog.length = 0;
  decoy.control.reset();
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

function setAmbientEnvironment(endpoint?: string) {
  process.env.AWS_ACCESS_KEY_ID = ENV_KEY.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = ENV_KEY.secretAccessKey;
  process.env.AWS_REGION = 'eu-central-1';
  process.env.AWS_MAX_ATTEMPTS = '9';
  if (endpoint) {
    process.env.AWS_ENDPOINT_URL = endpoint;
    process.env.AWS_ENDPOINT_URL_ROUTE_53 = endpoint;
  }
}

const keysUsed = (e: RunningRoute53Emulator) => [...new Set(e.authLog.map((l) => l.accessKeyId))];

describe('ambient credentials', () => {
  it('are not used when the request does not allow them: a clear error, and no call reaches AWS', async () => {
    setAmbientEnvironment();
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), { endpoint: emu.url });
    expect(out.success).toBe(false);
    expect((out as { message: string }).message).toContain('no credentials configured and ambient credentials are not allowed for this issuer');
    expect(emu.authLog).toEqual([]);
  });

  it('are used (the SDK default chain reads AWS_ACCESS_KEY_ID) when allowed', async () => {
    setAmbientEnvironment();
    const fqdn = fresh();
    const key = randomKey();
    const out = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, { endpoint: emu.url }, { allowAmbientCredentials: true });
    expect(out).toEqual({ success: true });
    expect(keysUsed(emu)).toEqual([ENV_KEY.accessKeyId]);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([key]);
  });

  it('configured keys win over AWS_ACCESS_KEY_ID even when ambient credentials are allowed', async () => {
    setAmbientEnvironment();
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu), { allowAmbientCredentials: true });
    expect(out).toEqual({ success: true });
    expect(keysUsed(emu)).toEqual(['AKIACONFIGURED000001']);
  });

  it('AWS_ENDPOINT_URL(_ROUTE_53) in the environment is ignored unless ambient credentials are allowed', async () => {
    setAmbientEnvironment(decoy.url);
    // No endpoint in config: the SDK must aim at AWS itself (unreachable here), never at the decoy from the env.
    const cfg = { ...staticConfig(emu), endpoint: undefined };
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg, { timeoutMs: 2_500 });
    expect(out.success).toBe(false);
    expect(decoy.control.calls()).toEqual({});
    expect((out as { message: string }).message).toMatch(/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|did not finish/);
    // Configured keys + ambient allowed: still explicit, the environment's endpoint is not used either.
    const keysAllowed = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg, { timeoutMs: 2_500, allowAmbientCredentials: true });
    expect(keysAllowed.success).toBe(false);
    expect(decoy.control.calls()).toEqual({});
    // Ambient credentials in use: the whole ambient AWS configuration applies, endpoint included.
    const ambient = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), {}, { allowAmbientCredentials: true });
    expect(ambient).toEqual({ success: true });
    expect(decoy.control.calls('ChangeResourceRecordSets')).toBe(1);
    expect(keysUsed(decoy)).toEqual([ENV_KEY.accessKeyId]);
  });
});

describe('keys from Secrets', () => {
  it('reads accessKeyIDSecretRef and secretAccessKeySecretRef from the request namespace only', async () => {
    const cfg = {
      endpoint: emu.url,
      accessKeyIDSecretRef: { name: SECRET_NAME, key: 'access-key-id' },
      secretAccessKeySecretRef: { name: SECRET_NAME, key: 'secret-access-key' },
    };
    expect(await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg)).toEqual({ success: true });
    const elsewhere = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg, { secrets: { 'kube-system': secretsFor(emu).default! } });
    expect((elsewhere as { message: string }).message).toContain(`secret "${SECRET_NAME}" key "access-key-id" not found in namespace "default"`);
  });
});

describe('roles through STS (real @aws-sdk/client-sts on the wire)', () => {
  it('role + keys: AssumeRole signed with the keys, then Route 53 called with the temporary credentials', async () => {
    const fqdn = fresh();
    const key = randomKey();
    const out = await run(route53Solver, emu, 'Present', fqdn, 'example.test.', key, staticConfig(emu, { role: ROLE, stsEndpoint: emu.url }));
    expect(out).toEqual({ success: true });
    expect(emu.stsLog.at(-1)).toMatchObject({ action: 'AssumeRole', roleArn: ROLE, callerKey: 'AKIACONFIGURED000001' });
    expect(emu.authLog.every((l) => l.role === ROLE && l.accessKeyId.startsWith('ASIA'))).toBe(true);
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([key]);
  });

  it('a role the trust policy does not allow fails with AccessDenied and a hint', async () => {
    const out = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu, { role: 'arn:aws:iam::123456789012:role/other', stsEndpoint: emu.url }));
    expect((out as { message: string }).message).toContain("AccessDenied (HTTP 403)");
    expect((out as { message: string }).message).toContain("trust policy");
  });

  /** What the core would put on the context: tokens for ServiceAccounts in the request namespace. */
  function withTokens(source: ServiceAccountTokenSource): Solver<any> {
    return {
      ...route53Solver,
      present: (req, ctx) => route53Solver.present(req, { ...ctx, serviceAccountTokens: source } as typeof ctx),
      cleanUp: (req, ctx) => route53Solver.cleanUp(req, { ...ctx, serviceAccountTokens: source } as typeof ctx),
    };
  }

  const saConfig = { endpoint: emu?.url, role: ROLE, auth: { kubernetes: { serviceAccountRef: { name: 'route53-sa' } } } };

  it('serviceAccountRef: a token for the ServiceAccount (audience sts.amazonaws.com) traded via AssumeRoleWithWebIdentity', async () => {
    const asked: unknown[] = [];
    const solver = withTokens({
      async createToken(sa, opts) {
        asked.push({ sa, ...opts });
        return { token: `token:default/${sa}:${opts.audiences.join(',')}` };
      },
    });
    const fqdn = fresh();
    const key = randomKey();
    const cfg = { ...saConfig, endpoint: emu.url, stsEndpoint: emu.url };
    expect(await run(solver, emu, 'Present', fqdn, 'example.test.', key, cfg)).toEqual({ success: true });
    expect(asked).toEqual([{ sa: 'route53-sa', audiences: ['sts.amazonaws.com'], expirationSeconds: 600 }]);
    expect(emu.stsLog.at(-1)).toMatchObject({ action: 'AssumeRoleWithWebIdentity', roleArn: ROLE });
    expect(emu.authLog.every((l) => l.role === ROLE)).toBe(true);
    expect(await run(solver, emu, 'CleanUp', fqdn, 'example.test.', key, cfg)).toEqual({ success: true });
    expect(storedValues(emu, 'example.test.', fqdn)).toEqual([]);
  });

  it('serviceAccountRef: a token STS rejects → InvalidIdentityToken; no token source → a clear message', async () => {
    const wrongAudience = withTokens({ createToken: async () => ({ token: 'token:default/route53-sa:other' }) });
    const cfg = { ...saConfig, endpoint: emu.url, stsEndpoint: emu.url };
    const rejected = await run(wrongAudience, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg);
    expect((rejected as { message: string }).message).toContain('InvalidIdentityToken');
    const none = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), cfg);
    expect((none as { message: string }).message).toContain('auth.kubernetes.serviceAccountRef needs ServiceAccount tokens');
  });
});

describe('proxies', () => {
  const names = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'NO_PROXY', 'no_proxy'] as const;
  const saved: Record<string, string | undefined> = {};
  let proxy: Awaited<ReturnType<typeof startForwardProxy>>;
  beforeAll(async () => {
    proxy = await startForwardProxy();
  });
  beforeEach(() => {
    for (const n of names) saved[n] = process.env[n];
    for (const n of names) delete process.env[n];
  });
  afterEach(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('uses proxyURL, and ignores http_proxy / HTTPS_PROXY from the environment when ambient settings are not allowed', async () => {
    process.env.http_proxy = process.env.HTTP_PROXY = process.env.https_proxy = process.env.HTTPS_PROXY = proxy.url;
    const before = proxy.seen.length;
    expect(await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu))).toEqual({ success: true });
    expect(proxy.seen.length).toBe(before);
    for (const n of names) delete process.env[n];
    expect(await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu, { proxyURL: proxy.url }))).toEqual({ success: true });
    expect(proxy.seen.length).toBeGreaterThan(before);
  });

  it('uses HTTP(S)_PROXY from the environment when ambient settings are allowed, unless NO_PROXY lists the host', async () => {
    process.env.HTTP_PROXY = process.env.HTTPS_PROXY = proxy.url;
    const before = proxy.seen.length;
    const viaProxy = await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu), { allowAmbientCredentials: true });
    expect(viaProxy).toEqual({ success: true });
    const carried = proxy.seen.slice(before);
    expect(carried.length).toBeGreaterThan(0);
    expect(carried.every((line) => line.includes(new URL(emu.url).host))).toBe(true);
    process.env.NO_PROXY = '127.0.0.1';
    const direct = proxy.seen.length;
    expect(await run(route53Solver, emu, 'Present', fresh(), 'example.test.', randomKey(), staticConfig(emu), { allowAmbientCredentials: true })).toEqual({ success: true });
    expect(proxy.seen.length).toBe(direct);
  });
});
