/**
 * The economy's building blocks on their own (the emulator-level tests are in test/economy): the sliding
 * window limiter, the breaker's states and message, rule precedence, and the Issuer's `rateLimit` key.
 */
import { describe, expect, it } from 'vitest';
import { CredentialBreaker, CredentialsRejectedError } from '../src/economy/breaker.js';
import { credentialId } from '../src/economy/credential.js';
import { effectiveRules } from '../src/economy/economy.js';
import { CredentialLimiter, parseRate, RateLimitedError } from '../src/economy/rate-limit.js';
import { splitRateLimit } from '../src/challenge/execute.js';
import { SolverError } from '../src/solver/errors.js';

const rejected = (msg = 'AuthFailure.SignatureFailure: bad key') => new SolverError(msg, { code: 'AuthFailure.SignatureFailure', credentialsRejected: true });

describe('CredentialLimiter', () => {
  it('grants N per window, counting each window from the answer', async () => {
    const limiter = new CredentialLimiter([{ requests: 3, perSeconds: 0.3 }]);
    const started = Date.now();
    const grants: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, async () => {
        const release = await limiter.acquire({ call: 'x', deadline: Date.now() + 5_000, onGiveUp: () => new Error('no') });
        grants.push(Date.now() - started);
        release();
      }),
    );
    grants.sort((a, b) => a - b);
    expect(grants.slice(0, 3).every((t) => t < 100)).toBe(true);
    expect(grants.slice(3, 6).every((t) => t >= 290)).toBe(true);
    expect(grants[6]).toBeGreaterThanOrEqual(590);
  });

  it('fails at once, with the stable error, when the earliest slot is past the deadline; per-action rules only cover their calls', async () => {
    const limiter = new CredentialLimiter([{ requests: 1, perSeconds: 60, calls: ['slow'] }]);
    const release = await limiter.acquire({ call: 'slow', deadline: Date.now() + 5_000, onGiveUp: () => new Error('no') });
    release();
    const started = Date.now();
    const rule = { requests: 1, perSeconds: 60, calls: ['slow'] };
    await expect(limiter.acquire({ call: 'slow', deadline: Date.now() + 5_000, onGiveUp: (r) => new RateLimitedError(r, 'config.rateLimit') })).rejects.toThrow(
      new RateLimitedError(rule, 'config.rateLimit').message,
    );
    expect(Date.now() - started).toBeLessThan(100);
    // Another action is not limited by that rule.
    (await limiter.acquire({ call: 'other', deadline: Date.now() + 1_000, onGiveUp: () => new Error('no') }))();
  });

  it('a waiter whose deadline comes first gives up (the slot goes to the next one)', async () => {
    const limiter = new CredentialLimiter([{ requests: 1, perSeconds: 0.6 }]);
    (await limiter.acquire({ call: 'x', deadline: Date.now() + 5_000, onGiveUp: () => new Error('no') }))();
    // The slot frees in 600 ms; a deadline in 700 ms leaves less than the 500 ms reserve.
    await expect(limiter.acquire({ call: 'x', deadline: Date.now() + 700, onGiveUp: () => new Error('gave up') })).rejects.toThrow('gave up');
  });

  it('parses rates', () => {
    expect(parseRate('5/1s')).toEqual({ requests: 5, perSeconds: 1 });
    expect(parseRate('1200/5m')).toEqual({ requests: 1200, perSeconds: 300 });
    expect(() => parseRate('fast')).toThrow(/must look like 5\/1s/);
  });
});

