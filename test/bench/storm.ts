/**
 * `npm run bench:storm` — the provider economy under a renewal storm (issue 8), reproducible, not a test.
 *
 * For each solver, against its emulator with the provider's documented quotas enforced and its call counters:
 *   - Storm: 200 certificates × (apex + wildcard) = 400 challenges over 20 zones, driven the way cert-manager
 *     drives them: every Present at once; a failed Present retried with cert-manager's backoff (5 s doubling
 *     to 5 min, time-compressed ×COMPRESS); then every CleanUp the same way. Reported: provider calls per
 *     challenge, throttled answers, failed attempts, time until all were presented.
 *   - Bad credentials: 50 challenges with a revoked credential, each re-sent every 5 s for 10 minutes
 *     (compressed ×BAD_COMPRESS, the breaker's cool-downs with it): provider calls for that credential.
 *   - Both with the economy on and off (today's behaviour before issue 8) in the same run, with the ratios.
 *
 * Compression: cert-manager's backoff and the bad-credential schedule run COMPRESS/BAD_COMPRESS times faster;
 * provider quotas run at real speed, except Cloudflare's 5-minute window, which is scaled to 30 s on both the
 * emulator and the solver (else one run would take 5 minutes per mode); call counts do not depend on it.
 *
 *   npm run bench:storm [-- --solvers dnspod,route53,cloudflare --off-cap-s 90 --out docs/bench-storm.json]
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  Economy,
  executeChallenge,
  silentLogger,
  type ChallengeOutcome,
  type ChallengeRequest,
  type EconomyOptions,
  type SecretReader,
  type Solver,
} from '@dns01-webhook/core';
import cloudflareSolver from '@dns01-webhook/solver-cloudflare';
import { createDnspodSolver } from '@dns01-webhook/solver-dnspod';
import route53Solver from '@dns01-webhook/solver-route53';
import type { EmulatorControl } from '../emulators/common/control.js';
import { startCloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { startRoute53Emulator } from '../emulators/route53/emulator.js';

const { values: args } = parseArgs({
  options: {
    solvers: { type: 'string', default: 'dnspod,route53,cloudflare' },
    certificates: { type: 'string', default: '200' },
    zones: { type: 'string', default: '20' },
    'off-cap-s': { type: 'string', default: '90' },
    'bad-challenges': { type: 'string', default: '50' },
    out: { type: 'string' },
    /** `on` alone skips the slow "off" comparison (figures for one side only). */
    modes: { type: 'string', default: 'on,off' },
  },
});
const withOff = args.modes!.split(',').includes('off');

// The "off" runs overload the emulators on purpose; the AWS SDK then warns once per slow request. Keep the table readable.
const warn = console.warn.bind(console);
console.warn = (...a: unknown[]) => {
  if (!String(a[0]).includes('@smithy/node-http-handler')) warn(...a);
};
process.removeAllListeners('warning');

const CERTS = Number(args.certificates);
const ZONES = Number(args.zones);
/** cert-manager's backoff runs this many times faster. */
const COMPRESS = 10;
/** The bad-credential schedule (and the breaker's cool-downs) run this many times faster. */
const BAD_COMPRESS = 20;
/** Wall-clock cap for one storm phase (the "off" runs may never finish under the quota). */
const PHASE_CAP_MS = Number(args['off-cap-s']) * 1000;
const CLOUDFLARE_WINDOW_S = 30;
const NS = 'cert-manager';

interface Target {
  solver: Solver<any>;
  control: EmulatorControl;
  config: unknown;
  badConfig: unknown;
  secrets: (ns: string) => SecretReader;
  /** Identity under which the emulator counts the bad credential's requests. */
  badScope: string;
  /** Economy options every run of this solver needs (the scaled Cloudflare window). */
  economy: EconomyOptions;
  /** The floor per challenge: Present, CleanUp. */
  floor: { present: number; cleanUp: number; note: string };
  close(): Promise<void>;
}

const zoneName = (z: number) => `z${z}.storm.test`;

function mapReader(values: Record<string, string>) {
  return (namespace: string): SecretReader => ({
    namespace,
    async get(s) {
      const v = values[`${s.name}/${s.key}`];
      if (v === undefined) throw new Error(`no secret ${s.name}/${s.key}`);
      return v;
    },
  });
}

