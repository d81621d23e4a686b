/**
 * Runs one challenge through one solver: validates config, builds the SolverContext (namespace-bound
 * secrets, deadline signal, provider-call tracking), and turns any failure into a message a person can act
 * on. Used by the HTTP server, the CLI and the conformance kit alike, so all three behave the same.
 *
 * Redaction is a property of the challenge, not of a call site: every value the context hands out
 * (`ctx.secrets`, `ctx.serviceAccountTokens`, `ctx.treatAsSecret`) is registered in the challenge's
 * SecretRegistry, `ctx.log` scrubs it from every line, and the returned message is scrubbed too.
 *
 * The returned message is also stable: the same failure reads byte for byte the same on every retry
 * (message.ts): volatile facts (request ids, attempts, timings, `SolverError.details`) go to the log line.
 */
import type {
  ChallengeRequest,
  Logger,
  SecretReader,
  SecretSelector,
  ServiceAccountTokenSource,
  Solver,
  SolverContext,
} from '../solver/contract.js';
import { createHash } from 'node:crypto';
import { ConfigError, DeadlineError, SolverError, isNamed, isRetryable } from '../solver/errors.js';
import { challengeRequestProblem } from '../solver/names.js';
import type { Metrics } from '../observability/metrics.js';
import { redactingLogger, withBindings } from '../observability/logger.js';
import { SecretRegistry } from '../observability/redact.js';
import { Economy, type ChallengeEconomy, type RateSetting } from '../economy/economy.js';
import { formatConfigIssues } from './config.js';
import { collectDetails, describeError, failureReason, isDeadlineLike, stabilizeMessage } from './message.js';

/** Default time a solver gets: well inside kube-apiserver's 60 s, leaving room for the response. */
export const DEFAULT_CHALLENGE_TIMEOUT_MS = 45_000;

export type ChallengeOutcome = { success: true } | { success: false; message: string };

/** For the failure's log line only: what the stable message left out (already scrubbed of secrets). */
const failureDetail = new WeakMap<ChallengeOutcome, { detail?: string; details?: unknown }>();

export interface ExecuteOptions {
  /** Secrets reader bound to a namespace (the core only ever passes `request.resourceNamespace`). */
  secretsFor: (namespace: string) => SecretReader;
  /** ServiceAccount tokens bound to a namespace (the core only ever passes `request.resourceNamespace`). */
  serviceAccountTokensFor?: (namespace: string) => ServiceAccountTokenSource;
  log: Logger;
  metrics?: Metrics;
  timeoutMs?: number;
  /** Aborts the challenge early (client went away, server shutting down). */
  signal?: AbortSignal;
  /**
   * Instead of `signal`: the caller's own controller, aborted by the caller to end the challenge early and by
   * the challenge at its deadline. Spares a second AbortController per challenge (the server's path); the
   * caller must not share it with anything else.
   */
  controller?: AbortController;
  /** Shared provider economy (cache, limits, breakers, batches); default: one per process (defaultEconomy()). */
  economy?: Economy;
}

let processEconomy: Economy | undefined;

/** The economy challenges share when the caller passes none (CLI, conformance kit, embedders). */
export function defaultEconomy(): Economy {
  return (processEconomy ??= new Economy());
}

/** Issuer config key every solver accepts: the core's per-credential rate limit override. */
export const RATE_LIMIT_CONFIG_KEY = 'rateLimit';

