/**
 * Per-credential request limits at the provider's documented quotas ("N requests per W seconds", overall or
 * per API action), shared by every challenge in the process.
 *
 * Sliding window, counted from the *answer*: a slot is held from the moment a call is sent until W after
 * its answer arrived. The provider receives a call somewhere between our send and our answer, so "N calls
 * in any W" holds at the provider too, whatever the latency — no safety margin needed, and it is stricter
 * than a token bucket of burst N and refill N/W (Route 53's model), so it is safe against both.
 *
 * Waiting for a slot counts against the challenge deadline: a waiter whose earliest possible slot (a lower
 * bound from the window and the queue ahead of it) leaves no time for the call fails at once, with a
 * message that does not change from one retry to the next (no counts, no seconds: see RateLimitedError).
 */
import { SolverError } from '../solver/errors.js';

import type { RateLimitRule } from '../solver/contract.js';

export type { RateLimitRule };

/** Time a granted call still needs before the deadline; a slot later than that is useless. */
export const RATE_LIMIT_RESERVE_MS = 500;

export class RateLimitedError extends SolverError {
  constructor(rule: RateLimitRule, origin: string) {
    // Stable across retries on purpose: a changing Challenge reason re-queues the Challenge at once.
    super(
      `the provider's rate limit for these credentials (${describeRule(rule)}, ${origin}) is used up by other challenges, ` +
        `and no request slot frees up before this challenge's deadline; cert-manager retries later. ` +
        `If this persists, fewer certificates should renew at once, or raise rateLimit if your quota is higher`,
      { code: 'RateLimited', retryable: false },
    );
    this.name = 'RateLimitedError';
  }
}

export function describeRule(rule: RateLimitRule): string {
  const per = rule.perSeconds === 1 ? 's' : `${rule.perSeconds} s`;
  const what = rule.calls ? ` for ${rule.calls.join('/')}` : '';
  return `${rule.requests} requests/${per}${what}`;
}

/** `5/1s`, `1200/300s`, `1200/5m` → {requests, perSeconds}. */
export function parseRate(text: string): { requests: number; perSeconds: number } {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)?\s*(s|m)?\s*$/.exec(text);
  if (!m) throw new Error(`rate ${JSON.stringify(text)} must look like 5/1s or 1200/5m`);
  const requests = Number(m[1]);
  const seconds = Number(m[2] ?? 1) * (m[3] === 'm' ? 60 : 1);
  if (!(requests >= 1) || !(seconds > 0)) throw new Error(`rate ${JSON.stringify(text)} needs at least 1 request per a positive time`);
  return { requests: Math.floor(requests), perSeconds: seconds };
}

interface RuleState {
  rule: RateLimitRule;
  /** Answer times of recent calls, ascending (older than the window are pruned). */
  ends: number[];
  inFlight: number;
}

interface Waiter {
  call: string;
  deadline: number;
  grant: (release: () => void) => void;
  fail: (err: Error) => void;
}

export interface AcquireOptions {
  call: string;
  deadline: number;
  signal?: AbortSignal;
  /** Builds the error for a wait that cannot succeed (stable message). */
  onGiveUp: (rule: RateLimitRule) => Error;
}