async function target(name: string): Promise<Target> {
  const zones = Array.from({ length: ZONES }, (_, z) => zoneName(z));
  if (name === 'dnspod') {
    const emu = await startDnspodEmulator({ domains: zones });
    return {
      solver: createDnspodSolver(),
      control: emu.control,
      config: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod', key: 'key' }, endpoint: emu.url },
      badConfig: { secretId: DEFAULT_SECRET_ID, secretKeyRef: { name: 'dnspod', key: 'revoked' }, endpoint: emu.url },
      secrets: mapReader({ 'dnspod/key': DEFAULT_SECRET_KEY, 'dnspod/revoked': 'a-revoked-secret-key' }),
      badScope: `secretId:${DEFAULT_SECRET_ID}`,
      economy: {},
      floor: { present: 1, cleanUp: 2, note: 'CreateRecord (DomainRecordExist is distinct); DescribeRecordList + DeleteRecord' },
      close: () => emu.close(),
    };
  }
  if (name === 'cloudflare') {
    const token = 'stormToken'.padEnd(40, 's');
    const revoked = 'revokedToken'.padEnd(40, 'r');
    const emu = await startCloudflareEmulator({ zones, tokens: { [token]: '*' }, quota: { requests: 1200, perSeconds: CLOUDFLARE_WINDOW_S } });
    const config = (key: string) => ({ apiTokenSecretRef: { name: 'cf', key }, endpoint: emu.url });
    return {
      solver: cloudflareSolver,
      control: emu.control,
      config: config('token'),
      badConfig: config('revoked'),
      secrets: mapReader({ 'cf/token': token, 'cf/revoked': revoked }),
      badScope: (await import('../emulators/cloudflare/auth.js')).claimedIdentity({ authorization: `Bearer ${revoked}` }),
      economy: { rateLimitOverrides: { cloudflare: { requests: 1200, perSeconds: CLOUDFLARE_WINDOW_S } } },
      floor: { present: 1, cleanUp: 2, note: 'POST (81057/81058 are distinct); GET + DELETE' },
      close: () => emu.close(),
    };
  }
  const emu = await startRoute53Emulator({ zones });
  const config = (key: string) => ({
    region: 'us-east-1', accessKeyID: key === 'revoked' ? 'AKIAREVOKED000000001' : emu.credentials.accessKeyId,
    secretAccessKeySecretRef: { name: 'aws', key }, endpoint: emu.url,
  });
  return {
    solver: route53Solver,
    control: emu.control,
    config: config('secret'),
    badConfig: config('revoked'),
    secrets: mapReader({ 'aws/secret': emu.credentials.secretAccessKey, 'aws/revoked': 'revoked/secret/key/000000000000000000000' }),
    badScope: 'accessKey:AKIAREVOKED000000001',
    economy: {},
    floor: { present: 2, cleanUp: 2, note: 'ListResourceRecordSets + ChangeResourceRecordSets (no distinct "exists" for one value of a set)' },
    close: () => emu.close(),
  };
}

function challenge(action: 'Present' | 'CleanUp', cert: number, wildcard: boolean, key: string, config: unknown): ChallengeRequest {
  const zone = zoneName(cert % ZONES);
  const dnsName = `c${cert}.${zone}`;
  return {
    uid: `${cert}-${wildcard ? 'w' : 'a'}-${randomBytes(4).toString('hex')}`, action, type: 'dns-01', dnsName, key,
    resourceNamespace: NS, resolvedFQDN: `_acme-challenge.${dnsName}.`, resolvedZone: `${zone}.`, allowAmbientCredentials: false, config,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** cert-manager's per-challenge backoff (5 s doubling to 5 min), compressed. */
const backoffMs = (failures: number) => (Math.min(300, 5 * 2 ** (failures - 1)) * 1000) / COMPRESS;

interface PhaseResult {
  calls: number;
  callsPerChallenge: number;
  throttled: number;
  failedAttempts: number;
  unfinished: number;
  seconds: number;
}

/** Every challenge at once; each failure retried with the backoff until it succeeds or the cap passes. */
async function phase(t: Target, economy: Economy, requests: ChallengeRequest[]): Promise<PhaseResult> {
  const before = { calls: sum(t.control.calls()), throttled: t.control.throttled() };
  const started = Date.now();
  let failedAttempts = 0;
  let unfinished = 0;
  await Promise.all(
    requests.map(async (req) => {
      for (let failures = 0; ; ) {
        const out: ChallengeOutcome = await executeChallenge(t.solver, { ...req }, { secretsFor: t.secrets, log: silentLogger(), economy });
        if (out.success) return;
        failedAttempts++;
        failures++;
        const wait = backoffMs(failures);
        if (Date.now() + wait - started > PHASE_CAP_MS) {
          unfinished++;
          return;
        }
        await sleep(wait);
      }
    }),
  );
  const calls = sum(t.control.calls()) - before.calls;
  return {
    calls,
    callsPerChallenge: calls / requests.length,
    throttled: t.control.throttled() - before.throttled,
    failedAttempts,
    unfinished,
    seconds: (Date.now() - started) / 1000,
  };
}

async function storm(t: Target, on: boolean) {
  t.control.reset();
  const economy = on ? new Economy(t.economy) : new Economy({ ...t.economy, features: { zoneCache: false, singleflight: false, rateLimits: false, breaker: false, batching: false, callFloor: false } });
  const keys = Array.from({ length: CERTS }, () => [randomBytes(16).toString('base64url'), randomBytes(16).toString('base64url')] as const);
  const make = (action: 'Present' | 'CleanUp') =>
    keys.flatMap(([apex, wild], cert) => [challenge(action, cert, false, apex, t.config), challenge(action, cert, true, wild, t.config)]);
  const present = await phase(t, economy, make('Present'));
  const cleanUp = await phase(t, economy, make('CleanUp'));
  return { present, cleanUp };
}

/** 50 challenges with a revoked credential, each re-sent every 5 s for 10 minutes (compressed). */
async function badCredentials(t: Target, on: boolean) {
  t.control.reset();
  const features = on ? {} : { features: { zoneCache: false, singleflight: false, rateLimits: false, breaker: false, batching: false, callFloor: false } };
  const economy = new Economy({ ...t.economy, ...features, breaker: { initialMs: 30_000 / BAD_COMPRESS, maxMs: 600_000 / BAD_COMPRESS } });
  const n = Number(args['bad-challenges']);
  const interval = 5_000 / BAD_COMPRESS;
  const until = Date.now() + 600_000 / BAD_COMPRESS;
  const messages = new Set<string>();
  let sent = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const req = challenge('Present', i, false, `bad-${i}`, t.badConfig);
      while (Date.now() < until) {
        const out = await executeChallenge(t.solver, req, { secretsFor: t.secrets, log: silentLogger(), economy });
        sent++;
        if (!out.success && i === 0) messages.add(out.message);
        await sleep(interval);
      }
    }),
  );
  return { challengesSent: sent, providerCalls: t.control.requestsBy()[t.badScope] ?? 0, distinctMessagesForOneChallenge: messages.size, messages: [...messages] };
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
const ratio = (off: number, on: number) => (on === 0 ? '∞' : `${fmt(off / on, 1)}×`);

