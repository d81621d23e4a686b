/**
 * Issue 8 §0: the message each solver returns to cert-manager is byte-identical across retries of the
 * same failure (cert-manager re-queues a Challenge at once whenever its status message changes; with
 * DNSPod's `[RequestId …]` in the message that was 14–25 Presents per second). Each failure class is run
 * repeatedly with the real solver against its emulator, and the messages are compared byte for byte.
 * The 5xx class uses different deadlines on purpose, so one run ends by exhausting its retries and
 * another by the deadline cutting them short: both must read the same.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeChallenge, mapSecrets, silentLogger, type SecretMap, type Solver } from '@dns01-webhook/core';
import cloudflare from '@dns01-webhook/solver-cloudflare';
import dnspod from '@dns01-webhook/solver-dnspod';
import route53 from '@dns01-webhook/solver-route53';
import { startCloudflareEmulator } from '../emulators/cloudflare/emulator.js';
import { DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, startDnspodEmulator } from '../emulators/dnspod/emulator.js';
import { DEFAULT_KEY, startRoute53Emulator } from '../emulators/route53/emulator.js';
import type { RunningEmulator } from '../emulators/common/control.js';

const NS = 'cert-manager';
const CF_TOKEN = 'cfTokenForStableMessages'.padEnd(40, 'x');
const CF_WRONG = 'cfTokenNobodyIssuedxx'.padEnd(40, 'y');

interface SolverUnderTest {
  solver: Solver<any>;
  start(): Promise<RunningEmulator>;
  secrets: SecretMap;
  /** A working config, or one with `secret` naming the Secret that holds the credential. */
  config(emu: RunningEmulator, secret?: string): Record<string, unknown>;
  /** The emulator's name for the zone lookup (fault injection). */
  zoneAction: string;
  /** What a bad credential's message must mention (so the comparison is not of two empty strings). */
  badCredential: RegExp;
  missingZone: RegExp;
  /** A config the schema rejects. */
  badConfig(emu: RunningEmulator): Record<string, unknown>;
}

const SOLVERS: Record<string, SolverUnderTest> = {
  dnspod: {
    solver: dnspod,
    start: () => startDnspodEmulator({ domains: ['example.test', 'flaky.test'] }),
    secrets: { [NS]: { good: { id: DEFAULT_SECRET_ID, key: DEFAULT_SECRET_KEY }, wrong: { id: DEFAULT_SECRET_ID, key: 'wrong-secret-key-00000000000000000' } } },
    config: (emu, secret = 'good') => ({ secretIdRef: { name: secret, key: 'id' }, secretKeyRef: { name: secret, key: 'key' }, ttl: 600, endpoint: emu.url }),
    zoneAction: 'DescribeDomain',
    badCredential: /AuthFailure\.SignatureFailure/,
    missingZone: /no DNSPod domain hosts/,
    badConfig: (emu) => ({ secretIdRef: { name: 'good', key: 'id' }, secretKeyRef: { name: 'good', key: 'key' }, ttl: 'ten minutes', endpoint: emu.url }),
  },
  route53: {
    solver: route53,
    start: () => startRoute53Emulator({ zones: ['example.test', 'flaky.test'] }),
    secrets: { [NS]: { good: { id: DEFAULT_KEY.accessKeyId, key: DEFAULT_KEY.secretAccessKey }, wrong: { id: DEFAULT_KEY.accessKeyId, key: 'wrong/secret/key/000000000000000000000000' } } },
    config: (emu, secret = 'good') => ({
      region: 'us-east-1',
      accessKeyIDSecretRef: { name: secret, key: 'id' },
      secretAccessKeySecretRef: { name: secret, key: 'key' },
      endpoint: emu.url,
    }),
    zoneAction: 'ListHostedZonesByName',
    badCredential: /SignatureDoesNotMatch/,
    missingZone: /no public hosted zone/,
    badConfig: (emu) => ({ region: 'us-east-1', accessKeyIDSecretRef: { name: 'good', key: 'id' }, endpoint: emu.url }),
  },
  cloudflare: {
    solver: cloudflare,
    start: () => startCloudflareEmulator({ zones: ['example.test', 'flaky.test'], tokens: { [CF_TOKEN]: '*' } }),
    secrets: { [NS]: { good: { token: CF_TOKEN }, wrong: { token: CF_WRONG } } },
    config: (emu, secret = 'good') => ({ apiTokenSecretRef: { name: secret, key: 'token' }, endpoint: emu.url }),
    zoneAction: 'GET zones',
    badCredential: /HTTP 40[13]/,
    missingZone: /no zone found/,
    badConfig: (emu) => ({ apiTokenSecretRef: { name: 'good', key: 'token' }, apiKeySecretRef: { name: 'good', key: 'token' }, email: 'a@b.test', endpoint: emu.url }),
  },
};

