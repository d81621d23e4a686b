/**
 * Builds the official `cloudflare` SDK client from explicit options only.
 *
 * The SDK falls back to CLOUDFLARE_API_TOKEN / CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL /
 * CLOUDFLARE_API_USER_SERVICE_KEY / CLOUDFLARE_BASE_URL / CLOUDFLARE_LOG when an option is `undefined`, so
 * every one is passed explicitly (`null` = "none"). CLOUDFLARE_CUSTOM_HEADERS has no option that overrides
 * it (the constructor merges it into every request), so it is hidden while the (synchronous) constructor runs.
 *
 * Retries: `maxRetries: 0`. The SDK would sleep for the whole Retry-After (up to 5 minutes when Cloudflare
 * blocks a token) without looking at the challenge deadline or its abort signal; the core's withRetry
 * backs off with jitter, honours Retry-After, and never starts a wait that ends past the deadline.
 *
 * Proxy: only the `proxyURL` the caller resolved (config, or the environment when ambient settings are allowed;
 * undici ProxyAgent). Node 20's fetch ignores http_proxy/HTTPS_PROXY on its own.
 */
import type { Cloudflare } from 'cloudflare';

export type CloudflareAuth = { kind: 'token'; token: string } | { kind: 'key'; email: string; key: string };

export interface ClientOptions {
  endpoint: string;
  auth: CloudflareAuth;
  proxyURL?: string;
  /** Per-request timeout in ms (the caller keeps it inside the challenge deadline). */
  timeoutMs: number;
}

/** The SDK reads this in its constructor and offers no option that wins over it. */
const UNOVERRIDABLE_ENV = ['CLOUDFLARE_CUSTOM_HEADERS'];

function withoutEnv<T>(names: string[], build: () => T): T {
  const saved = new Map<string, string>();
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) {
      saved.set(name, value);
      delete process.env[name];
    }
  }
  try {
    return build();
  } finally {
    for (const [name, value] of saved) process.env[name] = value;
  }
}

export async function createCloudflareClient(options: ClientOptions): Promise<Cloudflare> {
  const { default: CloudflareSdk } = await import('cloudflare');
  let transport: { fetch?: typeof fetch; fetchOptions?: Record<string, unknown> } = {};
  if (options.proxyURL) {
    // undici's own fetch with its own ProxyAgent: a dispatcher from one undici copy is not safe to hand to another.
    const undici = await import('undici');
    transport = { fetch: undici.fetch as unknown as typeof fetch, fetchOptions: { dispatcher: new undici.ProxyAgent(options.proxyURL) } };
  }
  const auth = options.auth;
  return withoutEnv(
    UNOVERRIDABLE_ENV,
    () =>
      new CloudflareSdk({
        baseURL: options.endpoint,
        apiToken: auth.kind === 'token' ? auth.token : null,
        apiEmail: auth.kind === 'key' ? auth.email : null,
        apiKey: auth.kind === 'key' ? auth.key : null,
        userServiceKey: null,
        maxRetries: 0,
        timeout: Math.max(1, Math.round(options.timeoutMs)),
        logLevel: 'off',
        ...transport,
      }),
  );
}