describe('CredentialBreaker', () => {
  it('opens on a rejection with one message for the whole cool-down, lets one try through after it, and doubles', async () => {
    let now = Date.parse('2026-01-01T12:00:00.250Z');
    const breaker = new CredentialBreaker({ initialMs: 30_000, maxMs: 600_000, now: () => now });
    const first = await breaker.enter();
    const opened = first.settle(rejected()) as CredentialsRejectedError;
    expect(opened.message).toBe(
      'the provider rejected these credentials: AuthFailure.SignatureFailure: bad key. To protect the account, the webhook makes no call with them for a cool-down (30 s, doubling up to 10 min while they keep being rejected); a changed Secret is tried at once',
    );
    // The times are for the log line only.
    expect(opened.details).toEqual({ breakerOpenedAt: '2026-01-01T12:00:00Z', nextTryAt: '2026-01-01T12:00:30Z', cooldownSeconds: 30 });
    now += 10_000;
    await expect(breaker.enter()).rejects.toThrow(opened.message);
    expect(() => breaker.check()).toThrow(opened.message);
    now += 21_000;
    const probe = await breaker.enter();
    // While the one real try is out, everyone else still gets the same message.
    await expect(breaker.enter()).rejects.toThrow(opened.message);
    const again = probe.settle(rejected()) as CredentialsRejectedError;
    // Rejected again the same way: the cool-down doubles, and cert-manager still sees the same bytes.
    expect(again.message).toBe(opened.message);
    expect(again.details).toMatchObject({ cooldownSeconds: 60 });
    now += 61_000;
    (await breaker.enter()).settle(undefined);
    expect(breaker.isOpen).toBe(false);
    (await breaker.enter()).settle(undefined);
  });

  it('a later real try rejected with the same code keeps the first message (another zone in the text); another code is a new one', async () => {
    let now = 0;
    const breaker = new CredentialBreaker({ initialMs: 1_000, now: () => now });
    const first = (await breaker.enter()).settle(rejected('DescribeDomain on a.test failed: AuthFailure.SignatureFailure')) as Error;
    now += 1_000;
    const same = (await breaker.enter()).settle(rejected('DescribeDomain on b.test failed: AuthFailure.SignatureFailure')) as Error;
    expect(same.message).toBe(first.message);
    expect(same.message).toContain('on a.test');
    now += 2_000;
    const other = (await breaker.enter()).settle(
      new SolverError('DescribeDomain on b.test failed: AuthFailure.SecretIdNotFound', { code: 'AuthFailure.SecretIdNotFound', credentialsRejected: true }),
    ) as Error;
    expect(other.message).toContain('SecretIdNotFound');
  });

  it('a credential never answered is tried by one call; the others wait for its answer', async () => {
    const breaker = new CredentialBreaker({ initialMs: 1_000 });
    const probe = await breaker.enter();
    let waited = false;
    const waiter = breaker.enter().then(
      () => (waited = true),
      (err) => err,
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(waited).toBe(false);
    probe.settle(rejected());
    expect(await waiter).toBeInstanceOf(CredentialsRejectedError);
  });

  it('errors that do not reject the credential close it; concurrent rejections open one cool-down', async () => {
    const breaker = new CredentialBreaker({ initialMs: 1_000 });
    (await breaker.enter()).settle(new SolverError('zone not found'));
    expect(breaker.isOpen).toBe(false);
    const [a, b] = [await breaker.enter(), await breaker.enter()];
    const ea = a.settle(rejected()) as Error;
    const eb = b.settle(rejected('other words')) as Error;
    expect(eb.message).toBe(ea.message);
    expect(ea.message).toContain('for a cool-down (1 s, doubling up to 10 min');
  });
});

describe('rules and identities', () => {
  const defaults = [
    { requests: 1200, perSeconds: 300 },
    { requests: 20, perSeconds: 1, calls: ['DescribeDomain'] },
  ];
  it('config.rateLimit wins over --rate-limit, which wins over the documented quota; per-action rules stay; share scales all', () => {
    expect(effectiveRules(defaults, undefined, undefined, 1)).toEqual({ rules: defaults, origin: 'the documented quota' });
    expect(effectiveRules(defaults, { requests: 600, perSeconds: 300 }, undefined, 1).rules).toEqual([{ requests: 600, perSeconds: 300 }, defaults[1]]);
    expect(effectiveRules(defaults, { requests: 600, perSeconds: 300 }, { requests: 100, perSeconds: 60 }, 0.5)).toEqual({
      rules: [{ requests: 50, perSeconds: 60 }, { requests: 10, perSeconds: 1, calls: ['DescribeDomain'] }],
      origin: "config.rateLimit, this replica's share 0.5",
    });
    expect(effectiveRules(defaults, 'off', undefined, 1).rules).toEqual([]);
  });

  it('config rateLimit is taken out of the solver config and validated', () => {
    expect(splitRateLimit({ a: 1 })).toEqual({ config: { a: 1 }, rateLimit: undefined });
    expect(splitRateLimit({ a: 1, rateLimit: { requests: 5, perSeconds: 1 } })).toEqual({ config: { a: 1 }, rateLimit: { requests: 5, perSeconds: 1 } });
    expect(splitRateLimit({ rateLimit: 'off' })).toEqual({ config: {}, rateLimit: 'off' });
    expect(() => splitRateLimit({ rateLimit: { requests: 0, perSeconds: 1 } })).toThrow(/config\.rateLimit: expected \{"requests"/);
    expect(() => splitRateLimit({ rateLimit: { requests: 5, per: 1 } })).toThrow(/config\.rateLimit/);
  });

  it('credential ids are hashes: stable, different per material and solver, never containing the secret', () => {
    const id = credentialId('dnspod', ['AKID1', 'secret-key-value']);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(credentialId('dnspod', ['AKID1', 'secret-key-value'])).toBe(id);
    expect(credentialId('dnspod', ['AKID1', 'secret-key-valuf'])).not.toBe(id);
    expect(credentialId('cloudflare', ['AKID1', 'secret-key-value'])).not.toBe(id);
    expect(credentialId('dnspod', ['AKID1s', 'ecret-key-value'])).not.toBe(id);
  });
});
