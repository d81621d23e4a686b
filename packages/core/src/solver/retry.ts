/**
 * Retry with exponential backoff and full jitter, bounded by an AbortSignal/deadline.
 * Only errors marked `retryable` (throttling, 5xx, compare-and-swap conflicts) are retried; a wait that
 * would end past the deadline is not started, so the caller still has time to answer cert-manager.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineError, isRetryable } from './errors.js';

export interface RetryOptions {
  signal?: AbortSignal;
  /** Epoch ms; no attempt starts after it. */
  deadline?: number;
  /** Attempts in total, including the first. Default 6. */
  attempts?: number;
  /** First backoff ceiling in ms. Default 200. */
  baseMs?: number;
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
  const retryable = options.retryable ?? isRetryable;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err) || options.signal?.aborted) throw err;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const suggested = (err as { retryAfterMs?: number }).retryAfterMs;
      const wait = Math.max(suggested ?? 0, Math.round(random() * ceiling));
      if (options.deadline !== undefined && Date.now() + wait >= options.deadline) {
        throw new DeadlineError(
          `gave up after ${attempt} attempt(s): the next retry would pass the deadline; last error: ${
            err instanceof Error ? err.message : String(err)
          }`,
          { cause: err, code: (err as { code?: string }).code },
        );
      }
      options.onRetry?.(err, attempt, wait);
      await sleep(wait, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
