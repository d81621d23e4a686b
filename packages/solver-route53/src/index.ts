/**
 * `route53` solver: TXT record sets in AWS Route 53 through @aws-sdk/client-route-53.
 * Config is cert-manager's built-in route53 block (config.ts). Present/CleanUp rewrite the TXT set with a
 * compare-and-swap batch (rrset.ts), keeping every other value. Present returns as soon as Route 53 accepted
 * the change (status PENDING): cert-manager checks propagation itself, and waiting for INSYNC (up to ~60 s)
 * would eat kube-apiserver's 60 s request budget.
 */
import { defineSolver, logRetries, toFqdn, withRetry, type ChallengeRequest, type SolverContext } from '@dns01-webhook/core';
import { Route53Api } from './api.js';
import { createRoute53Client } from './client.js';
import { DEFAULT_REGION, proxyFor, route53ConfigSchema, type Route53Config } from './config.js';
import { resolveCredentials } from './credentials.js';
import { flushZone } from './batch.js';
import type { Target } from './rrset.js';
import { findZoneId } from './zone.js';

export { route53ConfigSchema, DEFAULT_TTL, DEFAULT_REGION, DEFAULT_AUDIENCE, type Route53Config } from './config.js';
export { quoteTxt, unquoteTxt, presentChanges, cleanUpChanges } from './rrset.js';
export { listingKey, pack, MAX_RESOURCE_RECORDS, MAX_VALUE_CHARS } from './batch.js';
export type { ServiceAccountTokenSource } from './credentials.js';

/** One request may take at most this long, so a hung call still leaves time for a retry. */
const MAX_REQUEST_MS = 15_000;

/** Route 53 calls (not STS) count against the account's request rate. */
const ROUTE53_CALLS = ['ListHostedZonesByName', 'ListResourceRecordSets', 'ChangeResourceRecordSets', 'GetChange'];

/**
 * "five requests per second, per account" — https://repost.aws/knowledge-center/route-53-avoid-throttling-errors.
 * (Route 53's newer token buckets — burst 50, refill 10/s: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html —
 * are more generous; 5/s is safe under both. Raise it with config.rateLimit or --rate-limit route53=10/1s.)
 */
export const ROUTE53_RATE_LIMITS = [
  { calls: ROUTE53_CALLS, requests: 5, perSeconds: 1, source: 'https://repost.aws/knowledge-center/route-53-avoid-throttling-errors' },
];

async function open(request: ChallengeRequest, ctx: SolverContext<Route53Config>) {
  const config = ctx.config;
  const creds = await resolveCredentials(config, request, ctx);
  const client = await createRoute53Client({
    region: config.region ?? DEFAULT_REGION,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(creds.credentials ? { credentials: creds.credentials } : {}),
    ...proxyFor(config, ctx.allowAmbientCredentials, config.endpoint ?? 'https://route53.amazonaws.com'),
    ambient: creds.ambient,
    requestTimeoutMs: Math.max(1_000, Math.min(MAX_REQUEST_MS, ctx.deadline - Date.now())),
  });
  const api = new Route53Api(client, ctx as SolverContext<unknown>);
  const fqdn = toFqdn(request.resolvedFQDN);
  try {
    const zoneId =
      config.hostedZoneID ??
      (await ctx.cachedZone(request.resolvedZone, () =>
        withRetry(() => findZoneId(api, fqdn, request.resolvedZone), { signal: ctx.signal, deadline: ctx.deadline, onRetry: logRetries(ctx.log, 'ListHostedZonesByName') }),
      ));
    const target: Target = { zoneId, fqdn, key: request.key, ttl: config.ttl };
    return { api, client, target };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/**
 * One compare-and-swap edit of the TXT set (rrset.ts), coalesced with concurrent edits of the same hosted
 * zone into one change batch (batch.ts). The client lives for this challenge only.
 */
async function edit(request: ChallengeRequest, ctx: SolverContext<Route53Config>, action: 'Present' | 'CleanUp'): Promise<void> {
  const { api, client, target } = await open(request, ctx);
  try {
    await ctx.coalesce(`zone:${target.zoneId}`, { target, action, api, ctx: ctx as SolverContext<unknown> }, flushZone);
  } finally {
    client.destroy();
  }
}

export const route53Solver = defineSolver<Route53Config>({
  name: 'route53',
  config: route53ConfigSchema,
  description: 'AWS Route 53 (access keys, AssumeRole, ServiceAccount web identity, or ambient credentials)',
  rateLimits: ROUTE53_RATE_LIMITS,
  present: (request, ctx) => edit(request, ctx, 'Present'),
  cleanUp: (request, ctx) => edit(request, ctx, 'CleanUp'),
  // Read-only, for `doctor`: the hosted zone lookup and one ListResourceRecordSets with these credentials.
  async check(request, ctx) {
    const { api, client, target } = await open(request, ctx);
    try {
      const sets = await api.txtSets(target.zoneId, target.fqdn);
      return { detail: `hosted zone ${target.zoneId}: ${sets.length} TXT set(s) at ${target.fqdn}` };
    } finally {
      client.destroy();
    }
  },
});

export default route53Solver;
