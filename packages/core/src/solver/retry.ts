/**
 * Retry with exponential backoff and full jitter, bounded by an AbortSignal/deadline.
 * Only errors marked `retryable` (throttling, 5xx, compare-and-swap conflicts) are retried; a wait that
 * would leave the next attempt no time before the deadline is not started, so the caller still has time
 * to answer cert-manager and the message names the provider's error rather than a timeout.
 * When the deadline cuts short an attempt that follows failed ones, the error also carries what the
 * last real failure said: "HTTP 502" tells the operator more than "timed out". Messages carry no attempt
 * counts or timings (they go to `details`), so the same failure reads the same on every retry.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from './contract.js';
import { DeadlineError, isRetryable } from './errors.js';

export interface RetryOptions {
  signal?: AbortSignal;
  /** Epoch ms; no attempt starts after it. */
  deadline?: number;
  /** Attempts in total, including the first. Default 6. */
  attempts?: number;
  /** First backoff ceiling in ms. Default 200. */
  baseMs?: number;
  /** A retry is started only if this much time is left for it after the wait. Default 500. */
  reserveMs?: number;
  /** Largest backoff ceiling in ms. Default 5000. */
  maxMs?: number;
  /** Which errors to retry. Default: `err.retryable === true`. */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait (for logs). */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
  /** Injected for tests. */
  random?: () => number;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 5000;
  const reserve = options.reserveMs ?? 500;
  const retryable = options.retryable ?? isRetryable;
  const random = options.random ?? Math.random;
  let previous: unknown;
  for (let attempt = 1; ; attempt++) {
    try {
      options.signal?.throwIfAborted();
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err) || options.signal?.aborted) throw withEarlierCause(err, previous);
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const suggested = (err as { retryAfterMs?: number }).retryAfterMs;
      const wait = Math.max(suggested ?? 0, Math.round(random() * ceiling));
      if (options.deadline !== undefined && Date.now() + wait + reserve >= options.deadline) {
        const last = withEarlierCause(err, previous);
        // The attempt count goes to `details` (the log): in the message it would change on every retry.
        throw new DeadlineError(`the next retry would pass the deadline; last error: ${messageOf(last)}`, {
          cause: err,
          code: (last as { code?: string }).code,
          details: { attempts: attempt },
        });
      }
      options.onRetry?.(err, attempt, wait);
      if (!cutShortByDeadline(err)) previous = err;
      try {
        await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch (aborted) {
        throw withEarlierCause(aborted, previous);
      }
    }
  }
}

// RateLimited: our own limiter found no slot before the deadline — like a timeout, the earlier provider error says more.
const DEADLINE_CODES = new Set(['Timeout', 'Aborted', 'DeadlineExceeded', 'RateLimited']);

function cutShortByDeadline(err: unknown): boolean {
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  return name === 'AbortError' || name === 'TimeoutError' || (code !== undefined && DEADLINE_CODES.has(code));
}

/**
 * A deadline error after failed attempts names the last failure that was not a timeout, keeping its code;
 * that failure is its `cause`, so the executor's message (challenge/message.ts) can name it.
 */
function withEarlierCause(err: unknown, previous: unknown): unknown {
  if (previous === undefined || !cutShortByDeadline(err)) return err;
  return new DeadlineError(`${messageOf(err)}; an earlier attempt failed with: ${messageOf(previous)}`, {
    cause: previous,
    code: (previous as { code?: string }).code,
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The one way retries are logged (`onRetry: logRetries(ctx.log, 'ListZones')`): a warn line with the call,
 * the attempt, the wait, and the error's code and message. Write it through `ctx.log`, which scrubs secrets.
 */
export function logRetries(log: Logger, call: string, fields: Record<string, unknown> = {}): NonNullable<RetryOptions['onRetry']> {
  return (err, attempt, waitMs) => {
    const code = (err as { code?: unknown } | null)?.code;
    log.warn({ call, ...fields, attempt, waitMs, ...(typeof code === 'string' ? { code } : {}), err: messageOf(err) }, 'provider call failed, retrying');
  };
}