/** Takes `rateLimit` out of the config (the solver's schema never sees it) and validates it. */
export function splitRateLimit(config: unknown): { config: unknown; rateLimit: RateSetting | undefined } {
  if (typeof config !== 'object' || config === null || Array.isArray(config) || !(RATE_LIMIT_CONFIG_KEY in config)) {
    return { config, rateLimit: undefined };
  }
  const { [RATE_LIMIT_CONFIG_KEY]: raw, ...rest } = config as Record<string, unknown>;
  if (raw === 'off') return { config: rest, rateLimit: 'off' };
  const r = raw as { requests?: unknown; perSeconds?: unknown } | null;
  const ok =
    typeof r === 'object' && r !== null && Object.keys(r).every((k) => k === 'requests' || k === 'perSeconds') &&
    Number.isInteger(r.requests) && (r.requests as number) >= 1 && typeof r.perSeconds === 'number' && r.perSeconds > 0;
  if (!ok) {
    throw new ConfigError(
      'invalid config: config.rateLimit: expected {"requests": <whole number ≥ 1>, "perSeconds": <seconds > 0>} (e.g. {"requests": 600, "perSeconds": 300}) or "off"',
    );
  }
  return { config: rest, rateLimit: { requests: r!.requests as number, perSeconds: r!.perSeconds as number } };
}

/** Same solver, action, name, value, namespace and config → the same challenge: they share one run. */
function flightKey(solver: Solver<unknown>, request: ChallengeRequest): string {
  // A typical config is short: used as it is (hashing it was ≈2% of a challenge's CPU); a long one is hashed
  // to keep the key small. The prefix keeps the two forms apart.
  const json = JSON.stringify(request.config ?? null);
  const config = json.length <= 512 ? `=${json}` : `#${createHash('sha256').update(json).digest('hex')}`;
  return [solver.name, request.action, request.resolvedFQDN, request.key, request.resourceNamespace, request.allowAmbientCredentials, config].join('|');
}

/** Failures after which a cached zone may be to blame (not throttling, timeouts or the economy's own refusals). */
function mayBeStaleZone(err: unknown): boolean {
  const e = (err ?? {}) as { name?: string; code?: string };
  if (isRetryable(err)) return false;
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'DeadlineError') return false;
  return !['RateLimited', 'InvalidConfig', 'DeadlineExceeded'].includes(e.code ?? '') && e.name !== 'CredentialsRejectedError' && e.name !== 'RateLimitedError';
}

/** Wraps a reader so every value it returns is registered for redaction. */
function recordingReader(inner: SecretReader, secrets: SecretRegistry): SecretReader {
  return {
    namespace: inner.namespace,
    async get(selector: SecretSelector) {
      const value = await inner.get({ name: selector.name, key: selector.key });
      secrets.register(value);
      return value;
    },
  };
}

/** Wraps a token source so every token it mints (TokenRequest) is registered for redaction. */
function recordingTokens(inner: ServiceAccountTokenSource, secrets: SecretRegistry): ServiceAccountTokenSource {
  return {
    async createToken(serviceAccount, options) {
      const result = await inner.createToken(serviceAccount, options);
      secrets.register(result.token);
      return result;
    },
  };
}

/** `message` with every form of every secret in `secrets` (raw, trimmed, each line, escaped) redacted. */
export function redact(message: string, secrets: Iterable<string>): string {
  const registry = new SecretRegistry();
  for (const s of secrets) registry.register(s);
  return registry.scrub(message);
}


/**
 * The challenge's signal: aborts at the deadline (reason: a TimeoutError, like AbortSignal.timeout) or when
 * the caller aborts (`outer`, or the caller's own `controller`, which is then the challenge's too). Not
 * AbortSignal.timeout/any: Node keeps such signals, and whatever listens on them, alive until the timeout
 * fires (nodejs/node#55328), ≈3 KB per challenge for 45 s at any request rate. `release()` clears the timer
 * and unhooks `outer`, so the challenge leaves nothing behind.
 */
export function challengeSignal(
  timeoutMs: number,
  outer?: AbortSignal,
  controller?: AbortController,
): { signal: AbortSignal; release(): void; abortedByCaller(): boolean } {
  const own = controller ?? new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = !own.signal.aborted;
    own.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  const linked = controller ? undefined : outer;
  const onOuterAbort = () => own.abort(linked!.reason);
  if (linked?.aborted) onOuterAbort();
  else linked?.addEventListener('abort', onOuterAbort, { once: true });
  return {
    signal: own.signal,
    release() {
      clearTimeout(timer);
      linked?.removeEventListener('abort', onOuterAbort);
    },
    abortedByCaller: () => (controller ? own.signal.aborted && !timedOut : outer?.aborted === true),
  };
}

