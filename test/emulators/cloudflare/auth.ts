/**
 * Cloudflare API v4 authentication as the API answers it:
 *   - `Authorization: Bearer <token>` (API token, scoped to a set of zones), or
 *   - `X-Auth-Email` + `X-Auth-Key` (the account's global API key: every zone of the account).
 * Mixing both styles is rejected (6003 "Invalid request headers"), a malformed header gets 6003 with the
 * documented error_chain (6103 / 6111), an unknown credential 10000 "Authentication error" (token) or
 * 9103 "Unknown X-Auth-Key or X-Auth-Email" (key).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A caller id from a credential: a hash, never the secret itself. */
const idOf = (kind: string, secret: string) => `${kind}:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;

/** Who a request claims to be, known or not (to count a rejected token's requests too). */
export function claimedIdentity(headers: IncomingHttpHeaders): string {
  const authorization = single(headers['authorization']);
  if (authorization !== undefined) return idOf('token', authorization.replace(/^Bearer /, ''));
  const email = single(headers['x-auth-email']);
  return email !== undefined ? `user:${email.toLowerCase()}` : 'anonymous';
}

export interface ApiError {
  code: number;
  message: string;
  error_chain?: Array<{ code: number; message: string }>;
}

/** Who is calling: the zones (by name) it may read and edit, or every zone. */
export interface Principal {
  kind: 'token' | 'key';
  /** Identifies the caller in logs/quotas; never the secret itself. */
  id: string;
  zones: ReadonlySet<string> | 'all';
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: number; error: ApiError };

export interface Credentials {
  /** API token → zone names it can access (`'*'` = all zones). */
  tokens: Map<string, ReadonlySet<string> | 'all'>;
  /** Global API keys by e-mail. */
  users: Map<string, string>;
}

/** Real API tokens are 40 characters of [A-Za-z0-9_-]. */
export const TOKEN_FORMAT = /^[A-Za-z0-9_-]{40}$/;
/** Global API keys are 37 lower-case hex characters. */
export const GLOBAL_KEY_FORMAT = /^[0-9a-f]{37}$/;

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function invalidHeaders(chainCode?: number, chainMessage?: string): AuthResult {
  return {
    ok: false,
    status: 400,
    error: {
      code: 6003,
      message: 'Invalid request headers',
      ...(chainCode === undefined ? {} : { error_chain: [{ code: chainCode, message: chainMessage! }] }),
    },
  };
}

export function authenticate(headers: IncomingHttpHeaders, creds: Credentials): AuthResult {
  const authorization = single(headers['authorization']);
  const key = single(headers['x-auth-key']);
  const email = single(headers['x-auth-email']);

  if (authorization !== undefined && (key !== undefined || email !== undefined)) return invalidHeaders();

  if (authorization !== undefined) {
    const match = /^Bearer (\S+)$/.exec(authorization);
    if (!match || !TOKEN_FORMAT.test(match[1]!)) return invalidHeaders(6111, 'Invalid format for Authorization header');
    const zones = creds.tokens.get(match[1]!);
    if (zones === undefined) return { ok: false, status: 403, error: { code: 10000, message: 'Authentication error' } };
    return { ok: true, principal: { kind: 'token', id: idOf('token', match[1]!), zones } };
  }

  if (key !== undefined || email !== undefined) {
    if (email === undefined) return { ok: false, status: 400, error: { code: 9106, message: 'Missing X-Auth-Email header' } };
    if (key === undefined) return { ok: false, status: 400, error: { code: 9107, message: 'Missing X-Auth-Key header' } };
    if (!GLOBAL_KEY_FORMAT.test(key)) return invalidHeaders(6103, 'Invalid format for X-Auth-Key header');
    if (creds.users.get(email.toLowerCase()) !== key) {
      return { ok: false, status: 403, error: { code: 9103, message: 'Unknown X-Auth-Key or X-Auth-Email' } };
    }
    return { ok: true, principal: { kind: 'key', id: `user:${email.toLowerCase()}`, zones: 'all' } };
  }

  return { ok: false, status: 403, error: { code: 10000, message: 'Authentication error' } };
}

export function canAccess(principal: Principal, zoneName: string): boolean {
  return principal.zones === 'all' || principal.zones.has(zoneName);
}
