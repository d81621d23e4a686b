/**
 * Issuer config, compatible with cert-manager's built-in `cloudflare` block so users can move their
 * `dns01.cloudflare` settings under `dns01.webhook.config` unchanged:
 *   { "apiTokenSecretRef": {name, key} }                                   — API token (recommended)
 *   { "email": "me@example.com", "apiKeySecretRef": {name, key} }          — global API key
 * plus `endpoint`, `ttl` and `proxyURL`. Unknown keys are rejected, naming them.
 */
import { z, secretSelector } from '@dns01-webhook/core';

export const DEFAULT_ENDPOINT = 'https://api.cloudflare.com/client/v4';
export const DEFAULT_TTL = 60;

const httpUrl = (what: string) =>
  z
    .string()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), `${what} must be an http:// or https:// URL`);

export const cloudflareConfigSchema = z
  .strictObject({
    /** Secret key holding an API token with Zone:DNS:Edit and Zone:Zone:Read on the zone. */
    apiTokenSecretRef: secretSelector.optional(),
    /** Account e-mail for the global API key (ignored, as by cert-manager, when a token is given). */
    email: z.email('email must be an e-mail address').optional(),
    /** Secret key holding the account's global API key (needs `email`). */
    apiKeySecretRef: secretSelector.optional(),
    /** API base URL including `/client/v4`. Default https://api.cloudflare.com/client/v4. */
    endpoint: httpUrl('endpoint').optional(),
    /**
     * TTL of the TXT record in seconds: 1 (automatic) or 60..86400 (30 on Enterprise plans: the API decides).
     * Default 60, the lowest every plan accepts.
     */
    ttl: z.number().int('ttl must be a whole number of seconds').min(1).max(86400).default(DEFAULT_TTL),
    /** HTTP(S) proxy for API calls, e.g. http://proxy.corp:3128. Only this setting is used, never http_proxy/HTTPS_PROXY. */
    proxyURL: httpUrl('proxyURL').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.apiTokenSecretRef && c.apiKeySecretRef) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiTokenSecretRef'],
        message: 'give either apiTokenSecretRef or email + apiKeySecretRef, not both',
      });
    } else if (!c.apiTokenSecretRef && !c.apiKeySecretRef) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiTokenSecretRef'],
        message: 'credentials required: set apiTokenSecretRef (an API token with Zone:DNS:Edit and Zone:Read), or email + apiKeySecretRef',
      });
    } else if (c.apiKeySecretRef && !c.email) {
      ctx.addIssue({ code: 'custom', path: ['email'], message: 'email is required with apiKeySecretRef (the global API key belongs to an account e-mail)' });
    }
  });

export type CloudflareConfig = z.infer<typeof cloudflareConfigSchema>;