export function validateConfig<C>(solver: Solver<C>, config: unknown): C {
  const parsed = solver.config.safeParse(config ?? {});
  if (!parsed.success) throw new ConfigError(`invalid config: ${formatConfigIssues(parsed.error)}`);
  return parsed.data;
}

export async function executeChallenge(
  solver: Solver<any>,
  request: ChallengeRequest,
  options: ExecuteOptions,
): Promise<ChallengeOutcome> {
  const started = performance.now();
  const economy = options.economy ?? defaultEconomy();
  const secrets = new SecretRegistry();
  const log = redactingLogger(
    withBindings(options.log, {
      solver: solver.name,
      action: request.action,
      fqdn: request.resolvedFQDN,
      namespace: request.resourceNamespace,
      uid: request.uid || undefined,
    }),
    secrets,
  );
  const metrics = options.metrics;
  // cert-manager re-sends a Present while a slow one is in flight: identical challenges share one run (its
  // message was scrubbed with the secrets that run read; the same config reads the same secrets).
  const { result, shared } = economy.singleflight(flightKey(solver, request), () => runChallenge(solver, request, options, economy, log, secrets));
  const outcome = await result;
  if (shared) metrics?.sharedChallenges.inc({ solver: solver.name, action: request.action });

  const seconds = (performance.now() - started) / 1000;
  metrics?.challenges.inc({ solver: solver.name, action: request.action, outcome: outcome.success ? 'success' : 'failure' });
  metrics?.challengeDuration.observe({ solver: solver.name, action: request.action }, seconds);
  metrics?.breakerOpen.set({ solver: solver.name }, economy.openBreakers(solver.name));
  const line = { outcome: outcome.success ? 'success' : 'failure', durationMs: Math.round(seconds * 1000), ...(shared ? { shared: true } : {}) };
  if (outcome.success) log.info(line, 'challenge done');
  else log.warn({ ...line, error: outcome.message, ...failureDetail.get(outcome) }, 'challenge failed');
  return outcome;
}

