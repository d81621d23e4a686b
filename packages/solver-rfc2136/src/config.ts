/**
 * Issuer config, compatible with cert-manager's built-in `rfc2136` block, so `dns01.rfc2136` settings move
 * under `dns01.webhook.config` unchanged:
 *   { "nameserver": "192.0.2.53:53", "tsigKeyName": "acme-update.", "tsigAlgorithm": "HMACSHA256",
 *     "tsigSecretSecretRef": { "name": "tsig-secret", "key": "tsig-secret-key" } }
 * plus cert-manager's newer `protocol` (UDP | TCP) and a `ttl`. Unknown keys are rejected, naming them.
 */
import { z, secretSelector } from '@dns01-webhook/core';
import { TSIG_ALGORITHMS, type TsigAlgorithm } from './tsig.js';

/** cert-manager writes the TXT record with TTL 60. */
export const DEFAULT_TTL = 60;

/**
 * cert-manager's names (`HMACSHA256`, case-insensitive) and the RFC 8945 names (`hmac-sha256`) both work.
 * Without `tsigAlgorithm` the default is HMACMD5, as in cert-manager, so existing configs sign the same way.
 */
const ALGORITHM_ALIASES = new Map<string, TsigAlgorithm>([
  ...Object.keys(TSIG_ALGORITHMS).flatMap((name) => [
    [name, name as TsigAlgorithm] as const,
    [name.replace('-', ''), name as TsigAlgorithm] as const,
  ]),
  ['hmac-md5.sig-alg.reg.int', 'hmac-md5'],
]);
export const DEFAULT_ALGORITHM: TsigAlgorithm = 'hmac-md5';

const algorithm = z.string().transform((value, ctx) => {
  const found = ALGORITHM_ALIASES.get(value.trim().toLowerCase().replace(/\.$/, ''));
  if (found) return found;
  ctx.addIssue({
    code: 'custom',
    message: `tsigAlgorithm "${value}" is not supported; use one of HMACSHA256, HMACSHA384, HMACSHA512, HMACSHA224, HMACSHA1, HMACMD5 (or hmac-sha256 ...)`,
  });
  return z.NEVER;
});

/** `host`, `host:port`, `[v6]` or `[v6]:port`, as cert-manager's `nameserver` accepts (port 53 by default). */
const nameserver = z
  .string()
  .trim()
  .min(1, 'nameserver is required: the authoritative server that accepts updates, as host:port')
  .refine((s) => {
    const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([^:\s[\]]+)(?::(\d{1,5}))?$/.exec(s);
    return m !== null && (m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535));
  }, 'nameserver must be host:port, e.g. 192.0.2.53:53 or [2001:db8::53]:53 (port 53 when omitted)');

export const rfc2136ConfigSchema = z
  .strictObject({
    /** The primary server that accepts dynamic updates for the zone. */
    nameserver,
    /** TSIG key name as configured on the server (`key "acme-update." {...}` in BIND, `key: - id:` in Knot). */
    tsigKeyName: z.string().trim().min(1, 'tsigKeyName must not be empty').optional(),
    /** HMACSHA256 / HMACSHA384 / HMACSHA512 / HMACSHA224 / HMACSHA1 / HMACMD5 (default, as in cert-manager). */
    tsigAlgorithm: algorithm.optional(),
    /** Secret key holding the TSIG secret, base64 as in BIND's `secret "..."` and Knot's `secret:`. */
    tsigSecretSecretRef: secretSelector.optional(),
    /** UDP (default; retried over TCP when the answer is truncated) or TCP only. Case-sensitive, as in cert-manager. */
    protocol: z.enum(['UDP', 'TCP'], { message: 'protocol must be "UDP" or "TCP"' }).optional(),
    /** TTL of the TXT record; default 60 as cert-manager's built-in solver. */
    ttl: z.number().int('ttl must be a whole number of seconds').min(1).max(86400).default(DEFAULT_TTL),
  })
  .superRefine((c, ctx) => {
    if (c.tsigKeyName && !c.tsigSecretSecretRef) {
      ctx.addIssue({ code: 'custom', path: ['tsigSecretSecretRef'], message: 'tsigSecretSecretRef is required with tsigKeyName (the Secret holding the key\'s base64 secret)' });
    } else if (c.tsigSecretSecretRef && !c.tsigKeyName) {
      ctx.addIssue({ code: 'custom', path: ['tsigKeyName'], message: 'tsigKeyName is required with tsigSecretSecretRef (the key\'s name on the server)' });
    } else if (c.tsigAlgorithm && !c.tsigKeyName) {
      ctx.addIssue({ code: 'custom', path: ['tsigAlgorithm'], message: 'tsigAlgorithm is used only with tsigKeyName and tsigSecretSecretRef' });
    }
  });

export type Rfc2136Config = z.infer<typeof rfc2136ConfigSchema>;
