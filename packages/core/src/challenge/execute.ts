/**
 * Runs one challenge through one solver: validates config, builds the SolverContext (namespace-bound
 * secrets, deadline signal, provider-call tracking), and turns any failure into a message a person can act
 * on. Used by the HTTP server, the CLI and the conformance kit alike, so all three behave the same.
 *
 * Redaction is a property of the challenge, not of a call site: every value the context hands out
 * (`ctx.secrets`, `ctx.serviceAccountTokens`, `ctx.treatAsSecret`) is registered in the challenge's
 * SecretRegistry, `ctx.log` scrubs it from every line, and the returned message is scrubbed too.
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
import { ConfigError, DeadlineError, SolverError } from '../solver/errors.js';
import { challengeRequestProblem } from '../solver/names.js';
import type { Metrics } from '../observability/metrics.js';
import { redactingLogger } from '../observability/logger.js';
import { SecretRegistry } from '../observability/redact.js';
import { formatConfigIssues } from './config.js';

/** Default time a solver gets: well inside kube-apiserver's 60 s, leaving room for the response. */
export const DEFAULT_CHALLENGE_TIMEOUT_MS = 45_000;

export type ChallengeOutcome = { success: true } | { success: false; message: string };

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

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message || err.name;
    return typeof code === 'string' && code !== '' && !msg.includes(code) ? `${msg} (code ${code})` : msg;
  }
  return String(err);
}

/**
 * The challenge's signal: aborts at the deadline (reason: a TimeoutError, like AbortSignal.timeout) or when
 * `outer` aborts (client gone, shutdown). Not AbortSignal.timeout/any: Node keeps such signals, and whatever
 * listens on them, alive until the timeout fires (nodejs/node#55328), ≈3 KB per challenge for 45 s at any
 * request rate. `release()` clears the timer and unhooks `outer`, so the challenge leaves nothing behind.
 */
export function challengeSignal(timeoutMs: number, outer?: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    timeoutMs,
  );
  const onOuterAbort = () => controller.abort(outer!.reason);
  if (outer?.aborted) onOuterAbort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
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
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHALLENGE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const within = timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`;
  const deadlineSignal = challengeSignal(timeoutMs, options.signal);
  const signal = deadlineSignal.signal;
  const secrets = new SecretRegistry();
  const log = redactingLogger(
    options.log.child({
      solver: solver.name,
      action: request.action,
      fqdn: request.resolvedFQDN,
      namespace: request.resourceNamespace,
      uid: request.uid || undefined,
    }),
    secrets,
  );
  const metrics = options.metrics;
  // Named when the deadline wins, so "did not finish" still says what the provider last answered.
  let lastProviderError: string | undefined;

  const ctxBase = {
    secrets: recordingReader(options.secretsFor(request.resourceNamespace), secrets),
    ...(options.serviceAccountTokensFor
      ? { serviceAccountTokens: recordingTokens(options.serviceAccountTokensFor(request.resourceNamespace), secrets) }
      : {}),
    treatAsSecret: (value: string) => secrets.register(value),
    allowAmbientCredentials: request.allowAmbientCredentials === true,
    log,
    signal,
    deadline,
    async track<T>(call: string, fn: () => Promise<T>): Promise<T> {
      try {
        const result = await fn();
        metrics?.providerCalls.inc({ solver: solver.name, call, outcome: 'success' });
        return result;
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? (err as Error).name ?? 'error');
        metrics?.providerCalls.inc({ solver: solver.name, call, outcome: 'error' });
        metrics?.providerErrors.inc({ solver: solver.name, call, code });
        log.debug({ call, code, err }, 'provider call failed');
        lastProviderError = `${call}: ${code}`;
        throw err;
      }
    },
  };

  let outcome: ChallengeOutcome;
  let onAbort: (() => void) | undefined;
  try {
    const invalidNames = challengeRequestProblem(request);
    if (invalidNames) throw new SolverError(`invalid request: ${invalidNames}`, { code: 'InvalidRequest' });
    const config = validateConfig(solver, request.config);
    const ctx: SolverContext<unknown> = { ...ctxBase, config };
    const run = request.action === 'Present' ? solver.present(request, ctx) : solver.cleanUp(request, ctx);
    // A solver that ignores the signal still cannot hold the response past the deadline.
    await Promise.race([
      run,
      new Promise<never>((_, reject) => {
        const fail = () =>
          reject(
            new DeadlineError(
              options.signal?.aborted
                ? 'challenge aborted (server shutting down or client disconnected)'
                : `${solver.name} did not finish within ${within}; the provider may be slow or unreachable${
                    lastProviderError ? ` (last provider error: ${lastProviderError})` : ''
                  }`,
            ),
          );
        onAbort = fail;
        if (signal.aborted) fail();
        else signal.addEventListener('abort', fail, { once: true });
      }),
    ]);
    outcome = { success: true };
  } catch (err) {
    let message = describeError(err);
    if ((err as Error)?.name === 'AbortError' || (err as Error)?.name === 'TimeoutError') {
      message = `${solver.name} did not finish within ${within} (${message})`;
    }
    outcome = { success: false, message: secrets.scrub(`${solver.name}: ${request.action} ${request.resolvedFQDN} failed: ${message}`) };
  } finally {
    // Nothing of this challenge may outlive its answer: no timer, no listener on a longer-lived signal.
    if (onAbort) signal.removeEventListener('abort', onAbort);
    deadlineSignal.release();
  }

  const seconds = (performance.now() - started) / 1000;
  metrics?.challenges.inc({ solver: solver.name, action: request.action, outcome: outcome.success ? 'success' : 'failure' });
  metrics?.challengeDuration.observe({ solver: solver.name, action: request.action }, seconds);
  const line = { outcome: outcome.success ? 'success' : 'failure', durationMs: Math.round(seconds * 1000) };
  if (outcome.success) log.info(line, 'challenge done');
  else log.warn({ ...line, error: outcome.message }, 'challenge failed');
  return outcome;
}