async function runChallenge(
  solver: Solver<any>,
  request: ChallengeRequest,
  options: ExecuteOptions,
  economy: Economy,
  log: Logger,
  secrets: SecretRegistry,
): Promise<ChallengeOutcome> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHALLENGE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const within = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
  const deadlineSignal = challengeSignal(timeoutMs, options.signal, options.controller);
  const signal = deadlineSignal.signal;
  const metrics = options.metrics;
  // The last provider call that failed for real (not a timeout), until a later call succeeds: when the
  // deadline ends the challenge, the message names it (message.ts, failureReason).
  let lastProviderFailure: unknown;

  let outcome: ChallengeOutcome;
  let onAbort: (() => void) | undefined;
  try {
    const invalidNames = challengeRequestProblem(request);
    if (invalidNames) throw new SolverError(`invalid request: ${invalidNames}`, { code: 'InvalidRequest' });
    const { config: solverConfig, rateLimit } = splitRateLimit(request.config);
    const config = validateConfig(solver, solverConfig);
    const attempt = (): Promise<void> => {
      const session = economy.session({
        solver: solver.name,
        defaults: solver.rateLimits ?? [],
        fromConfig: rateLimit,
        deadline,
        signal,
        metrics,
      });
      const ctx = contextFor(session);
      const run = request.action === 'Present' ? solver.present(request, ctx) : solver.cleanUp(request, ctx);
      return run.catch((err) => {
        // A zone from the cache may have moved: forget what this challenge used, and try once more with
        // fresh lookups if one was a cache hit and time is left.
        if (!mayBeStaleZone(err) || !session.forgetZones() || Date.now() + 1000 > deadline || signal.aborted) throw err;
        log.info({ err: (err as Error).message }, 'failed after a cached zone lookup; retrying once with a fresh lookup');
        const retry = economy.session({ solver: solver.name, defaults: solver.rateLimits ?? [], fromConfig: rateLimit, deadline, signal, metrics });
        const retryCtx = contextFor(retry);
        return (request.action === 'Present' ? solver.present(request, retryCtx) : solver.cleanUp(request, retryCtx)).catch((again) => {
          retry.forgetZones();
          throw again;
        });
      });
    };
    const contextFor = (session: ChallengeEconomy): SolverContext<unknown> => ({
      config,
      secrets: recordingReader(options.secretsFor(request.resourceNamespace), secrets),
      ...(options.serviceAccountTokensFor
        ? { serviceAccountTokens: recordingTokens(options.serviceAccountTokensFor(request.resourceNamespace), secrets) }
        : {}),
      treatAsSecret: (value: string) => secrets.register(value),
      allowAmbientCredentials: request.allowAmbientCredentials === true,
      log,
      signal,
      deadline,
      economy: economy.features,
      useCredential: (...material: string[]) => session.useCredential(material),
      cachedZone: (name, lookup) =>
        session.cachedZone(name, lookup, (hit) => metrics?.zoneCache.inc({ solver: solver.name, result: hit ? 'hit' : 'miss' })),
      coalesce: (key, item, flush) => session.coalesce(key, item, flush),
      async track<T>(call: string, fn: () => Promise<T>): Promise<T> {
        let called = false;
        try {
          const result = await session.call(
            call,
            () => {
              called = true;
              return fn();
            },
            (waited) => metrics?.rateLimitWait.observe({ solver: solver.name }, waited),
            () => metrics?.breakerRejections.inc({ solver: solver.name }),
          );
          metrics?.providerCalls.inc({ solver: solver.name, call, outcome: 'success' });
          lastProviderFailure = undefined;
          return result;
        } catch (err) {
          // Refused by the rate limit or an open breaker: no provider call was made.
          if (!called) {
            if ((err as Error)?.name === 'RateLimitedError') metrics?.rateLimited.inc({ solver: solver.name });
            throw err;
          }
          const code = String((err as { code?: unknown }).code ?? (err as Error).name ?? 'error');
          metrics?.providerCalls.inc({ solver: solver.name, call, outcome: 'error' });
          metrics?.providerErrors.inc({ solver: solver.name, call, code });
          log.debug({ call, code, err }, 'provider call failed');
          if (!isDeadlineLike(err)) lastProviderFailure = err;
          throw err;
        }
      },
    });
    // A solver that ignores the signal still cannot hold the response past the deadline.
    await Promise.race([
      attempt(),
      new Promise<never>((_, reject) => {
        const fail = () =>
          reject(
            // Worded by failureReason, like every other way a deadline ends a challenge.
            new DeadlineError(`${solver.name} did not finish within ${within}`),
          );
        onAbort = fail;
        if (signal.aborted) fail();
        else signal.addEventListener('abort', fail, { once: true });
      }),
    ]);
    outcome = { success: true };
  } catch (err) {
    const reason = failureReason(err, { solverName: solver.name, within, aborted: deadlineSignal.abortedByCaller(), lastProviderFailure });
    // Scrub first: stabilizing could cut a secret into parts the registry no longer recognises. The
    // breaker's message is stable by construction (its times belong to the cool-down, not the attempt),
    // so it keeps them; everything else goes through the stabilizer.
    const scrubbed = secrets.scrub(`${solver.name}: ${request.action} ${request.resolvedFQDN} failed: ${reason}`);
    const message = isNamed(err, 'CredentialsRejectedError') ? scrubbed : stabilizeMessage(scrubbed);
    outcome = { success: false, message };
    const raw = secrets.scrub(describeError(err));
    const details = collectDetails(err);
    failureDetail.set(outcome, { ...(message.includes(raw) ? {} : { detail: raw }), ...(details ? { details } : {}) });
  } finally {
    // Nothing of this challenge may outlive its answer: no timer, no listener on a longer-lived signal.
    if (onAbort) signal.removeEventListener('abort', onAbort);
    deadlineSignal.release();
  }

  return outcome;
}
