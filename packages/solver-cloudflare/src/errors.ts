/**
 * Cloudflare SDK errors → SolverError with the API's error code, a hint a person can act on, and
 * `retryable` for throttling (429), 5xx and connection trouble so the core backs off inside the deadline.
 * Duck-typed on the SDK's APIError shape (`status`, `errors`, `headers`) so this module does not load the SDK.
 */
import { SolverError, RecordExistsError, RecordNotFoundError } from '@dns01-webhook/core';

interface CloudflareErrorItem {
  code?: number;
  message?: string;
  error_chain?: Array<{ code?: number; message?: string }>;
}

interface ApiErrorLike {
  name?: string;
  constructor?: { name?: string };
  status?: number;
  errors?: CloudflareErrorItem[];
  headers?: { get(name: string): string | null };
  message?: string;
  cause?: unknown;
}

/** Codes for "this TXT value is already there": Present treats them as success. */
export const RECORD_EXISTS_CODES = new Set([81057, 81058]);
export const RECORD_NOT_FOUND_CODE = 81044;
/**
 * Rejected credentials: 10000 authentication error (unknown/expired token, or no permission), 9109
 * invalid access token, 9103 unknown e-mail/key, 6003 invalid request headers (with 6103/6111: a malformed
 * key or token), 9106/9107 a missing auth header. They open the core's breaker for the credential.
 */
export const CREDENTIAL_REJECTED_CODES = new Set([10000, 9109, 9103, 6003, 6103, 6111, 9106, 9107]);

const HINTS: Record<number, string> = {
  10000: 'the API token is unknown, expired, or lacks permission on this zone (it needs Zone:DNS:Edit and Zone:Zone:Read)',
  9103: 'the e-mail / global API key pair was rejected: check config.email and the secret named by apiKeySecretRef',
  9106: 'the X-Auth-Email header is missing: set config.email with apiKeySecretRef',
  6103: 'the secret named by apiKeySecretRef does not hold a global API key (37 hex characters); an API token goes in apiTokenSecretRef',
  6111: 'the secret named by apiTokenSecretRef does not hold a well-formed API token (check for stray quotes or whitespace)',
  9021: 'set config.ttl to 1 (automatic) or a value from 60 to 86400',
  971: 'Cloudflare allows 1200 requests per 5 minutes per token; other clients may share this token',
};

/** Every code in the body, outer first then its chain: `1004/9021`. */
function codesOf(errors: CloudflareErrorItem[]): number[] {
  return errors.flatMap((e) => [e.code, ...(e.error_chain ?? []).map((c) => c.code)]).filter((c): c is number => typeof c === 'number');
}

function describe(errors: CloudflareErrorItem[]): string {
  return errors
    .map((e) => {
      const chain = (e.error_chain ?? []).map((c) => `${c.code} ${c.message ?? ''}`.trim());
      return `${e.code} ${e.message ?? ''}`.trim() + (chain.length ? ` (${chain.join('; ')})` : '');
    })
    .join('; ');
}

/** Retry-After in seconds or as an HTTP date; `retry-after-ms` when given. */
export function retryAfterMs(headers: ApiErrorLike['headers']): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** undici's `Headers.append: "…" is an invalid header value.`, node:http's ERR_INVALID_CHAR, anywhere in the cause chain. */
function isInvalidHeader(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ERR_INVALID_CHAR' || /invalid header value|invalid character in header/i.test(e.message)) return true;
  }
  return false;
}

export type ErrorKind = 'exists' | 'not-found';

/**
 * `what` names the operation for the message (`creating TXT _acme-challenge.example.com`).
 * `expect` lets add/remove turn the API's "already exists" / "does not exist" into the core's typed errors.
 */
export function toSolverError(err: unknown, what: string, expect?: ErrorKind, scope: 'account' | 'zone' = 'account'): SolverError {
  if (err instanceof SolverError) return err;
  const e = (err ?? {}) as ApiErrorLike;
  const kind = e.constructor?.name ?? e.name;
  if (kind === 'APIUserAbortError') return new SolverError(`cloudflare: ${what}: aborted (challenge deadline reached)`, { code: 'Aborted', cause: err });
  if (kind === 'APIConnectionTimeoutError') {
    return new SolverError(`cloudflare: ${what}: the API did not answer within the request timeout (challenge deadline)`, { code: 'Timeout', retryable: true, cause: err });
  }
  if (isInvalidHeader(err)) {
    // Node refuses to send a header with a line break or control character; its error quotes the whole
    // header. Retrying cannot help, and the fix is in the Secret (the core scrubs the value from the quote).
    return new SolverError(
      `cloudflare: ${what}: the credential cannot be sent as an HTTP header (it contains a line break or another control character); check the value of the Secret named by apiTokenSecretRef / apiKeySecretRef, and config.email`,
      { code: 'InvalidCredentialFormat', cause: err },
    );
  }
  if (kind === 'APIConnectionError' || typeof e.status !== 'number') {
    const cause = e.cause instanceof Error ? (e.cause.cause instanceof Error ? e.cause.cause.message : e.cause.message) : e.message;
    return new SolverError(`cloudflare: ${what}: cannot reach the API (${cause ?? 'connection error'}); check config.endpoint / config.proxyURL and egress rules`, {
      code: 'ConnectionError',
      retryable: true,
      cause: err,
    });
  }

  const status = e.status;
  const errors = Array.isArray(e.errors) ? e.errors : [];
  const codes = codesOf(errors);
  const code = codes.length ? codes.join('/') : `HTTP${status}`;
  const hint = codes.map((c) => HINTS[c]).find((h) => h !== undefined);
  const message = errors.length
    ? `cloudflare: ${what}: HTTP ${status}, error ${describe(errors)}${hint ? ` — ${hint}` : ''}`
    : `cloudflare: ${what}: HTTP ${status} without a Cloudflare error body${status >= 500 ? ' (trouble on Cloudflare\'s side or in between)' : ''}`;

  if (expect === 'exists' && codes.some((c) => RECORD_EXISTS_CODES.has(c))) return new RecordExistsError(message, { code, cause: err });
  if (expect === 'not-found' && (status === 404 || codes.includes(RECORD_NOT_FOUND_CODE))) return new RecordNotFoundError(message, { code, cause: err });

  const retryable = status === 429 || status === 408 || status === 409 || status >= 500;
  const wait = retryable ? retryAfterMs(e.headers) : undefined;
  // On a call under /zones/{id}, 10000 also means "no such zone id" (a token cannot tell it from "not yours"):
  // a cached zone that moved, not a rejected token — the core then looks the zone up again, and a token that
  // really is rejected fails that lookup (GET /zones) and opens the breaker there.
  const credentialsRejected = !retryable && codes.some((c) => CREDENTIAL_REJECTED_CODES.has(c) && !(c === 10000 && scope === 'zone'));
  return new SolverError(message, { code, retryable, credentialsRejected, ...(wait === undefined ? {} : { retryAfterMs: wait }), cause: err });
}
