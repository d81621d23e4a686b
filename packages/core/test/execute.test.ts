import { describe, expect, it } from 'vitest';
import {
  defineSolver,
  executeChallenge,
  mapSecrets,
  Metrics,
  secretSelector,
  SolverError,
  withRetry,
  z,
  type ChallengeRequest,
} from '@dns01-webhook/core';
import { captureLog as capture, challengeRequest } from './fixtures/challenge.js';

const SECRET = 's3cr3t-VALUE-123';

function req(config: unknown, namespace = 'team-a'): ChallengeRequest {
  return challengeRequest({ uid: 'abc', resourceNamespace: namespace, config });
}

const leaky = defineSolver({
  name: 'leaky',
  config: z.strictObject({ tokenRef: secretSelector }),
  async present(_r, ctx) {
    const token = await ctx.secrets.get(ctx.config.tokenRef);
    throw new SolverError(`provider rejected token ${token}`, { code: 'AuthFailure' });
  },
  async cleanUp() {},
});

describe('executeChallenge', () => {
  const secrets = mapSecrets({ 'team-a': { creds: { token: SECRET } }, 'team-b': { creds: { token: 'other-namespace' } } });

  it('redacts every secret value the solver read, from the message and the logs', async () => {
    const { lines, log } = capture();
    const outcome = await executeChallenge(leaky, req({ tokenRef: { name: 'creds', key: 'token' } }), { secretsFor: secrets, log });
    expect(outcome.success).toBe(false);
    if (!outcome.success) {
      expect(outcome.message).toContain('provider rejected token [redacted]');
      expect(outcome.message).toContain('AuthFailure');
      expect(outcome.message).not.toContain(SECRET);
    }
    expect(lines.join('')).toContain('challenge failed');
    expect(lines.join('')).not.toContain(SECRET);
  });

  it('reads secrets only from resourceNamespace; a namespace field in the selector is rejected', async () => {
    const { log } = capture();
    const own = await executeChallenge(leaky, req({ tokenRef: { name: 'creds', key: 'token' } }, 'team-b'), { secretsFor: secrets, log });
    expect(own.success === false && own.message).toContain('[redacted]');
    const cross = await executeChallenge(
      leaky,
      req({ tokenRef: { name: 'creds', key: 'token', namespace: 'team-a' } }, 'team-b'),
      { secretsFor: secrets, log },
    );
    expect(cross.success).toBe(false);
    expect(cross.success === false && cross.message).toMatch(/config\.tokenRef.*namespace/);
  });

  it('fails a solver that ignores the deadline, in time, naming the last provider error it saw', async () => {
    const stuck = defineSolver({
      name: 'stuck',
      config: z.object({}),
      async present(_r, ctx) {
        await ctx.track('ListRecords', async () => Promise.reject(new SolverError('busy', { code: 'HTTP503' }))).catch(() => {});
        await new Promise<void>(() => {});
      },
      async cleanUp() {},
    });
    const started = Date.now();
    const outcome = await executeChallenge(stuck, req({}), { secretsFor: secrets, log: capture().log, timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome).toEqual({
      success: false,
      message: 'stuck: Present _acme-challenge.example.test. failed: stuck did not finish within 300 ms; last provider error: busy (code HTTP503)',
    });
  });

  it('binds ServiceAccount tokens to resourceNamespace, and gives none when the host has no cluster access', async () => {
    const asked: string[] = [];
    const tokenUser = defineSolver({
      name: 'token-user',
      config: z.object({}),
      async present(_r, ctx) {
        if (!ctx.serviceAccountTokens) throw new SolverError('no token source');
        await ctx.serviceAccountTokens.createToken('sa-1', { audiences: ['sts.amazonaws.com'] });
      },
      async cleanUp() {},
    });
    const withTokens = await executeChallenge(tokenUser, req({}, 'team-b'), {
      secretsFor: secrets,
      log: capture().log,
      serviceAccountTokensFor: (ns) => ({
        async createToken(sa) {
          asked.push(`${ns}/${sa}`);
          return { token: 't' };
        },
      }),
    });
    expect(withTokens).toEqual({ success: true });
    expect(asked).toEqual(['team-b/sa-1']);
    const without = await executeChallenge(tokenUser, req({}), { secretsFor: secrets, log: capture().log });
    expect(without).toEqual({ success: false, message: expect.stringContaining('no token source') });
  });

  it('counts challenges and provider calls in metrics', async () => {
    const metrics = new Metrics();
    const tracked = defineSolver({
      name: 'tracked',
      config: z.object({}),
      async present(_r, ctx) {
        await ctx.track('CreateRecord', async () => 1);
        await ctx.track('CreateRecord', async () => {
          throw new SolverError('nope', { code: 'Nope' });
        }).catch(() => {});
      },
      async cleanUp() {},
    });
    await executeChallenge(tracked, req({}), { secretsFor: secrets, log: capture().log, metrics });
    const text = await metrics.registry.metrics();
    expect(text).toContain('dns01_webhook_challenges_total{solver="tracked",action="Present",outcome="success"} 1');
    expect(text).toContain('dns01_webhook_provider_calls_total{solver="tracked",call="CreateRecord",outcome="success"} 1');
    expect(text).toContain('dns01_webhook_provider_errors_total{solver="tracked",call="CreateRecord",code="Nope"} 1');
  });
});

describe('withRetry', () => {
  it('gives up before a wait that would pass the deadline', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw new SolverError('slow down', { retryable: true, retryAfterMs: 1000, code: 'Throttling' });
      },
      { deadline: Date.now() + 200 },
    ).catch((e: unknown) => e as Error);
    expect(calls).toBe(1);
    expect((err as Error).message).toMatch(/next retry would pass the deadline; last error: slow down/);
    expect((err as { code?: string }).code).toBe('Throttling');
  });

  it('backs off with jitter and stops after the attempt limit', async () => {
    let calls = 0;
    const waits: number[] = [];
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new SolverError('5xx', { retryable: true });
        },
        { attempts: 4, baseMs: 10, random: () => 0.5, onRetry: (_e, _a, w) => waits.push(w) },
      ),
    ).rejects.toThrow('5xx');
    expect(calls).toBe(4);
    expect(waits).toEqual([5, 10, 20]);
  });

  it('a timeout that cuts short a retry still names the failure before it, with its code', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        if (calls === 1) throw new SolverError('HTTP 502 from the API', { retryable: true, code: 'HTTP502' });
        throw new SolverError('the API did not answer within the request timeout', { retryable: true, code: 'Timeout' });
      },
      { baseMs: 1, random: () => 0 },
    ).catch((e: unknown) => e as Error);
    expect(calls).toBe(6);
    expect(err.message).toBe('the API did not answer within the request timeout; an earlier attempt failed with: HTTP 502 from the API');
    expect((err as { code?: string }).code).toBe('HTTP502');
  });

  it('an abort during the backoff wait names the failure that caused the wait', async () => {
    const controller = new AbortController();
    const err = await withRetry(
      async () => {
        setTimeout(() => controller.abort(), 20);
        throw new SolverError('Throttling: rate exceeded', { retryable: true, retryAfterMs: 5000, code: 'Throttling' });
      },
      { signal: controller.signal },
    ).catch((e: unknown) => e as Error);
    expect(err.message).toMatch(/aborted.*; an earlier attempt failed with: Throttling: rate exceeded$/i);
    expect((err as { code?: string }).code).toBe('Throttling');
  });

  it('a first attempt cut short by the deadline is reported as it is', async () => {
    const err = await withRetry(async () => {
      throw new SolverError('did not answer before the challenge deadline', { code: 'DeadlineExceeded' });
    }).catch((e: unknown) => e as Error);
    expect(err.message).toBe('did not answer before the challenge deadline');
  });
});
