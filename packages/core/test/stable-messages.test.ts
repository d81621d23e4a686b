/**
 * The message returned to cert-manager is byte-identical across retries of the same failure (issue 8 §0):
 * cert-manager re-queues a Challenge at once whenever its status message changes. The core enforces it:
 * volatile facts go to the log line (`SolverError.details`, the raw message), deadline/retry endings are
 * phrased one way whichever path ended the challenge, and known volatile patterns are replaced.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  defineRecordSolver,
  defineSolver,
  executeChallenge,
  mapSecrets,
  SolverError,
  stabilizeMessage,
  withRetry,
  z,
  type ChallengeRequest,
  type Solver,
} from '@dns01-webhook/core';
import { captureLog as capture, challengeRequest } from './fixtures/challenge.js';

function req(): ChallengeRequest {
  return challengeRequest({ uid: randomUUID(), resourceNamespace: 'ns' });
}

async function messageOf(solver: Solver<any>, timeoutMs: number, log = capture().log): Promise<string> {
  const outcome = await executeChallenge(solver, req(), { secretsFor: mapSecrets({}), log, timeoutMs });
  if (outcome.success) throw new Error('expected a failure');
  return outcome.message;
}

const throttled = () => new SolverError('provider: HTTP 429 rate limited (quota 5/s for this account)', { code: 'HTTP429', retryable: true, retryAfterMs: 0 });

describe('stabilizeMessage', () => {
  it.each([
    ['failed: AuthFailure [RequestId 2e76c2e4-8fcb-443d-85f8-6ec845308f17] — check the key', 'failed: AuthFailure — check the key'],
    ['AccessDenied (request id: 7f3a9c01b2) for route53:ChangeResourceRecordSets', 'AccessDenied for route53:ChangeResourceRecordSets'],
    ['x-amz-request-id: AbC123dEf456 denied', 'x-amz-request-id: <id> denied'],
    ['error 1000 Ray ID 8a1b2c3d4e5f6789-SJC', 'error 1000 Ray ID <id>'],
    ['user arn:aws:sts::123456789012:assumed-role/dns/dns01-webhook-1764460000000 not authorized', 'user arn:aws:sts::123456789012:assumed-role/dns/dns01-webhook-<time> not authorized'],
    ['rejected at 2026-11-30T00:12:01.123Z, next try at 2026-11-30T00:12:31Z', 'rejected at <time>, next try at <time>'],
    ['Date: Mon, 30 Nov 2026 00:12:01 GMT', 'Date: <time>'],
    ['gave up after 3 attempt(s); attempt 4 of 6 cancelled', 'gave up after <n> attempt(s); attempt <n> cancelled'],
    ['no answer after 1234 ms; took 2.5s; retry in 3 s', 'no answer after <duration>; took <duration>; retry in <duration>'],
    ['ref 6f1c6e0a-1d0e-4a43-9b2e-6a7d1c2f9e11', 'ref <id>'],
  ])('%s', (input, expected) => {
    expect(stabilizeMessage(input)).toBe(expected);
    expect(stabilizeMessage(expected)).toBe(expected);
  });

  it('leaves what is stable alone: TTLs, the configured deadline, zone ids, addresses, codes', () => {
    for (const text of [
      'cloudflare did not finish within 45 s; set config.ttl to 1 (automatic) or a value from 60 to 86400',
      'DNSPod refused TTL 60 for _acme-challenge.example.test.: the plan allows at least 600; set config.ttl ≥ 600',
      'route53: several public hosted zones are named example.test. (Z0123456789ABCDEFGHIJ, Z2); set hostedZoneID',
      'cannot reach DNSPod at http://127.0.0.1:43499 for DescribeDomain: connect ECONNREFUSED 127.0.0.1:43499',
      'cloudflare: deleting TXT record 372e67954025e0ba6aaa6d586b9e0b59 at x in zone example.test: HTTP 403, error 10000',
      'account 123456789012 has no hosted zone example.test',
    ]) {
      expect(stabilizeMessage(text)).toBe(text);
    }
  });
});

describe('the same failure reads the same, whichever way it ended', () => {
  it('persistent throttling: retries exhausted, the next retry past the deadline, the deadline mid-call → one message', async () => {
    // Ends when the attempts run out, long before the deadline.
    const exhausted = defineSolver({
      name: 'p',
      config: z.object({}),
      present: (_r, ctx) => withRetry(() => ctx.track('ListRecords', async () => Promise.reject(throttled())), { attempts: 3, baseMs: 1, signal: ctx.signal, deadline: ctx.deadline }),
      async cleanUp() {},
    });
    // Ends because the provider's Retry-After would pass the deadline.
    const pastDeadline = defineSolver({
      name: 'p',
      config: z.object({}),
      present: (_r, ctx) =>
        withRetry(
          () => ctx.track('ListRecords', async () => Promise.reject(Object.assign(throttled(), { retryAfterMs: 60_000 }))),
          { signal: ctx.signal, deadline: ctx.deadline },
        ),
      async cleanUp() {},
    });
    // Ends because the deadline hits while the next attempt hangs.
    let calls = 0;
    const midCall = defineSolver({
      name: 'p',
      config: z.object({}),
      present: (_r, ctx) =>
        withRetry(
          () => ctx.track('ListRecords', () => (++calls === 1 ? Promise.reject(throttled()) : new Promise<never>(() => {}))),
          { baseMs: 1, signal: ctx.signal, deadline: ctx.deadline, random: () => 0 },
        ),
      async cleanUp() {},
    });
    // The record-solver derivation's own retries, cut by the deadline.
    const derived = defineRecordSolver({
      name: 'p',
      config: z.object({}),
      connect: async (_r, ctx) => ({
        list: () => ctx.track('ListRecords', async () => Promise.reject(throttled())),
        add: async () => {},
        remove: async () => {},
      }),
    });
    const messages = [await messageOf(exhausted, 5000), await messageOf(pastDeadline, 5000), await messageOf(midCall, 700), await messageOf(derived, 900), await messageOf(derived, 1300)];
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe('p: Present _acme-challenge.example.test. failed: provider: HTTP 429 rate limited (quota 5/s for this account) (code HTTP429)');
  });

  it('a provider that never answers: "did not finish within <the configured deadline>", however the solver reacts to the abort', async () => {
    const honours = defineSolver({
      name: 'h',
      config: z.object({}),
      present: (_r, ctx) => ctx.track('ListRecords', () => new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))),
      async cleanUp() {},
    });
    const ignores = defineSolver({ name: 'h', config: z.object({}), present: () => new Promise<never>(() => {}), async cleanUp() {} });
    const mapsAbort = defineSolver({
      name: 'h',
      config: z.object({}),
      present: (_r, ctx) =>
        new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new SolverError(`aborted after ${Math.random()} ms`, { code: 'Aborted' }))),
        ),
      async cleanUp() {},
    });
    const messages = [await messageOf(honours, 300), await messageOf(ignores, 300), await messageOf(mapsAbort, 300)];
    expect(messages).toEqual(Array(3).fill('h: Present _acme-challenge.example.test. failed: h did not finish within 300 ms; the provider did not answer in time (slow or unreachable)'));
  });

  it('details, request ids and the raw message go to the log line; cert-manager gets the stable message', async () => {
    let n = 0;
    const solver = defineSolver({
      name: 'ids',
      config: z.object({}),
      async present() {
        n++;
        throw new SolverError(`AuthFailure: key rejected [RequestId ${randomUUID()}] at ${new Date(Date.now() + n * 1000).toISOString()}`, {
          code: 'AuthFailure',
          details: { requestId: `req-${n}`, attempts: n },
        });
      },
      async cleanUp() {},
    });
    const { lines, log } = capture();
    const first = await messageOf(solver, 1000, log);
    const second = await messageOf(solver, 1000, log);
    expect(first).toBe(second);
    expect(first).toBe('ids: Present _acme-challenge.example.test. failed: AuthFailure: key rejected at <time>');
    const failed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'challenge failed');
    expect(failed).toEqual([
      expect.objectContaining({ error: first, details: { requestId: 'req-1', attempts: 1 }, detail: expect.stringMatching(/\[RequestId [0-9a-f-]{36}\]/) }),
      expect.objectContaining({ error: second, details: { requestId: 'req-2', attempts: 2 } }),
    ]);
  });
});