/** The limiter for one (solver, credential): every rule that covers a call must have a free slot. */
export class CredentialLimiter {
  #rules: RuleState[] = [];
  readonly #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    rules: readonly RateLimitRule[],
    private readonly now: () => number = Date.now,
  ) {
    this.configure(rules);
  }

  /** Replace the rules (a config or flag changed); in-flight and recent calls keep counting. */
  configure(rules: readonly RateLimitRule[]): void {
    const same = rules.length === this.#rules.length && rules.every((r, i) => sameRule(r, this.#rules[i]!.rule));
    if (same) return;
    const previous = this.#rules;
    this.#rules = rules.map((rule) => {
      const old = previous.find((s) => sameCalls(s.rule, rule));
      return { rule, ends: old ? old.ends : [], inFlight: old ? old.inFlight : 0 };
    });
    this.#pump();
  }

  get idle(): boolean {
    const now = this.now();
    return this.#queue.length === 0 && this.#rules.every((s) => s.inFlight === 0 && s.ends.every((e) => e <= now - s.rule.perSeconds * 1000));
  }

  /** Resolves with `release` (call it when the answer arrived) once every covering rule has a slot. */
  acquire(options: AcquireOptions): Promise<() => void> {
    const covering = this.#covering(options.call);
    if (covering.length === 0) return Promise.resolve(() => {});
    // Fail fast when even the earliest possible slot leaves no time for the call.
    for (const state of covering) {
      const ahead = this.#queue.filter((w) => covers(state.rule, w.call)).length;
      if (this.#earliest(state, ahead) + RATE_LIMIT_RESERVE_MS > options.deadline) return Promise.reject(options.onGiveUp(state.rule));
    }
    return new Promise((resolve, reject) => {
      let deadlineTimer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (deadlineTimer) clearTimeout(deadlineTimer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = () => {
        const i = this.#queue.indexOf(waiter);
        if (i < 0) return;
        this.#queue.splice(i, 1);
        cleanup();
        const blocking = covering.find((s) => !this.#free(s)) ?? covering[0]!;
        reject(options.onGiveUp(blocking.rule));
        this.#pump();
      };
      const onAbort = () => giveUp();
      const waiter: Waiter = {
        call: options.call,
        deadline: options.deadline,
        grant: (release) => {
          cleanup();
          resolve(release);
        },
        fail: reject,
      };
      this.#queue.push(waiter);
      deadlineTimer = setTimeout(giveUp, Math.max(0, options.deadline - RATE_LIMIT_RESERVE_MS - this.now()));
      deadlineTimer.unref?.();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#pump();
    });
  }

  #covering(call: string): RuleState[] {
    return this.#rules.filter((s) => covers(s.rule, call));
  }

  #prune(state: RuleState, now: number): void {
    const cutoff = now - state.rule.perSeconds * 1000;
    let i = 0;
    while (i < state.ends.length && state.ends[i]! <= cutoff) i++;
    if (i > 0) state.ends.splice(0, i);
  }

  #free(state: RuleState): boolean {
    this.#prune(state, this.now());
    return state.inFlight + state.ends.length < state.rule.requests;
  }

  /**
   * Lower bound of when the (ahead+1)-th next slot of a rule frees: slots free in the order their holders
   * answered (+W); a call still in flight answers at the earliest now; each later grant reuses the slot of
   * the grant N before it, one window later.
   */
  #earliest(state: RuleState, ahead: number): number {
    const now = this.now();
    this.#prune(state, now);
    const windowMs = state.rule.perSeconds * 1000;
    const freeNow = state.rule.requests - state.inFlight - state.ends.length;
    if (ahead < freeNow) return now;
    const frees = [...state.ends.map((e) => e + windowMs), ...Array.from({ length: state.inFlight }, () => now + windowMs)];
    const k = ahead - Math.max(0, freeNow);
    if (k < frees.length) return frees[k]!;
    const cycles = Math.floor((k - frees.length) / state.rule.requests) + 1;
    const base = frees[(k - frees.length) % state.rule.requests] ?? now + windowMs;
    return base + cycles * windowMs;
  }

  #pump(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const now = this.now();
    let next = Infinity;
    // Grant every waiter whose rules all have a slot, in queue order (a waiter blocked only by its own
    // action's rule does not hold up calls of other actions).
    for (let i = 0; i < this.#queue.length; ) {
      const waiter = this.#queue[i]!;
      const covering = this.#covering(waiter.call);
      const blocked = covering.filter((s) => !this.#free(s));
      if (blocked.length === 0) {
        this.#queue.splice(i, 1);
        for (const s of covering) s.inFlight += 1;
        let released = false;
        waiter.grant(() => {
          if (released) return;
          released = true;
          const at = this.now();
          for (const s of covering) {
            s.inFlight -= 1;
            s.ends.push(at);
          }
          this.#pump();
        });
        continue;
      }
      for (const s of blocked) if (s.ends.length > 0) next = Math.min(next, s.ends[0]! + s.rule.perSeconds * 1000);
      i++;
    }
    if (next !== Infinity && this.#queue.length > 0) {
      this.#timer = setTimeout(() => this.#pump(), Math.max(1, next - now));
      this.#timer.unref?.();
    }
  }
}

function covers(rule: RateLimitRule, call: string): boolean {
  return rule.calls === undefined || rule.calls.includes(call);
}

function sameCalls(a: RateLimitRule, b: RateLimitRule): boolean {
  return (a.calls ?? []).join(',') === (b.calls ?? []).join(',') && (a.calls === undefined) === (b.calls === undefined);
}

function sameRule(a: RateLimitRule, b: RateLimitRule): boolean {
  return sameCalls(a, b) && a.requests === b.requests && a.perSeconds === b.perSeconds;
}
