/**
 * Errors solvers throw. The message reaches cert-manager's Challenge status (after secret redaction), so
 * write it for the person reading `kubectl describe challenge` — and keep it identical for every retry of
 * the same failure: cert-manager re-queues a Challenge at once whenever that status changes, so a message
 * with a request id or a timestamp in it turns one failure into a storm of calls at the provider. Put such
 * facts in `details`: the core logs them with the failure and never returns them.
 */
export interface SolverErrorOptions {
  /** Provider error code, e.g. `InvalidChangeBatch`, `81044`, `LimitExceeded.RecordTtlLimit`. */
  code?: string;
  /** True for throttling, 5xx and other transient failures: the core retries with backoff inside the deadline. */
  retryable?: boolean;
  /** Server-suggested wait before a retry, in ms (Retry-After). */
  retryAfterMs?: number;
  /**
   * The provider rejected the credentials themselves (unknown key, bad signature, permission denied): the
   * core opens the credential's breaker, so no challenge with them calls the provider for a cool-down.
   * Not for "zone not found" or bad input.
   */
  credentialsRejected?: boolean;
  /**
   * Volatile facts about this failure (provider request id, attempt count, timings): written to the
   * challenge's log line, never into the message cert-manager sees.
   */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class SolverError extends Error {
  readonly code: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly credentialsRejected: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: SolverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SolverError';
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.credentialsRejected = options.credentialsRejected ?? false;
    this.details = options.details;
  }
}

/** Thrown by `RecordApi.add` when the provider already has this exact value: Present treats it as success. */
export class RecordExistsError extends SolverError {
  constructor(message = 'record already exists', options: SolverErrorOptions = {}) {
    super(message, options);
    this.name = 'RecordExistsError';
  }
}

/** Thrown by `RecordApi.remove` when the record is already gone: CleanUp treats it as success. */
export class RecordNotFoundError extends SolverError {
  constructor(message = 'record not found', options: SolverErrorOptions = {}) {
    super(message, options);
    this.name = 'RecordNotFoundError';
  }
}

/** The config failed its schema; `message` names the offending field(s). Never retried. */
export class ConfigError extends SolverError {
  constructor(message: string) {
    super(message, { code: 'InvalidConfig' });
    this.name = 'ConfigError';
  }
}

/** The challenge's deadline passed before the provider answered. */
export class DeadlineError extends SolverError {
  constructor(message: string, options: SolverErrorOptions = {}) {
    super(message, { code: 'DeadlineExceeded', ...options });
    this.name = 'DeadlineError';
  }
}

/** Duck-typed so errors from another copy of this package (a plugin's own node_modules) still count. */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** True for errors marked `credentialsRejected` (duck-typed like isRetryable). */
export function isCredentialRejection(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { credentialsRejected?: unknown }).credentialsRejected === true;
}

export function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}