const results: Record<string, unknown> = {};
const lines: string[] = [];
const print = (s: string) => {
  lines.push(s);
  process.stdout.write(`${s}\n`);
};

print(`# bench:storm — ${CERTS} certificates × (apex + wildcard) = ${CERTS * 2} challenges over ${ZONES} zones`);
print(`node ${process.version}; cert-manager backoff ×${COMPRESS} faster; bad-credential schedule ×${BAD_COMPRESS} faster; phase cap ${PHASE_CAP_MS / 1000} s`);
for (const name of args.solvers!.split(',')) {
  const t = await target(name);
  try {
    const on = await storm(t, true);
    const skipped = { calls: NaN, callsPerChallenge: NaN, throttled: NaN, failedAttempts: NaN, unfinished: NaN, seconds: NaN };
    const off = withOff ? await storm(t, false) : { present: skipped, cleanUp: skipped };
    const badOn = await badCredentials(t, true);
    const badOff = withOff ? await badCredentials(t, false) : { challengesSent: NaN, providerCalls: NaN, distinctMessagesForOneChallenge: NaN, messages: [] };
    results[name] = { floor: t.floor, on, off, badCredentials: { on: badOn, off: badOff } };
    print(`\n## ${name} (floor: Present ${t.floor.present}, CleanUp ${t.floor.cleanUp} — ${t.floor.note})`);
    print('| | economy on | off (before) | off / on |');
    print('|---|---|---|---|');
    const row = (label: string, a: number, b: number, d = 2) => print(`| ${label} | ${fmt(a, d)} | ${fmt(b, d)} | ${ratio(b, a)} |`);
    row('Present: provider calls per challenge', on.present.callsPerChallenge, off.present.callsPerChallenge);
    row('CleanUp: provider calls per challenge', on.cleanUp.callsPerChallenge, off.cleanUp.callsPerChallenge);
    row('throttled answers (Present + CleanUp)', on.present.throttled + on.cleanUp.throttled, off.present.throttled + off.cleanUp.throttled, 0);
    row('failed attempts (Present + CleanUp)', on.present.failedAttempts + on.cleanUp.failedAttempts, off.present.failedAttempts + off.cleanUp.failedAttempts, 0);
    row(`challenges not done within the ${PHASE_CAP_MS / 1000} s cap`, on.present.unfinished + on.cleanUp.unfinished, off.present.unfinished + off.cleanUp.unfinished, 0);
    row('seconds until all presented', on.present.seconds, off.present.seconds, 1);
    row('seconds until all cleaned up', on.cleanUp.seconds, off.cleanUp.seconds, 1);
    row('bad credentials: provider calls in 10 min (50 challenges every 5 s)', badOn.providerCalls, badOff.providerCalls, 0);
    print(`bad credentials: ${badOn.challengesSent} challenges answered (on), ${badOn.distinctMessagesForOneChallenge} distinct message(s) for one challenge over 10 min (on), ${badOff.distinctMessagesForOneChallenge} (off)`);
    for (const m of badOn.messages) print(`  message (on): ${m}`);
    if (name === 'route53') {
      // Ideal with batching: per zone one lookup, one listing and one change batch; 5 requests/s.
      const minimal = 3 * ZONES;
      const bound = minimal / 5;
      print(`route53 bound at 5 req/s with batching: ${minimal} calls → ${fmt(bound, 1)} s; measured ${fmt(on.present.seconds, 1)} s = ${fmt(on.present.seconds / bound, 2)} × the bound`);
      (results[name] as Record<string, unknown>).boundSeconds = bound;
    }
  } finally {
    await t.close();
  }
}
if (args.out) writeFileSync(args.out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, certificates: CERTS, zones: ZONES, compress: COMPRESS, badCompress: BAD_COMPRESS, phaseCapSeconds: PHASE_CAP_MS / 1000, results }, null, 2)}\n`);
process.exit(0);
