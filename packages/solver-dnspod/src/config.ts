/**
 * The Issuer's `webhook.config` for solverName `dnspod`. Accepts, unchanged, both shapes users of
 * imroc/cert-manager-webhook-dnspod already have:
 *   older:  {"secretId": "AKID…", "secretKeyRef": {"name", "key"}, "ttl": 600}
 *   1.5.x:  {"secretIdRef": {"name", "key"}, "secretKeyRef": {"name", "key"}, "ttl": 600, "recordLine": ""}
 * plus optional `endpoint` (international site, emulator) and `proxy`.
 */
import { secretSelector, z } from '@dns01-webhook/core';

/** DNSPod's default split-zone line; imroc's `recordLine: ""` means this too. */
export const DEFAULT_RECORD_LINE = '默认';
export const DEFAULT_ENDPOINT = 'https://dnspod.tencentcloudapi.com';
export const INTERNATIONAL_ENDPOINT = 'https://dnspod.intl.tencentcloudapi.com';

export interface ParsedEndpoint {
  /** `https://` or `http://`, as the SDK's httpProfile.protocol wants it. */
  protocol: 'https://' | 'http://';
  /** `host[:port]`, as the SDK's httpProfile.endpoint wants it. */
  host: string;
}

/** `https://dnspod.intl.tencentcloudapi.com`, `http://127.0.0.1:9000` or a bare host (HTTPS). */
export function parseEndpoint(value: string): ParsedEndpoint {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`endpoint ${JSON.stringify(value)} is not a URL (e.g. ${INTERNATIONAL_ENDPOINT})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`endpoint must use https:// or http://, not ${url.protocol}//`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new Error('endpoint must be scheme://host[:port] only (API 3.0 always posts to /)');
  }
  return { protocol: url.protocol === 'https:' ? 'https://' : 'http://', host: url.host };
}

function isProxyUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const shape = {
  /** Plain SecretId (the older imroc shape). It is an identifier, not a secret. */
  secretId: z.string().trim().min(1, 'secretId must not be empty').optional(),
  /** SecretId read from a Secret (the imroc 1.5.x shape). */
  secretIdRef: secretSelector.optional(),
  /** SecretKey, always from a Secret in the Issuer's namespace (or the cluster resource namespace). */
  secretKeyRef: secretSelector,
  /** TTL of the TXT record; DNSPod's free plan accepts ≥ 600. */
  ttl: z.number().int('ttl must be an integer').min(1).max(604800).default(600),
  /** Split-zone line of the record; "" (imroc's default) means "默认". */
  recordLine: z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? DEFAULT_RECORD_LINE : v)),
  /** API endpoint, default https://dnspod.tencentcloudapi.com (international: https://dnspod.intl.tencentcloudapi.com). */
  endpoint: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined) return;
      try {
        parseEndpoint(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** HTTP(S) proxy URL for API calls. Without it the solver connects directly, whatever http_proxy says. */
  proxy: z.string().refine(isProxyUrl, 'proxy must be an http:// or https:// URL').optional(),
};

export const dnspodConfig = z
  .strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; dnspod accepts ${Object.keys(shape).join(', ')}`
        : undefined,
  })
  .superRefine((cfg, ctx) => {
    if (cfg.secretId !== undefined && cfg.secretIdRef !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secretIdRef'], message: 'give either secretId or secretIdRef, not both' });
    } else if (cfg.secretId === undefined && cfg.secretIdRef === undefined) {
      ctx.addIssue({ code: 'custom', path: ['secretId'], message: 'secretId (plain) or secretIdRef (from a Secret) is required' });
    }
  });

export type DnspodConfig = z.output<typeof dnspodConfig>;
