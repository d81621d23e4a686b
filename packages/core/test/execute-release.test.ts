/**
 * Memory bounded by design: nothing of a challenge outlives its answer — no abort listener on its signal or on
 * the caller's (longer-lived) signal, no pending deadline timer, and the signal itself is garbage once the
 * answer is out. With AbortSignal.timeout/any plus a listener that was never removed, each challenge stayed
 * reachable for the whole 45 s deadline (nodejs/node#55328): ≈3 KB each, 1.5 GiB RSS under load.
 */
import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createLogger, defineSolver, executeChallenge, mapSecrets, z } from '@dns01-webhook/core';
import { challengeRequest } from './fixtures/challenge.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const request = challengeRequest();
const options = { secretsFor: mapSecrets({}), log: createLogger({ level: 'silent' }) };

/** A solver that hands the challenge's signal to `seen`, then succeeds or fails. */
function observing(seen: (signal: AbortSignal) => void, fail = false) {
  return defineSolver({
    name: 'observing',
    config: z.object({}).passthrough(),
    async present(_r, ctx) {
      seen(ctx.signal);
      if (fail) throw new Error('provider said no');
    },
    async cleanUp() {},
  });
}

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('executeChallenge releases everything when it answers', () => {
  for (const fail of [false, true]) {
    it(`leaves no abort listener on its own or the caller's signal (${fail ? 'failure' : 'success'})`, async () => {
      const caller = new AbortController();
      let signal: AbortSignal | undefined;
      const outcome = await executeChallenge(observing((s) => (signal = s), fail), request, { ...options, signal: caller.signal });
      expect(outcome.success).toBe(!fail);
      expect(signal).toBeDefined();
      expect(getEventListeners(signal!, 'abort')).toHaveLength(0);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
      expect(signal!.aborted).toBe(false);
    });
  }

  it('leaves no deadline timer running', async () => {
    const before = activeTimers();
    let during = 0;
    await executeChallenge(observing(() => (during = activeTimers())), request, { ...options, timeoutMs: 60_000 });
    expect(during).toBeGreaterThan(before); // the deadline timer exists while the solver runs...
    expect(activeTimers()).toBe(before); // ...and is gone with the answer
  });

  it("lets the challenge's signal be collected right after the answer, long before its deadline", async () => {
    const caller = new AbortController(); // lives on, like the server's shutdown signal
    const refs: Array<WeakRef<AbortSignal>> = [];
    for (let i = 0; i < 20; i++) {
      await executeChallenge(observing((s) => refs.push(new WeakRef(s))), request, { ...options, signal: caller.signal, timeoutMs: 60_000 });
    }
    for (let i = 0; i < 10 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });

  it("still aborts the solver when the caller's signal aborts, with the caller's reason, and answers", async () => {
    const caller = new AbortController();
    let reason: unknown;
    const waiting = defineSolver({
      name: 'waiting',
      config: z.object({}).passthrough(),
      present: (_r, ctx) =>
        new Promise<void>(() => {
          // Ignores the abort (never settles): the executor must still answer.
          ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
          caller.abort(new Error('client went away'));
        }),
      async cleanUp() {},
    });
    const outcome = await executeChallenge(waiting, request, { ...options, signal: caller.signal });
    expect(outcome.success).toBe(false);
    expect((reason as Error).message).toBe('client went away');
    if (!outcome.success) expect(outcome.message).toContain('challenge aborted');
  });

  it('aborts at the deadline with a TimeoutError, as AbortSignal.timeout did', async () => {
    let reason: unknown;
    const slow = defineSolver({
      name: 'slow',
      config: z.object({}).passthrough(),
      present: (_r, ctx) =>
        new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            setTimeout(resolve, 20); // too late: the deadline already answered
          });
        }),
      async cleanUp() {},
    });
    const outcome = await executeChallenge(slow, request, { ...options, timeoutMs: 50 });
    expect(outcome.success).toBe(false);
    expect((reason as Error).name).toBe('TimeoutError');
    if (!outcome.success) expect(outcome.message).toContain('did not finish within 50 ms');
  });

  describe("with the caller's own controller (the server's path: one AbortController per challenge)", () => {
    it('hands the solver that controller\'s signal and leaves no listener or timer behind', async () => {
      const caller = new AbortController();
      const before = activeTimers();
      let signal: AbortSignal | undefined;
      const outcome = await executeChallenge(observing((s) => (signal = s)), request, { ...options, controller: caller });
      expect(outcome.success).toBe(true);
      expect(signal).toBe(caller.signal);
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
      expect(activeTimers()).toBe(before);
      expect(caller.signal.aborted).toBe(false);
    });

    it("aborts the controller at the deadline with a TimeoutError and words it as the deadline", async () => {
      const caller = new AbortController();
      const slow = defineSolver({ name: 'slow', config: z.object({}).passthrough(), present: () => new Promise<void>(() => {}), async cleanUp() {} });
      const outcome = await executeChallenge(slow, request, { ...options, controller: caller, timeoutMs: 50 });
      expect(caller.signal.aborted).toBe(true);
      expect((caller.signal.reason as Error).name).toBe('TimeoutError');
      expect(outcome.success).toBe(false);
      if (!outcome.success) expect(outcome.message).toContain('did not finish within 50 ms');
    });

    it('an abort by the caller is worded as an abort, not as the deadline', async () => {
      const caller = new AbortController();
      const waiting = defineSolver({
        name: 'waiting',
        config: z.object({}).passthrough(),
        present: () => new Promise<void>(() => caller.abort(new Error('client went away'))),
        async cleanUp() {},
      });
      const outcome = await executeChallenge(waiting, request, { ...options, controller: caller, timeoutMs: 5_000 });
      expect(outcome.success).toBe(false);
      if (!outcome.success) expect(outcome.message).toContain('challenge aborted');
    });
  });
});
