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
import { cleanUpChanges, presentChanges, updateTxt, type Target } from './rrset.js';
import { findZoneId } from './zone.js';

export { route53ConfigSchema, DEFAULT_TTL, DEFAULT_REGION, DEFAULT_AUDIENCE, type Route53Config } from './config.js';
export { quoteTxt, unquoteTxt, presentChanges, cleanUpChanges } from './rrset.js';
export { clearZoneCache } from './zone.js';
export type { ServiceAccountTokenSource } from './credentials.js';

/** One request may take at most this long, so a hung call still leaves time for a retry. */
const MAX_REQUEST_MS = 15_000;

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
    const zoneId = config.hostedZoneID ?? (await withRetry(() => findZoneId(api, fqdn, request.resolvedZone, creds.identity, config.endpoint ?? 'aws'), {
        signal: ctx.signal,
        deadline: ctx.deadline,
        onRetry: logRetries(ctx.log, 'ListHostedZonesByName'),
      }));
    const target: Target = { zoneId, fqdn, key: request.key, ttl: config.ttl };
    return { api, client, target };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

/** One compare-and-swap edit of the TXT set (see rrset.ts), with a client that lives for this challenge only. */
async function edit(
  request: ChallengeRequest,
  ctx: SolverContext<Route53Config>,
  changes: typeof presentChanges,
  action: 'Present' | 'CleanUp',
): Promise<void> {
  const { api, client, target } = await open(request, ctx);
  try {
    await updateTxt(api, target, changes, ctx as SolverContext<unknown>, action);
  } finally {
    client.destroy();
  }
}

export const route53Solver = defineSolver<Route53Config>({
  name: 'route53',
  config: route53ConfigSchema,
  description: 'AWS Route 53 (access keys, AssumeRole, ServiceAccount web identity, or ambient credentials)',
  present: (request, ctx) => edit(request, ctx, presentChanges, 'Present'),
  cleanUp: (request, ctx) => edit(request, ctx, cleanUpChanges, 'CleanUp'),
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
