/**
 * The message returned to cert-manager for a failed challenge, made byte-identical across retries of the
 * same failure. cert-manager writes it to `Challenge.status.reason`, and every change of that field
 * re-queues the Challenge at once instead of backing off (its own built-in providers strip volatile parts
 * with `stabilizeSolverErrorMessage`; it cannot do that for a webhook). A message that embeds a request id,
 * a timestamp or an attempt count therefore turns one failure into a retry storm at the provider.
 *
 * Two mechanisms, both in the core so every solver (third-party ones included) gets them:
 *  1. Structure. `SolverError.details` carries what is useful but volatile (request ids, attempt counts,
 *     timings): the executor logs it and never returns it. Deadline and retry outcomes are phrased by the
 *     core in one canonical form, whichever path ended the challenge (retries exhausted, the next retry
 *     would pass the deadline, the deadline hit mid-call): the message names the last provider error, not
 *     how many attempts or milliseconds it took.
 *  2. A safety net. `stabilizeMessage` replaces the volatile patterns every provider uses (UUIDs, labelled
 *     request/trace/ray ids, timestamps, epoch milliseconds, attempt counts, elapsed durations) with fixed
 *     placeholders. It is conservative on purpose: a TTL, a zone id or a port stays as it is.
 * The conformance kit repeats failures and compares the messages byte for byte, for what neither catches.
 */
import { isRetryable } from '../solver/errors.js';

/** `[pattern, replacement]`, applied in order. */
const VOLATILE: Array<[RegExp, string]> = [
  // "[RequestId 1b2c…]", "(request id: …)" as a whole bracketed aside: dropped.
  [/\s*[[(]\s*(?:x-amz-)?(?:request|trace|correlation|ray)[-_ ]?id\b[:=]?\s*[^\])]*[\])]/gi, ''],
  // "RequestId: 1b2c…", "x-amz-request-id=…", "cf-ray: 8a1b…-SJC", "Ray ID 8a1b…", "traceId …"
  [/\b((?:x-amz-)?(?:request|trace|correlation|ray)[-_ ]?id|x-amz-id-2|cf-ray)(\s*[:=]\s*|\s+)["']?[A-Za-z0-9+/=_.:-]{6,}["']?/gi, '$1$2<id>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>'],
  // ISO 8601 / RFC 3339 timestamps, RFC 1123 HTTP dates, times of day, epoch milliseconds.
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\w:])/g, '<time>'],
  [/\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}(?: GMT| UTC| [+-]\d{4})?/g, '<time>'],
  [/\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b/g, '<time>'],
  [/\b1\d{12}\b/g, '<time>'],
  // Attempt counts: "after 3 attempt(s)", "5 retries", "attempt 2 of 6", "try #4".
  [/\b\d+ (attempt\(s\)|attempts?|tries|retries)\b/gi, '<n> $1'],
  [/\b(attempt|try|retry) #?\d+(?: of \d+)?\b/gi, '$1 <n>'],
  // Elapsed or waited time: "after 1234 ms", "took 2.5s", "retry in 3 s". A TTL or "within 45 s" stays.
  [/\b(after|took|elapsed|waited|in) \d+(?:\.\d+)? ?(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b/gi, '$1 <duration>'],
];

/** `message` with volatile parts replaced by fixed placeholders (see above). Idempotent. */
export function stabilizeMessage(message: string): string {
  let out = message;
  for (const [pattern, replacement] of VOLATILE) out = out.replace(pattern, replacement);
  return out;
}

/** Deadline, timeout and abort errors: they say when the challenge stopped, not why it failed. */
const DEADLINE_CODES = new Set(['Timeout', 'Aborted', 'DeadlineExceeded']);

export function isDeadlineLike(err: unknown): boolean {
  const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
  return name === 'AbortError' || name === 'TimeoutError' || name === 'DeadlineError' || (typeof code === 'string' && DEADLINE_CODES.has(code));
}

/** The first error in `err`'s cause chain (itself included) that is a real failure, not a deadline. */
export function lastRealFailure(err: unknown): unknown {
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (!isDeadlineLike(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The message of an error with its code when the message does not already say it. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message || err.name;
    return typeof code === 'string' && code !== '' && !msg.includes(code) ? `${msg} (code ${code})` : msg;
  }
  return String(err);
}

/** Every `details` object along the cause chain, outermost winning: volatile facts for the log line. */
export function collectDetails(err: unknown): Record<string, unknown> | undefined {
  const chain: Record<string, unknown>[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && typeof e === 'object' && depth < 8; depth++) {
    const d = (e as { details?: unknown }).details;
    if (d && typeof d === 'object' && !Array.isArray(d)) chain.push(d as Record<string, unknown>);
    e = (e as { cause?: unknown }).cause;
  }
  return chain.length ? Object.assign({}, ...chain.reverse()) : undefined;
}

export interface FailureContext {
  solverName: string;
  /** The challenge deadline as configured ("45 s", "800 ms"): stable for a given configuration. */
  within: string;
  /** The server is shutting down or the client went away. */
  aborted: boolean;
  /** The last provider call that failed with a real error (recorded by `ctx.track`), if any. */
  lastProviderFailure: unknown;
}

/**
 * The reason a challenge failed, in one canonical form per kind of ending, so that two runs of the same
 * failure read the same whichever way they ended:
 *  - a real error (not a deadline): its message and code;
 *  - the deadline (or a timeout/abort) after a transient provider error (throttling, 5xx): that error, so
 *    "retries exhausted", "the next retry would pass the deadline" and "the deadline hit mid-retry" read
 *    the same (how many attempts it took goes to the log);
 *  - the deadline after another provider error the solver carried on from:
 *    "did not finish within …; last provider error: …";
 *  - the deadline with no provider error: "did not finish within …" (slow or unreachable provider).
 */
export function failureReason(err: unknown, context: FailureContext): string {
  if (context.aborted) return 'challenge aborted (server shutting down or client disconnected)';
  if (!isDeadlineLike(err)) return describeError(err);
  const real = context.lastProviderFailure ?? lastRealFailure(err);
  if (real === undefined) {
    return `${context.solverName} did not finish within ${context.within}; the provider did not answer in time (slow or unreachable)`;
  }
  if (isRetryable(real)) return describeError(real);
  return `${context.solverName} did not finish within ${context.within}; last provider error: ${describeError(real)}`;
}