for (const [name, s] of Object.entries(SOLVERS)) {
  describe(`${name}: the same failure, the same message`, () => {
    let emu: RunningEmulator;
    beforeAll(async () => {
      emu = await s.start();
      // Load the solver's SDK once: on a busy machine the first import alone can take seconds.
      expect(await present(s.config(emu), 30_000)).toEqual({ success: true });
    }, 60_000);

    function present(config: Record<string, unknown>, timeoutMs: number, zone = 'example.test.') {
      return executeChallenge(
        s.solver,
        {
          uid: randomUUID(), action: 'Present', type: 'dns-01', dnsName: `x.${zone}`.slice(0, -1), key: randomUUID(), resourceNamespace: NS,
          resolvedFQDN: `_acme-challenge.x.${zone}`, resolvedZone: zone, allowAmbientCredentials: false, config,
        },
        { secretsFor: mapSecrets(s.secrets), log: silentLogger(), timeoutMs },
      );
    }
    afterAll(() => emu?.close());

    async function failures(config: Record<string, unknown>, deadlines: number[], zone = 'example.test.'): Promise<string[]> {
      const messages: string[] = [];
      for (const timeoutMs of deadlines) {
        const outcome = await present(config, timeoutMs, zone);
        expect(outcome.success, `run with a ${timeoutMs} ms deadline succeeded`).toBe(false);
        if (!outcome.success) messages.push(outcome.message);
      }
      return messages;
    }

    function expectIdentical(messages: string[], mentions: RegExp): void {
      expect(messages[0]).toMatch(mentions);
      for (const m of messages.slice(1)) expect(m).toBe(messages[0]);
      // Nothing id-shaped slipped through (the core would have replaced it, the solver should not send it).
      expect(messages[0]).not.toMatch(/RequestId|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}|<id>|<time>/i);
    }

    it('bad credential', async () => {
      expectIdentical(await failures(s.config(emu, 'wrong'), [20_000, 20_000, 20_000]), s.badCredential);
    });

    it('missing zone', async () => {
      expectIdentical(await failures(s.config(emu), [20_000, 20_000, 20_000], 'nowhere.test.'), s.missingZone);
    });

    it('throttled until the deadline', async () => {
      // Every call (whichever the solver makes first: with a cached zone and "already exists" codes, a
      // Present may be a single write).
      emu.control.inject({ kind: 'throttle', times: 10_000 });
      try {
        expectIdentical(await failures(s.config(emu), [1200, 1500, 2000]), /throttl|rate|RequestLimitExceeded|429/i);
      } finally {
        emu.control.reset();
      }
    });

    it('provider 5xx: retries exhausted and retries cut short by the deadline read the same', async () => {
      // On the zone lookup of a zone no earlier case looked up (nothing cached), with at most 6 attempts.
      emu.control.inject({ kind: 'server-error', action: s.zoneAction, times: 10_000 });
      try {
        expectIdentical(await failures(s.config(emu), [1000, 2500, 15_000], 'flaky.test.'), /HTTP ?5\d\d|InternalError|InternalFailure|ServiceUnavailable/);
      } finally {
        emu.control.reset();
      }
    }, 60_000);

    it('missing Secret', async () => {
      expectIdentical(await failures(s.config(emu, 'absent'), [20_000, 20_000, 20_000]), /secret "absent" .*not found/i);
    });

    it('bad config', async () => {
      expectIdentical(await failures(s.badConfig(emu), [20_000, 20_000, 20_000]), /invalid config/);
    });
  });
}
