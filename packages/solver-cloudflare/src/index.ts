/**
 * `cloudflare` solver: TXT records through Cloudflare API v4 with the official `cloudflare` SDK.
 * Config is cert-manager's built-in cloudflare block (config.ts); the core derives Present/CleanUp from
 * list/add/remove (records.ts), so Present is idempotent and CleanUp removes only the value equal to `key`.
 */
import { defineRecordSolver, environmentProxy, logRetries, toFqdn, withRetry, type SolverContext } from '@dns01-webhook/core';
import { cloudflareConfigSchema, DEFAULT_ENDPOINT, type CloudflareConfig } from './config.js';
import { createCloudflareClient, type CloudflareAuth } from './client.js';
import { cloudflareRecords } from './records.js';
import { findZone } from './zone.js';

export { cloudflareConfigSchema, DEFAULT_ENDPOINT, DEFAULT_TTL, type CloudflareConfig } from './config.js';
export { txtValue } from './quote.js';

/** One request may take at most this long, so a hung call still leaves time for a retry. */
const MAX_REQUEST_MS = 20_000;
/** Kept free at the end of the deadline to answer cert-manager. */
const DEADLINE_MARGIN_MS = 250;

async function credentials(config: CloudflareConfig, ctx: SolverContext<CloudflareConfig>): Promise<CloudflareAuth> {
  // The schema guarantees exactly one style; a token wins over a stray `email`, as in cert-manager.
  if (config.apiTokenSecretRef) return { kind: 'token', token: (await ctx.secrets.get(config.apiTokenSecretRef)).trim() };
  return { kind: 'key', email: config.email!, key: (await ctx.secrets.get(config.apiKeySecretRef!)).trim() };
}

/**
 * "Client API per user/account token: 1200/5 minutes"; exceeding it blocks every call for 5 minutes:
 * https://developers.cloudflare.com/fundamentals/api/reference/limits/
 */
export const CLOUDFLARE_RATE_LIMITS = [
  { requests: 1200, perSeconds: 300, source: 'https://developers.cloudflare.com/fundamentals/api/reference/limits/' },
] as const;

export const cloudflareSolver = defineRecordSolver<CloudflareConfig>({
  name: 'cloudflare',
  config: cloudflareConfigSchema,
  description: 'Cloudflare DNS (API v4; API token or e-mail + global API key)',
  rateLimits: CLOUDFLARE_RATE_LIMITS,
  // 81057/81058 "already exists" on create: Present = 1 write.
  addReportsExisting: true,
  async connect(request, ctx) {
    const config = ctx.config;
    const auth = await credentials(config, ctx);
    const endpoint = config.endpoint ?? DEFAULT_ENDPOINT;
    if (auth.kind === 'token') ctx.useCredential(endpoint, 'token', auth.token);
    else ctx.useCredential(endpoint, 'key', auth.email, auth.key);
    const remaining = () => Math.max(1, Math.min(MAX_REQUEST_MS, ctx.deadline - Date.now() - DEADLINE_MARGIN_MS));
    const client = await createCloudflareClient({
      endpoint: config.endpoint ?? DEFAULT_ENDPOINT,
      auth,
      // Config wins; the webhook's HTTPS_PROXY/NO_PROXY only when the challenge allows ambient settings.
      ...((proxy) => (proxy ? { proxyURL: proxy } : {}))(
        config.proxyURL ?? (ctx.allowAmbientCredentials ? environmentProxy(config.endpoint ?? DEFAULT_ENDPOINT) : undefined),
      ),
      timeoutMs: remaining(),
    });
    const requestOptions = () => ({ signal: ctx.signal, timeout: Math.round(remaining()) });
    const call = <T>(name: string, fn: () => Promise<T>) => ctx.track(name, fn);
    // The core retries list/add/remove; the zone lookup happens here, so it gets the same treatment.
    // The zone depends only on resolvedZone: one lookup per zone and credential, cached.
    const zone = await ctx.cachedZone(request.resolvedZone, () =>
      withRetry(() => findZone(client, request.resolvedFQDN, request.resolvedZone, auth, (name, fn) => call(name, fn)), {
        signal: ctx.signal,
        deadline: ctx.deadline,
        onRetry: logRetries(ctx.log, 'ListZones'),
      }),
    );
    ctx.log.debug({ zone: zone.name, zoneId: zone.id }, 'cloudflare zone found');
    return Object.assign(cloudflareRecords(client, zone, { ttl: config.ttl, request: requestOptions, call }), { zone: toFqdn(zone.name) });
  },
});

export default cloudflareSolver;
